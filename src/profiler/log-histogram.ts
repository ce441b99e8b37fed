/**
 * A compact, decaying log-binned histogram for streaming quantiles of positive values (durations in
 * ms, memory in MB, counts per minute). Bin i holds values in [base·f^(i-1), base·f^i); bin 0 holds
 * everything below `base`. With f = 1.3 and 56 bins it spans 1 ms .. ~2.4e6 ms (40 min: more than
 * Lambda's 15-minute limit) at ±15% resolution in 224 bytes, which is what keeps a baseline under
 * 2 KB. Relative precision is what anomaly detection needs here: "4× slower", not "3 ms slower".
 *
 * Decay is applied lazily through a growing weight, so an update is O(1) and old data fades with a
 * half-life of `halfLife` updates.
 */
export class LogHistogram {
  readonly bins: Float32Array;
  private total = 0;
  /** weight of the next sample; grows by 1/decay per update instead of shrinking every bin */
  private w = 1;
  private readonly growth: number;
  private readonly logF: number;

  constructor(
    readonly nBins = 56,
    readonly base = 1,
    readonly factor = 1.3,
    halfLife = 2000,
  ) {
    this.bins = new Float32Array(nBins);
    this.growth = Math.pow(2, 1 / halfLife);
    this.logF = Math.log(factor);
  }

  /** Bin index of a value. */
  binOf(x: number): number {
    if (!(x >= this.base)) return 0;
    const i = 1 + Math.floor(Math.log(x / this.base) / this.logF);
    return i >= this.nBins ? this.nBins - 1 : i;
  }

  /** Representative value of a bin (its geometric middle). */
  valueOf(bin: number): number {
    if (bin <= 0) return this.base / 2;
    return this.base * Math.pow(this.factor, bin - 0.5);
  }

  /** Adds a sample with relative weight `weight` (1 normally; > 1 to re-learn fast after a deploy). */
  add(x: number, weight = 1): void {
    const b = this.binOf(x);
    const inc = this.w * weight;
    this.bins[b]! += inc;
    this.total += inc;
    this.w *= this.growth;
    // Renormalise before float32 runs out of range; quantiles are scale-free.
    if (this.w > 1e20) this.rescale(1 / this.w);
  }

  private rescale(s: number): void {
    for (let i = 0; i < this.nBins; i++) this.bins[i]! *= s;
    this.total *= s;
    this.w *= s;
  }

  /** Effective number of samples (after decay), in units of the current weight. */
  get count(): number {
    return this.total / this.w;
  }

  /** Bin holding quantile q (0..1). */
  quantileBin(q: number): number {
    if (this.total <= 0) return 0;
    const target = q * this.total;
    let acc = 0;
    for (let i = 0; i < this.nBins; i++) {
      acc += this.bins[i]!;
      if (acc >= target) return i;
    }
    return this.nBins - 1;
  }

  /** Approximate quantile value. */
  quantile(q: number): number {
    return this.valueOf(this.quantileBin(q));
  }

  /** Fraction of the mass strictly above bin `b`. */
  fractionAbove(b: number): number {
    if (this.total <= 0) return 0;
    let acc = 0;
    for (let i = b + 1; i < this.nBins; i++) acc += this.bins[i]!;
    return acc / this.total;
  }

  /** Serialisable form. */
  toJSON(): { bins: number[]; total: number; w: number } {
    return { bins: Array.from(this.bins), total: this.total, w: this.w };
  }

  /** Restores state saved by {@link toJSON} into this histogram (same shape). */
  load(j: { bins: number[]; total: number; w: number }): this {
    this.bins.set(j.bins.slice(0, this.nBins));
    this.total = j.total;
    this.w = j.w;
    return this;
  }
}
