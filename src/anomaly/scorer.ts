/**
 * fnwatch's univariate streaming anomaly core: one `(timestamp, value)` in, one score in [0, 1] out,
 * online (no look-ahead), O(1) time and memory per point.
 *
 * The idea is "first of its kind": a point is anomalous when, in one of four views of the series, it
 * goes beyond everything the series has shown so far. Each view's novelty is measured in units of
 * that view's own observed range, so the numbers are comparable across views and across series
 * without per-series tuning:
 *
 * - level: the value lands outside the range seen so far, or on a level (quantisation bin) never
 *   visited before (a plateau at a new height, a peak that stops short);
 * - spike: the deviation from a robust recent level (Huber-clipped EWMA) is larger, up or down, than
 *   any before;
 * - volatility: the recent mean absolute step is higher or lower than ever (noise bursts, flat lines);
 * - seasonal: the residual from the hour-of-week profile is beyond any before (busy at an hour that
 *   is usually quiet, a missing daily peak).
 *
 * The score is `novelty / (novelty + halfScore)` for the most novel view. After an event, weaker
 * events are damped for `refractory` points, so one incident is one alert, not a run of them. A
 * permanent level shift is novel once: the new level is then "seen", and alerts stop by themselves.
 *
 * Parameters were chosen on the NAB corpus (see replay/nab/README.md for the procedure and the
 * held-out split); none depends on the series, its length or its labels. The Gaussian floor
 * (`gaussianFloor`) is the one switch between the NAB set and the alerting defaults. Three further
 * options (per-view half-scores, a repeat quiet period, a fifth `recent-spike` view) are off in both;
 * the weighted NAB set (nab-weighted.ts) turns them on.
 */
import { LevelNovelty, RangeNovelty, type LevelNoveltyState, type RangeNoveltyState } from './novelty.ts';
import { RobustLevel, type RobustLevelState } from './robust-level.ts';
import { DEFAULT_SEASONAL, SeasonalProfile, type SeasonalOptions, type SeasonalState } from './seasonal.ts';
import { WindowRangeNovelty, type WindowRangeState } from './window-range.ts';

/**
 * The views a score can come from. `recent-spike` (the spike view against only the last
 * `recentSpikeWindow` points) exists only when that option is on.
 */
export type AnomalyView = 'level' | 'spike' | 'volatility' | 'seasonal' | 'recent-spike';

const VIEWS: readonly AnomalyView[] = ['level', 'spike', 'volatility', 'seasonal', 'recent-spike'];

export interface StreamingAnomalyOptions {
  /** Points learned before any score is given; also the sample that sets the level bin width */
  warmup: number;
  /** Level bins across the warm-up spread (2nd–98th percentile) */
  levelBins: number;
  /** Bins of slack before an unvisited level inside the range counts */
  levelGap: number;
  /** Learning rate of the robust level the spike view measures from */
  spikeAlpha: number;
  /** Learning rate of that level's scale (mean absolute deviation) */
  spikeScaleAlpha: number;
  /** Huber clip of the level's updates, in scales */
  spikeHuberK: number;
  /** Learning rate of the volatility (EWMA of |Δx|) */
  volatilityAlpha: number;
  /** Seasonal profile, or false for none */
  seasonal: SeasonalOptions | false;
  /** Novelty (fraction of a view's range) that scores 0.5 */
  halfScore: number;
  /** Points after an event during which weaker events are damped */
  refractory: number;
  /** Factor applied to a damped event's score */
  damping: number;
  /** Scores at or above this start a refractory period */
  eventFloor: number;
  /**
   * Never take a view's range to be narrower than the expected extreme of as many Gaussian points
   * with the observed noise scale, so the ordinary records of a light-tailed series (a 4σ point after
   * a few thousand) do not look novel. Off in {@link NAB_ANOMALY_OPTIONS}: NAB rewards even those.
   */
  gaussianFloor: boolean;
  /**
   * Per-view overrides of `halfScore` (a view not named uses `halfScore`). Views differ in how often
   * they set records: the derived views (volatility, seasonal residual) are noisier than the value
   * itself, so a larger half-score asks more of them. Empty in the defaults.
   */
  viewHalfScores: Readonly<Partial<Record<AnomalyView, number>>>;
  /**
   * Points after an event during which an event no stronger scores 0 instead of being damped, so a
   * burst of records (one incident) is reported once. 0 (the defaults) turns it off.
   */
  repeatQuiet: number;
  /**
   * Points the `recent-spike` view remembers: it scores a deviation from the robust level that goes
   * beyond every deviation of the last that many points, in units of their range, so a burst still
   * counts after an older, larger one. 0 (the defaults) turns the view off; give it a half-score in
   * `viewHalfScores`, since a recent range is narrow.
   */
  recentSpikeWindow: number;
}

