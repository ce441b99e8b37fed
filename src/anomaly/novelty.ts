/**
 * "First of its kind" novelty: how far a value lies outside everything seen before.
 *
 * Both trackers answer in units of the observed range, so one number means the same in every
 * series: 0.1 is "10 % of the whole spread beyond anything seen so far". A permanent shift is novel
 * once and then becomes part of what has been seen, so it stops alerting by itself; a slow ramp
 * exceeds the record by a sliver each step, which scores low.
 */

/**
 * Record novelty: the exceedance of a value beyond the running `[min, max]`, as a fraction of
 * `max − min` (0 inside the range). Memory O(1).
 */
export class RangeNovelty {
  private lo = Infinity;
  private hi = -Infinity;
  private seen = 0;

  /** Values learned so far. */
  get count(): number {
    return this.seen;
  }

  /** Smallest and largest values learned (Infinity/−Infinity before any). */
  get range(): { min: number; max: number } {
    return { min: this.lo, max: this.hi };
  }

  /**
   * Returns the exceedance of `v` beyond the range seen before it, then learns `v`.
   *
   * @example
   * const r = new RangeNovelty();
   * [0, 10, 5].forEach((v) => r.update(v));
   * r.update(12) // 0.2: 2 beyond the max of a range 10 wide
   */
  update(v: number, expectedLo = Infinity, expectedHi = -Infinity): number {
    const hi = Math.max(this.hi, expectedHi);
    const lo = Math.min(this.lo, expectedLo);
    const width = hi - lo;
    let exceedance = 0;
    if (this.seen > 1 && width > 0) exceedance = Math.max((v - hi) / width, (lo - v) / width, 0);
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    this.seen++;
    return exceedance;
  }

  toJSON(): RangeNoveltyState {
    return { lo: this.seen ? this.lo : null, hi: this.seen ? this.hi : null, seen: this.seen };
  }

  restore(state: RangeNoveltyState): void {
    this.lo = state.lo ?? Infinity;
    this.hi = state.hi ?? -Infinity;
    this.seen = state.seen;
  }
}

export interface RangeNoveltyState {
  lo: number | null;
  hi: number | null;
  seen: number;
}

/** Bins tracked either side of the origin: 2·LEVEL_SPAN bits of memory. */
const LEVEL_SPAN = 4096;

/**
 * Level novelty: the value falls in a level (a quantisation bin) that no earlier value visited.
 *
 * The bin width is learned once, from the first `learn` values: their 2nd–98th percentile spread
 * divided by `bins`. Inside the range, the novelty is the distance (in bins, less `gap`) to the
 * nearest visited level, as a fraction of the range, so a value that lands in a gap never visited
 * (a plateau at a new height, a daily peak that stops short) counts; beyond the range it is the
 * record exceedance of {@link RangeNovelty}. Memory O(1): a bitmap of 8192 levels around the first
 * values; levels beyond it are judged by the range alone.
 */
export class LevelNovelty {
  private readonly range = new RangeNovelty();
  private readonly early: number[] = [];
  private width = 0;
  private origin = 0;
  private readonly visited = new Uint8Array((2 * LEVEL_SPAN) / 8);
  private minBin = Infinity;
  private maxBin = -Infinity;
  private seen = 0;

  /**
   * @param bins levels across the early values' spread
   * @param gap bins of slack: a new level adjacent to a visited one scores `(1 − gap)` bins
   * @param learn values used to learn the bin width; the tracker scores 0 until then
   *
   * @example
   * const levels = new LevelNovelty(32, 1, 150);
   */
  constructor(
    readonly bins: number,
    readonly gap: number,
    readonly learn: number,
  ) {
    if (!(bins >= 1)) throw new RangeError(`bins must be ≥ 1, got ${bins}`);
    if (!(gap >= 0)) throw new RangeError(`gap must be ≥ 0, got ${gap}`);
    if (!(learn >= 2 && Number.isInteger(learn))) throw new RangeError(`learn must be an integer ≥ 2, got ${learn}`);
  }

