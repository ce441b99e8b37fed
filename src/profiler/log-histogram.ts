/**
 * A compact, decaying log-binned histogram for streaming quantiles of positive values (durations in
 * ms, memory in MB, counts per minute). Bin i holds values in [base·f^(i-1), base·f^i); bin 0 holds
 * everything below `base`. With f = 1.3 and 56 bins it spans 1 ms .. ~2.4e6 ms (40 min: more than
 * Lambda's 15-minute limit) at ±15% resolution. Relative precision is what anomaly detection needs
 * here: "4× slower", not "3 ms slower".
 *
 * Storage: float32 bins in a region of an {@link Arena} (a profile's one buffer), holding only the
 * window of bins from the lowest to the highest ever written; the bins outside it are zero. A
 * function whose durations span ten bins stores ten, not 56.
 *
 * Decay is applied lazily through a growing weight, so an update is O(1) and old data fades with a
 * half-life of `halfLife` updates.
 */
import { Arena } from './arena.ts';

/** The shape of a histogram (shared by every histogram of that shape, so not stored per profile). */
export class HistogramScale {
  readonly growth: number;
  readonly logF: number;
  private static readonly shared = new Map<string, HistogramScale>();

  private constructor(
    readonly nBins: number,
    readonly base: number,
    readonly factor: number,
    readonly halfLife: number,
  ) {
    this.growth = Math.pow(2, 1 / halfLife);
    this.logF = Math.log(factor);
  }

  /**
   * The scale with these parameters (one instance per distinct shape).
   *
   * @example
   * HistogramScale.of(56, 1, 1.3, 2000) === HistogramScale.of(56, 1, 1.3, 2000); // true
   */
  static of(nBins: number, base: number, factor: number, halfLife: number): HistogramScale {
    const key = `${nBins} ${base} ${factor} ${halfLife}`;
    let s = HistogramScale.shared.get(key);
    if (!s) HistogramScale.shared.set(key, (s = new HistogramScale(nBins, base, factor, halfLife)));
    return s;
  }
}

/** Scalar bytes of a histogram: total f64, w f64, window start u16. */
export const HISTOGRAM_SCALARS = 18;
const TOTAL = 0;
const W = 8;
const LO = 16;

/**
 * @example
 * const h = new LogHistogram(56, 1, 1.3, 2000);
 * for (const ms of [20, 22, 25, 400]) h.add(ms);
 * h.quantile(0.5); // ≈ 22 (the geometric middle of its bin)
 */
export class LogHistogram {
  readonly scale: HistogramScale;
  private a: Arena;
  /** offset of this histogram's scalars in the arena */
  private sb: number;
  /** arena region holding the bin window */
  private region: number;

  /** A histogram with its own storage. */
  constructor(nBins?: number, base?: number, factor?: number, halfLife?: number);
  /** A view of a histogram stored in `arena` (scalars at `sb`, bins in region `region`). */
  constructor(scale: HistogramScale, arena: Arena, sb: number, region: number);
  constructor(scaleOrBins: HistogramScale | number = 56, b: number | Arena = 1, c = 1.3, d = 2000) {
    if (scaleOrBins instanceof HistogramScale) {
      this.scale = scaleOrBins;
      this.a = b as Arena;
      this.sb = c;
      this.region = d;
    } else {
      this.scale = HistogramScale.of(scaleOrBins, b as number, c, d);
      this.a = new Arena(1, HISTOGRAM_SCALARS);
      this.sb = this.a.scalars;
      this.region = 0;
      LogHistogram.init(this.a, this.sb);
    }
  }

  /**
   * Points this view at another histogram of the same scale. Only for the profiler's private scratch
   * views (no allocation per event); a view handed out is never rebound.
   *
   * @internal
   */
  bind(arena: Arena, sb: number, region: number): this {
    this.a = arena;
    this.sb = sb;
    this.region = region;
    return this;
  }

  /** Writes an empty histogram's scalars at `sb` (storage is zeroed: only non-zero defaults). */
  static init(a: Arena, sb: number): void {
    a.m.setFloat64(sb + W, 1, true);
  }

  get nBins(): number {
    return this.scale.nBins;
  }
  get base(): number {
    return this.scale.base;
  }
  get factor(): number {
    return this.scale.factor;
  }

  private get total(): number {
    return this.a.m.getFloat64(this.sb + TOTAL, true);
  }
  private set total(v: number) {
    this.a.m.setFloat64(this.sb + TOTAL, v, true);
  }
  /** weight of the next sample; grows by 1/decay per update instead of shrinking every bin */
  private get w(): number {
    return this.a.m.getFloat64(this.sb + W, true);
  }
  private set w(v: number) {
    this.a.m.setFloat64(this.sb + W, v, true);
  }