/**
 * The defaults for alerting: the parameters measured on NAB (replay/nab/README.md) with the
 * Gaussian floor on, so a clean, light-tailed series does not alert on its ordinary new extremes.
 *
 * @example
 * new StreamingAnomalyScorer({ ...DEFAULT_ANOMALY_OPTIONS, refractory: 60 })
 */
export const DEFAULT_ANOMALY_OPTIONS: Readonly<StreamingAnomalyOptions> = Object.freeze({
  warmup: 150,
  levelBins: 32,
  levelGap: 1,
  spikeAlpha: 0.1,
  spikeScaleAlpha: 0.02,
  spikeHuberK: 3,
  volatilityAlpha: 0.02,
  seasonal: DEFAULT_SEASONAL,
  halfScore: 0.1,
  refractory: 200,
  damping: 0.5,
  eventFloor: 0.05,
  gaussianFloor: true,
  viewHalfScores: Object.freeze({}),
  repeatQuiet: 0,
  recentSpikeWindow: 0,
});

/**
 * The same parameters without the Gaussian floor: the set scored on NAB, whose cost model pays for
 * catching every first-of-its-kind value, however slight.
 *
 * @example
 * new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS)
 */
export const NAB_ANOMALY_OPTIONS: Readonly<StreamingAnomalyOptions> = Object.freeze({ ...DEFAULT_ANOMALY_OPTIONS, gaussianFloor: false });

/**
 * A threshold for alerting with {@link DEFAULT_ANOMALY_OPTIONS}: novelty of about 23 % of a view's
 * range. Clean sine-plus-Gaussian-noise series stayed below 0.6 in 500 simulated runs of 5–20k
 * points; a 30σ spike scores about 0.97. (NAB's optimal thresholds are lower, about 0.2 for the
 * standard profile, because its cost model tolerates many false positives.)
 */
export const DEFAULT_ALERT_THRESHOLD = 0.7;

/** Why the last point scored what it did. */
export interface AnomalyExplanation {
  score: number;
  /** the most novel view, or null when nothing was novel */
  view: AnomalyView | null;
  /** that view's novelty, as a fraction of its observed range */
  novelty: number;
  /** true when the score was damped as a repeat of a recent, stronger event */
  damped: boolean;
  warmingUp: boolean;
}

const SQRT_HALF_PI = Math.sqrt(Math.PI / 2);

/**
 * Scores a univariate stream, one point at a time.
 *
 * @example
 * const scorer = new StreamingAnomalyScorer();
 * for (const [t, x] of points) {
 *   const score = scorer.update(t, x);
 *   if (score >= DEFAULT_ALERT_THRESHOLD) console.log(t, scorer.explain());
 * }
 */
