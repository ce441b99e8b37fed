/**
 * A seasonal profile: the typical value per phase of a period (by default, per hour of the week),
 * learned by exponential averaging of the values that fall in each phase bin.
 *
 * The residual `x − profile(phase)` removes daily and weekly rhythm, so "busy at 3 a.m. on a Sunday"
 * stands out even when the value is ordinary for a Monday noon. Series without a rhythm get a flat
 * profile, and the residual is just the deviation from the recent level. Memory: one number and one
 * counter per bin.
 */
export interface SeasonalOptions {
  /** Period length, ms (default one week) */
  periodMs: number;
  /** Phase bin width, ms (default one hour) */
  binMs: number;
  /** Learning rate per visit of a bin, after the first few visits average equally */
  alpha: number;
  /** Visits a bin needs before its residual is reported */
  minVisits: number;
}

export const DEFAULT_SEASONAL: Readonly<SeasonalOptions> = Object.freeze({
  periodMs: 7 * 86_400_000,
  binMs: 3_600_000,
  alpha: 0.2,
  minVisits: 2,
});

export class SeasonalProfile {
  readonly options: Readonly<SeasonalOptions>;
  private readonly means: Float64Array;
  private readonly visits: Uint32Array;

  /**
   * @example
   * const weekly = new SeasonalProfile(); // hour-of-week bins
   * const daily = new SeasonalProfile({ periodMs: 86_400_000, binMs: 1_800_000 });
   */
  constructor(options: Partial<SeasonalOptions> = {}) {
    const o = { ...DEFAULT_SEASONAL, ...options };
    if (!(o.periodMs > 0 && o.binMs > 0 && o.binMs <= o.periodMs)) throw new RangeError(`need 0 < binMs ≤ periodMs, got ${o.binMs} and ${o.periodMs}`);
    const bins = Math.ceil(o.periodMs / o.binMs);
    if (bins > 100_000) throw new RangeError(`${bins} phase bins is too many (at most 100000)`);
    if (!(o.alpha > 0 && o.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${o.alpha}`);
    if (!(o.minVisits >= 1)) throw new RangeError(`minVisits must be ≥ 1, got ${o.minVisits}`);
    this.options = Object.freeze(o);
    this.means = new Float64Array(bins);
    this.visits = new Uint32Array(bins);
  }

  /** Phase bin of a timestamp (ms). */
  binOf(t: number): number {
    const { periodMs, binMs } = this.options;
    const phase = ((t % periodMs) + periodMs) % periodMs;
    return Math.min(this.means.length - 1, Math.floor(phase / binMs));
  }

  /**
   * Returns `x − profile` for the phase of `t` (NaN while the bin has fewer than `minVisits` values),
   * then learns `x` into that bin.
   *
   * @example
   * const p = new SeasonalProfile({ periodMs: 10, binMs: 5, minVisits: 1 });
   * p.update(0, 3); p.update(5, 8);
   * p.update(10, 4) // 1: one above what phase 0 had
   */
  update(t: number, x: number): number {
    const b = this.binOf(t);
    const n = this.visits[b]!;
    const mean = n === 0 ? x : this.means[b]!;
    const residual = n >= this.options.minVisits ? x - mean : NaN;
    this.means[b] = n === 0 ? x : mean + Math.max(this.options.alpha, 1 / (n + 1)) * (x - mean);
    if (n < 0xffffffff) this.visits[b] = n + 1;
    return residual;
  }

  toJSON(): SeasonalState {
    return { means: Array.from(this.means), visits: Array.from(this.visits) };
  }

  restore(state: SeasonalState): void {
    if (state.means.length !== this.means.length || state.visits.length !== this.visits.length) {
      throw new Error(`seasonal profile has ${state.means.length} bins, expected ${this.means.length}`);
    }
    this.means.set(state.means);
    this.visits.set(state.visits);
  }
}

export interface SeasonalState {
  means: number[];
  visits: number[];
}