  /** All bins (a copy, for reports and tests). */
  get bins(): Float32Array {
    const out = new Float32Array(this.scale.nBins);
    const lo = this.a.m.getUint16(this.sb + LO, true);
    const n = this.a.length(this.region) >> 2;
    const s = this.a.start(this.region);
    for (let i = 0; i < n; i++) out[lo + i] = this.a.m.getFloat32(s + 4 * i, true);
    return out;
  }

  /** Bin index of a value. */
  binOf(x: number): number {
    const sc = this.scale;
    if (!(x >= sc.base)) return 0;
    const i = 1 + Math.floor(Math.log(x / sc.base) / sc.logF);
    return i >= sc.nBins ? sc.nBins - 1 : i;
  }

  /** Representative value of a bin (its geometric middle). */
  valueOf(bin: number): number {
    const sc = this.scale;
    if (bin <= 0) return sc.base / 2;
    return sc.base * Math.pow(sc.factor, bin - 0.5);
  }

  /** Byte offset of bin `b`, growing the window to include it. */
  private slot(b: number): number {
    const a = this.a;
    const n = a.length(this.region) >> 2;
    const lo = a.m.getUint16(this.sb + LO, true);
    if (n === 0) {
      a.resize(this.region, 4, 0);
      a.m.setUint16(this.sb + LO, b, true);
    } else if (b < lo) {
      a.resize(this.region, (n + lo - b) * 4, (lo - b) * 4);
      a.m.setUint16(this.sb + LO, b, true);
    } else if (b >= lo + n) {
      a.resize(this.region, (b - lo + 1) * 4, 0);
    }
    return a.start(this.region) + (b - a.m.getUint16(this.sb + LO, true)) * 4;
  }

  /** Adds a sample with relative weight `weight` (1 normally; > 1 to re-learn fast after a deploy). */
  add(x: number, weight = 1): void {
    const b = this.binOf(x);
    const w = this.w;
    const inc = w * weight;
    const o = this.slot(b);
    const m = this.a.m;
    m.setFloat32(o, m.getFloat32(o, true) + inc, true);
    this.total += inc;
    const next = w * this.scale.growth;
    this.w = next;
    // Renormalise before float32 runs out of range; quantiles are scale-free.
    if (next > 1e20) this.rescale(1 / next);
  }

  private rescale(s: number): void {
    const m = this.a.m;
    const start = this.a.start(this.region);
    const end = start + this.a.length(this.region);
    for (let o = start; o < end; o += 4) m.setFloat32(o, m.getFloat32(o, true) * s, true);
    this.total *= s;
    this.w *= s;
  }

  /** Effective number of samples (after decay), in units of the current weight. */
  get count(): number {
    return this.total / this.w;
  }

  /** Bin holding quantile q (0..1). */
  quantileBin(q: number): number {
    const total = this.total;
    if (total <= 0) return 0;
    const target = q * total;
    // Bins below the window are zero: the running sum reaches a positive target only inside it.
    if (target <= 0) return 0;
    const m = this.a.m;
    const s = this.a.start(this.region);
    const n = this.a.length(this.region) >> 2;
    const lo = m.getUint16(this.sb + LO, true);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += m.getFloat32(s + 4 * i, true);
      if (acc >= target) return lo + i;
    }
    return this.scale.nBins - 1;
  }

  /** Approximate quantile value. */
  quantile(q: number): number {
    return this.valueOf(this.quantileBin(q));
  }

  /** Fraction of the mass strictly above bin `b`. */
  fractionAbove(b: number): number {
    const total = this.total;
    if (total <= 0) return 0;
    const m = this.a.m;
    const s = this.a.start(this.region);
    const n = this.a.length(this.region) >> 2;
    const lo = m.getUint16(this.sb + LO, true);
    let acc = 0;
    for (let i = Math.max(0, b + 1 - lo); i < n; i++) acc += m.getFloat32(s + 4 * i, true);
    return acc / total;
  }

  /** Serialisable form (all `nBins` bins). */
  toJSON(): { bins: number[]; total: number; w: number } {
    return { bins: Array.from(this.bins), total: this.total, w: this.w };
  }

  /** Restores state saved by {@link toJSON} into this (empty) histogram of the same shape. */
  load(j: { bins: number[]; total: number; w: number }): this {
    const vals = j.bins.slice(0, this.scale.nBins).map((v) => Math.fround(+v));
    let first = -1;
    let last = -1;
    for (let i = 0; i < vals.length; i++) {
      if (vals[i] !== 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first >= 0) {
      this.slot(first);
      const o = this.slot(last);
      const m = this.a.m;
      for (let i = first; i <= last; i++) m.setFloat32(o - (last - i) * 4, vals[i]!, true);
    }
    this.total = j.total;
    this.w = j.w;
    return this;
  }
}