export class StreamingAnomalyScorer {
  readonly options: Readonly<StreamingAnomalyOptions>;
  private readonly level: LevelNovelty;
  private readonly spikeLevel: RobustLevel;
  private readonly spikeRange = new RangeNovelty();
  private readonly volatilityRange = new RangeNovelty();
  private readonly seasonal: SeasonalProfile | null;
  private readonly seasonalRange = new RangeNovelty();
  private readonly recentSpikeRange: WindowRangeNovelty | null;
  /** half-score per view, in {@link VIEWS} order */
  private readonly halfScores: Float64Array;
  /** this point's novelty per view, in {@link VIEWS} order (reused, to allocate nothing per point) */
  private readonly novelties = new Float64Array(VIEWS.length);
  private seen = 0;
  private rejectedCount = 0;
  private previous = NaN;
  private volatility = 0;
  private lastEventAt = -Infinity;
  private lastEventScore = 0;
  private lastScore = 0;
  private lastView: AnomalyView | null = null;
  private lastNovelty = 0;
  private lastDamped = false;
  private lastWarmingUp = true;

  constructor(options: Partial<StreamingAnomalyOptions> = {}) {
    this.options = validateOptions({ ...DEFAULT_ANOMALY_OPTIONS, ...options });
    const o = this.options;
    this.level = new LevelNovelty(o.levelBins, o.levelGap, o.warmup);
    this.spikeLevel = new RobustLevel(o.spikeAlpha, o.spikeScaleAlpha, o.spikeHuberK);
    this.seasonal = o.seasonal ? new SeasonalProfile(o.seasonal) : null;
    this.recentSpikeRange = o.recentSpikeWindow > 0 ? new WindowRangeNovelty(o.recentSpikeWindow) : null;
    this.halfScores = Float64Array.from(VIEWS, (v) => o.viewHalfScores[v] ?? o.halfScore);
  }

  /** Points scored so far (rejected ones excluded). */
  get count(): number {
    return this.seen;
  }

  /** Points rejected because the value or timestamp was not a finite number. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /**
   * Learns one point and returns its anomaly score in [0, 1]. A non-finite `t` or `x` is not learned:
   * it scores 0 and is counted in {@link rejected}.
   *
   * @param t timestamp, ms since the epoch (used for the seasonal phase)
   * @param x the value
   *
   * @example
   * scorer.update(Date.parse('2024-05-01T10:00:00Z'), 42)
   */
  update(t: number, x: number): number {
    if (!Number.isFinite(t) || !Number.isFinite(x)) {
      this.rejectedCount++;
      return this.remember(0, null, 0, false, this.seen < this.options.warmup);
    }
    const o = this.options;
    this.seen++;
    if (this.seen === 1) this.previous = x;

    // The Gaussian floor: the expected extreme of `seen` normal points with the observed noise scale
    // (mean absolute deviation × √(π/2) = σ). Infinite bounds leave a range as observed.
    const reach = o.gaussianFloor && this.seen > 2 ? SQRT_HALF_PI * this.spikeLevel.scale * Math.sqrt(2 * Math.log(this.seen)) : 0;
    const lo = reach > 0 ? -reach : Infinity;
    const hi = reach > 0 ? reach : -Infinity;
    const center = this.spikeLevel.level;
    const spike = this.spikeLevel.update(x);
    this.volatility += o.volatilityAlpha * (Math.abs(x - this.previous) - this.volatility);
    this.previous = x;
    const residual = this.seasonal ? this.seasonal.update(t, x) : NaN;

    const levelNovelty = reach > 0 ? this.level.update(x, center - reach, center + reach) : this.level.update(x);
    const spikeNovelty = this.spikeRange.update(spike, lo, hi);
    const volatilityNovelty = this.volatilityRange.update(this.volatility);
    const seasonalNovelty = Number.isNaN(residual) ? 0 : this.seasonalRange.update(residual, lo, hi);
    const recentSpikeNovelty = this.recentSpikeRange ? this.recentSpikeRange.update(spike) : 0;
    if (this.seen < o.warmup) return this.remember(0, null, 0, false, true);

    // The most novel view wins, each view's novelty mapped by its own half-score (all equal by default,
    // so this is the view with the largest novelty).
    const novelties = this.novelties;
    novelties[0] = levelNovelty;
    novelties[1] = spikeNovelty;
    novelties[2] = volatilityNovelty;
    novelties[3] = seasonalNovelty;
    novelties[4] = recentSpikeNovelty;
    let best = 0;
    let score = 0;
    let view: AnomalyView | null = null;
    for (let k = 0; k < novelties.length; k++) {
      const novelty = novelties[k]!;
      if (!(novelty > 0)) continue;
      const viewScore = novelty / (novelty + this.halfScores[k]!);
      if (viewScore > score) {
        score = viewScore;
        best = novelty;
        view = VIEWS[k]!;
      }
    }

    let damped = false;
    if (score > 0) {
      const since = this.seen - this.lastEventAt;
      if (since <= Math.max(o.refractory, o.repeatQuiet) && score <= this.lastEventScore) {
        score = since <= o.repeatQuiet ? 0 : score * o.damping;
        damped = true;
      } else if (score >= o.eventFloor) {
        this.lastEventAt = this.seen;
        this.lastEventScore = score;
      }
    }
    return this.remember(score, view, best, damped, false);
  }

