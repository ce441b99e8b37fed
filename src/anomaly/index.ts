/**
 * The univariate streaming anomaly core: {@link StreamingAnomalyScorer} and its building blocks.
 */
export { LevelNovelty, RangeNovelty } from './novelty.ts';
export { NAB_WEIGHTED_VIEWS_OPTIONS } from './nab-weighted.ts';
export { RobustLevel } from './robust-level.ts';
export { DEFAULT_SEASONAL, SeasonalProfile, type SeasonalOptions } from './seasonal.ts';
export { WindowRangeNovelty, type WindowRangeState } from './window-range.ts';
export {
  DEFAULT_ALERT_THRESHOLD,
  DEFAULT_ANOMALY_OPTIONS,
  NAB_ANOMALY_OPTIONS,
  StreamingAnomalyScorer,
  type AnomalyExplanation,
  type AnomalyScorerState,
  type AnomalyView,
  type StreamingAnomalyOptions,
} from './scorer.ts';
