/**
 * Recent-record novelty: how far a value lies outside the range of the last `size` values.
 *
 * {@link RangeNovelty} remembers the whole history, so once a series has had one huge spike, later
 * spikes half that size never count again. This tracker forgets: it asks whether a value is beyond
 * everything of the last `size` points (say two days), and by how much, in units of that recent
 * range's width. A point twice the recent envelope's width beyond its edge is a burst even in a
 * series whose all-time record is far higher. Because a burst's width is measured against quiet
 * recent data, the view is only useful with a high half-score (see `viewHalfScores` in
 * `StreamingAnomalyOptions`).
 *
 * Memory O(size): the values' sliding minimum and maximum are kept in two monotonic ring-buffer
 * deques, so each update is O(1) amortised.
 */

/** Serialised {@link WindowRangeNovelty}: the values still inside the window, oldest first. */
export interface WindowRangeState {
  size: number;
  /** values learned in all */
  seen: number;
  /** values of the last `size` updates (fewer at the start), oldest first */
  recent: number[];
}

/**
 * @example
 * const r = new WindowRangeNovelty(3);
 * [0, 10, 5].forEach((v) => r.update(v));
 * r.update(20) // 1: 10 beyond the max of the last 3 values, a range 10 wide
 */
export class WindowRangeNovelty {
  /** indices (update counts) of candidates for the window maximum, values decreasing */
  private readonly maxIdx: Float64Array;
  private readonly maxVal: Float64Array;
  private maxHead = 0;
  private maxLen = 0;
  private readonly minIdx: Float64Array;
  private readonly minVal: Float64Array;
  private minHead = 0;
  private minLen = 0;
  /** the last `size` values in a ring, for snapshots */
  private readonly ring: Float64Array;
  private seen = 0;

  /**
   * @param size values remembered (≥ 2)
   *
   * @example
   * const twoDays = new WindowRangeNovelty(576); // 5-minute points
   */
  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 2 && size <= 1_000_000)) throw new RangeError(`size must be an integer in [2, 1000000], got ${size}`);
    this.maxIdx = new Float64Array(size);
    this.maxVal = new Float64Array(size);
    this.minIdx = new Float64Array(size);
    this.minVal = new Float64Array(size);
    this.ring = new Float64Array(size);
  }

  /** Values learned so far. */
  get count(): number {
    return this.seen;
  }

  /** Smallest and largest of the last `size` values (Infinity/−Infinity before any). */
  get range(): { min: number; max: number } {
    return {
      min: this.minLen ? this.minVal[this.minHead]! : Infinity,
      max: this.maxLen ? this.maxVal[this.maxHead]! : -Infinity,
    };
  }

  /**
   * Returns the exceedance of `v` beyond the range of the `size` values before it, as a fraction
   * of that range's width (0 inside it, or while fewer than 2 values or a zero width), then learns `v`.
   *
   * @example
   * const r = new WindowRangeNovelty(2);
   * [0, 100, 1, 2].forEach((v) => r.update(v)); // 100 has left the window
   * r.update(3) // 1: 1 beyond the max of [1, 2]
   */
  update(v: number): number {
    const { min, max } = this.range;
    const width = max - min;
    let exceedance = 0;
    if (this.seen > 1 && width > 0) exceedance = Math.max((v - max) / width, (min - v) / width, 0);
    this.learn(v);
    return exceedance;
  }

  private learn(v: number): void {
    const i = this.seen;
    const oldest = i - this.size;
    const n = this.size;
    // drop candidates that leave the window
    if (this.maxLen && this.maxIdx[this.maxHead]! <= oldest) {
      this.maxHead = (this.maxHead + 1) % n;
      this.maxLen--;
    }
    if (this.minLen && this.minIdx[this.minHead]! <= oldest) {
      this.minHead = (this.minHead + 1) % n;
      this.minLen--;
    }
    // a new value retires every older candidate it dominates
    while (this.maxLen && this.maxVal[(this.maxHead + this.maxLen - 1) % n]! <= v) this.maxLen--;
    const maxTail = (this.maxHead + this.maxLen) % n;
    this.maxIdx[maxTail] = i;
    this.maxVal[maxTail] = v;
    this.maxLen++;
    while (this.minLen && this.minVal[(this.minHead + this.minLen - 1) % n]! >= v) this.minLen--;
    const minTail = (this.minHead + this.minLen) % n;
    this.minIdx[minTail] = i;
    this.minVal[minTail] = v;
    this.minLen++;
    this.ring[i % n] = v;
    this.seen++;
  }

  /** Plain state for snapshots: the values still in the window. */
  toJSON(): WindowRangeState {
    const kept = Math.min(this.seen, this.size);
    const recent = new Array<number>(kept);
    for (let k = 0; k < kept; k++) recent[k] = this.ring[(this.seen - kept + k) % this.size]!;
    return { size: this.size, seen: this.seen, recent };
  }

  /** Restores state written by {@link toJSON} (for a tracker of the same size). */
  restore(state: WindowRangeState): void {
    if (state.size !== this.size) throw new Error(`window range has size ${state.size}, expected ${this.size}`);
    if (!Array.isArray(state.recent) || state.recent.length > this.size) throw new Error(`window range state holds ${state.recent?.length} values, at most ${this.size} allowed`);
    if (!(Number.isInteger(state.seen) && state.seen >= state.recent.length)) throw new Error(`window range state has seen ${state.seen} < ${state.recent.length} values`);
    this.seen = state.seen - state.recent.length;
    this.maxLen = this.minLen = this.maxHead = this.minHead = 0;
    for (const v of state.recent) this.learn(v);
  }
}