  private remember(score: number, view: AnomalyView | null, novelty: number, damped: boolean, warmingUp: boolean): number {
    this.lastScore = score;
    this.lastView = view;
    this.lastNovelty = novelty;
    this.lastDamped = damped;
    this.lastWarmingUp = warmingUp;
    return score;
  }

  /**
   * Why the last point scored what it did.
   *
   * @example
   * scorer.explain() // { score: 0.71, view: 'spike', novelty: 0.245, damped: false, warmingUp: false }
   */
  explain(): AnomalyExplanation {
    return { score: this.lastScore, view: this.lastView, novelty: this.lastNovelty, damped: this.lastDamped, warmingUp: this.lastWarmingUp };
  }

  /**
   * The scorer's whole state as plain JSON (a few kB), for baselines that outlive the process.
   *
   * @example
   * const copy = StreamingAnomalyScorer.fromJSON(JSON.parse(JSON.stringify(scorer.toJSON())));
   */
  toJSON(): AnomalyScorerState {
    return {
      version: 1,
      options: this.options,
      seen: this.seen,
      rejected: this.rejectedCount,
      previous: this.seen ? this.previous : null,
      volatility: this.volatility,
      lastEventAt: Number.isFinite(this.lastEventAt) ? this.lastEventAt : null,
      lastEventScore: this.lastEventScore,
      level: this.level.toJSON(),
      spikeLevel: this.spikeLevel.toJSON(),
      spikeRange: this.spikeRange.toJSON(),
      volatilityRange: this.volatilityRange.toJSON(),
      seasonal: this.seasonal ? this.seasonal.toJSON() : null,
      seasonalRange: this.seasonalRange.toJSON(),
      recentSpike: this.recentSpikeRange ? this.recentSpikeRange.toJSON() : null,
    };
  }

  /** Rebuilds a scorer from {@link toJSON} output; throws a clear error on anything else. */
  static fromJSON(state: AnomalyScorerState): StreamingAnomalyScorer {
    if (!state || typeof state !== 'object' || state.version !== 1) {
      throw new Error('not an anomaly scorer state (version 1)');
    }
    const scorer = new StreamingAnomalyScorer(state.options);
    if (Boolean(state.seasonal) !== Boolean(scorer.seasonal)) throw new Error('seasonal state does not match the options');
    scorer.seen = state.seen;
    scorer.rejectedCount = state.rejected;
    scorer.previous = state.previous ?? NaN;
    scorer.volatility = state.volatility;
    scorer.lastEventAt = state.lastEventAt ?? -Infinity;
    scorer.lastEventScore = state.lastEventScore;
    scorer.level.restore(state.level);
    scorer.spikeLevel.restore(state.spikeLevel);
    scorer.spikeRange.restore(state.spikeRange);
    scorer.volatilityRange.restore(state.volatilityRange);
    if (scorer.seasonal && state.seasonal) scorer.seasonal.restore(state.seasonal);
    scorer.seasonalRange.restore(state.seasonalRange);
    if (Boolean(state.recentSpike) !== Boolean(scorer.recentSpikeRange)) throw new Error('recent-spike state does not match the options');
    if (scorer.recentSpikeRange && state.recentSpike) scorer.recentSpikeRange.restore(state.recentSpike);
    return scorer;
  }
}

