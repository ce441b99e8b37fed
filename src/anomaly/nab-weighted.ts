/**
 * The anomaly core's option set for the Numenta Anomaly Benchmark with weighted views: the NAB set
 * ({@link NAB_ANOMALY_OPTIONS}) plus three options of the same scorer, each with a reason that is not
 * about NAB:
 *
 * - per-view half-scores: the value views (level, spike) score 0.5 at a novelty of 6 % of their range,
 *   the derived views (volatility, seasonal residual), which set records more often on noise, at 15 %;
 * - `repeatQuiet` 30: within 30 points of an event, an event no stronger scores 0, so one incident's
 *   burst of records is one report (the 200-point refractory damping still applies after that);
 * - the `recent-spike` view over the last 576 points (two days at 5-minute sampling), half-score 5:
 *   a deviation beyond everything of the last two days by twice that envelope's width counts even when
 *   an older spike was larger, which record novelty alone cannot see.
 *
 * How the values were chosen, and the held-out check, are in replay/nab/README.md.
 */
import { NAB_ANOMALY_OPTIONS, type StreamingAnomalyOptions } from './scorer.ts';

/**
 * NAB set with weighted views, repeat quiet and the recent-spike view (see the module comment).
 *
 * @example
 * const scorer = new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS);
 * const score = scorer.update(Date.parse('2014-04-01T00:05:00Z'), 42.5);
 */
export const NAB_WEIGHTED_VIEWS_OPTIONS: Readonly<StreamingAnomalyOptions> = Object.freeze({
  ...NAB_ANOMALY_OPTIONS,
  viewHalfScores: Object.freeze({ level: 0.06, spike: 0.06, volatility: 0.15, seasonal: 0.15, 'recent-spike': 5 }),
  repeatQuiet: 30,
  recentSpikeWindow: 576,
});