  /** Width of one level, 0 until learned (or when the early values were all equal). */
  get binWidth(): number {
    return this.width;
  }

  /**
   * Returns the novelty of `v`, then learns it.
   *
   * @example
   * const levels = new LevelNovelty(4, 0, 4);
   * [0, 1, 2, 3, 4, 0, 4].forEach((v) => levels.update(v));
   * levels.update(2.2) // 0: level already visited
   */
  update(v: number, expectedLo = Infinity, expectedHi = -Infinity): number {
    const exceedance = this.range.update(v, expectedLo, expectedHi);
    this.seen++;
    if (this.seen <= this.learn) {
      this.early.push(v);
      if (this.seen === this.learn) this.fixWidth();
      return 0;
    }
    if (this.width <= 0) return exceedance;
    const bin = Math.floor(v / this.width) - this.origin;
    if (bin < -LEVEL_SPAN || bin >= LEVEL_SPAN) return exceedance;
    if (this.isVisited(bin)) return 0;
    let novelty = exceedance;
    if (bin >= this.minBin && bin <= this.maxBin) {
      let k = 1;
      while (k < 2 * LEVEL_SPAN && !this.isVisited(bin - k) && !this.isVisited(bin + k)) k++;
      const { min, max } = this.range.range;
      novelty = (Math.max(0, k - this.gap) * this.width) / Math.max(max - min, this.width);
    }
    this.visit(bin);
    return novelty;
  }

  private fixWidth(): void {
    const sorted = Float64Array.from(this.early).sort();
    const n = sorted.length;
    let spread = sorted[Math.floor(0.98 * n)]! - sorted[Math.floor(0.02 * n)]!;
    if (!(spread > 0)) spread = sorted[n - 1]! - sorted[0]!;
    this.width = spread > 0 ? spread / this.bins : 0;
    if (this.width > 0) {
      this.origin = Math.floor(sorted[n >> 1]! / this.width);
      for (const v of this.early) {
        const bin = Math.floor(v / this.width) - this.origin;
        if (bin >= -LEVEL_SPAN && bin < LEVEL_SPAN) this.visit(bin);
      }
    }
    this.early.length = 0;
  }

  private isVisited(bin: number): boolean {
    if (bin < -LEVEL_SPAN || bin >= LEVEL_SPAN) return false;
    const i = bin + LEVEL_SPAN;
    return (this.visited[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  private visit(bin: number): void {
    const i = bin + LEVEL_SPAN;
    this.visited[i >> 3]! |= 1 << (i & 7);
    if (bin < this.minBin) this.minBin = bin;
    if (bin > this.maxBin) this.maxBin = bin;
  }

  toJSON(): LevelNoveltyState {
    return {
      range: this.range.toJSON(),
      early: [...this.early],
      width: this.width,
      origin: this.origin,
      visited: Buffer.from(this.visited).toString('base64'),
      minBin: Number.isFinite(this.minBin) ? this.minBin : null,
      maxBin: Number.isFinite(this.maxBin) ? this.maxBin : null,
      seen: this.seen,
    };
  }

  restore(state: LevelNoveltyState): void {
    this.range.restore(state.range);
    this.early.length = 0;
    this.early.push(...state.early);
    this.width = state.width;
    this.origin = state.origin;
    const bits = Buffer.from(state.visited, 'base64');
    if (bits.length !== this.visited.length) throw new Error(`level bitmap has ${bits.length} bytes, expected ${this.visited.length}`);
    this.visited.set(bits);
    this.minBin = state.minBin ?? Infinity;
    this.maxBin = state.maxBin ?? -Infinity;
    this.seen = state.seen;
  }
}

export interface LevelNoveltyState {
  range: RangeNoveltyState;
  early: number[];
  width: number;
  origin: number;
  visited: string;
  minBin: number | null;
  maxBin: number | null;
  seen: number;
}