/** Serialised {@link StreamingAnomalyScorer}. */
export interface AnomalyScorerState {
  version: 1;
  options: StreamingAnomalyOptions;
  seen: number;
  rejected: number;
  previous: number | null;
  volatility: number;
  lastEventAt: number | null;
  lastEventScore: number;
  level: LevelNoveltyState;
  spikeLevel: RobustLevelState;
  spikeRange: RangeNoveltyState;
  volatilityRange: RangeNoveltyState;
  seasonal: SeasonalState | null;
  seasonalRange: RangeNoveltyState;
  /** absent in states written before the view existed */
  recentSpike?: WindowRangeState | null;
}

function validateOptions(o: StreamingAnomalyOptions): Readonly<StreamingAnomalyOptions> {
  const known = new Set(Object.keys(DEFAULT_ANOMALY_OPTIONS));
  for (const key of Object.keys(o)) if (!known.has(key)) throw new RangeError(`unknown anomaly option "${key}"`);
  const check = (name: keyof StreamingAnomalyOptions, ok: boolean, rule: string) => {
    if (!ok) throw new RangeError(`anomaly option ${name} must be ${rule}, got ${JSON.stringify(o[name])}`);
  };
  check('warmup', Number.isInteger(o.warmup) && o.warmup >= 2, 'an integer ≥ 2');
  check('levelBins', o.levelBins >= 1, '≥ 1');
  check('levelGap', o.levelGap >= 0, '≥ 0');
  check('spikeAlpha', o.spikeAlpha > 0 && o.spikeAlpha <= 1, 'in (0, 1]');
  check('spikeScaleAlpha', o.spikeScaleAlpha > 0 && o.spikeScaleAlpha <= 1, 'in (0, 1]');
  check('spikeHuberK', o.spikeHuberK > 0, '> 0');
  check('volatilityAlpha', o.volatilityAlpha > 0 && o.volatilityAlpha <= 1, 'in (0, 1]');
  check('halfScore', o.halfScore > 0, '> 0');
  check('refractory', Number.isInteger(o.refractory) && o.refractory >= 0, 'an integer ≥ 0');
  check('damping', o.damping >= 0 && o.damping <= 1, 'in [0, 1]');
  check('eventFloor', o.eventFloor >= 0 && o.eventFloor <= 1, 'in [0, 1]');
  check('gaussianFloor', typeof o.gaussianFloor === 'boolean', 'a boolean');
  check(
    'viewHalfScores',
    !!o.viewHalfScores && typeof o.viewHalfScores === 'object' && Object.entries(o.viewHalfScores).every(([v, h]) => VIEWS.includes(v as AnomalyView) && (h as number) > 0),
    `an object of ${VIEWS.join(' / ')} → half-score > 0`,
  );
  check('repeatQuiet', Number.isInteger(o.repeatQuiet) && o.repeatQuiet >= 0, 'an integer ≥ 0');
  check('recentSpikeWindow', Number.isInteger(o.recentSpikeWindow) && (o.recentSpikeWindow === 0 || (o.recentSpikeWindow >= 2 && o.recentSpikeWindow <= 1_000_000)), '0 (off) or an integer in [2, 1000000]');
  const seasonal = o.seasonal ? Object.freeze({ ...DEFAULT_SEASONAL, ...o.seasonal }) : false;
  return Object.freeze({ ...o, seasonal, viewHalfScores: Object.freeze({ ...o.viewHalfScores }) });
}
