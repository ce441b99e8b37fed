/**
 * The held-out check for the anomaly core's parameters: tune on one half of NAB, score on the other.
 *
 * Files are split by their index in sorted order (even / odd). For every configuration of a grid,
 * the detector runs once over all files; the configuration with the best standard-profile score on
 * the tuning half is then scored on the held-out half, next to the shipped sets (the NAB set with
 * weighted views, {@link NAB_WEIGHTED_VIEWS_OPTIONS}, and the plain NAB set before it,
 * {@link NAB_ANOMALY_OPTIONS}) and to the best the grid could have done there (an oracle, for
 * scale). Both directions are reported. Each half is scored on its own, with its own pooled
 * threshold, so half scores are not comparable with whole-corpus scores.
 *
 * The grid covers the choices the weighted set made: the value views' half-score, the derived views'
 * half-score, the recent-spike view (off, or three window / half-score pairs) and the repeat quiet
 * (off or 30). It contains the plain NAB set's settings (0.1 / 0.1 / off / off), so a tuner may
 * pick them.
 *
 * Run: `npx tsx replay/nab/split.ts [DATA_DIR]` (a few minutes on one core).
 */
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../../src/anomaly/nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer, type StreamingAnomalyOptions } from '../../src/anomaly/scorer.ts';
import { DEFAULT_NAB_DIR } from './corpus.ts';
import { loadCorpus, prepareScored, runDetector, type NabFile } from './run.ts';
import { PROFILES, scoreCorpus } from './scorer.ts';

/** One grid point: the knobs the weighted set turned, in a compact form. */
export interface SplitConfig {
  /** half-score of the level and spike views */
  valueHalf: number;
  /** half-score of the volatility and seasonal views */
  derivedHalf: number;
  /** recent-spike view: [window, half-score], or null for off */
  recentSpike: readonly [window: number, half: number] | null;
  repeatQuiet: number;
}

/**
 * The scorer options of a grid point (the rest as in the NAB set).
 *
 * @example
 * configOptions({ valueHalf: 0.06, derivedHalf: 0.15, recentSpike: [576, 5], repeatQuiet: 30 }) // the weighted set's knobs
 */
export function configOptions(c: SplitConfig): StreamingAnomalyOptions {
  return {
    ...NAB_ANOMALY_OPTIONS,
    viewHalfScores: {
      level: c.valueHalf,
      spike: c.valueHalf,
      volatility: c.derivedHalf,
      seasonal: c.derivedHalf,
      ...(c.recentSpike ? { 'recent-spike': c.recentSpike[1] } : {}),
    },
    recentSpikeWindow: c.recentSpike ? c.recentSpike[0] : 0,
    repeatQuiet: c.repeatQuiet,
  };
}

/**
 * The grid: 4 × 4 × 4 × 2 = 128 configurations.
 *
 * @example
 * defaultGrid().length // 128
 */
export function defaultGrid(): SplitConfig[] {
  const grid: SplitConfig[] = [];
  for (const valueHalf of [0.04, 0.06, 0.08, 0.1])
    for (const derivedHalf of [0.1, 0.15, 0.2, 0.25])
      for (const recentSpike of [null, [432, 4], [576, 5], [864, 6]] as const)
        for (const repeatQuiet of [0, 30]) grid.push({ valueHalf, derivedHalf, recentSpike, repeatQuiet });
  return grid;
}

export interface SplitResult {
  tunedOn: 'even' | 'odd';
  chosen: SplitConfig;
  tuneScore: number;
  heldOutScore: number;
  /** the weighted NAB set on the held-out half */
  weightedHeldOutScore: number;
  /** the plain NAB set on the held-out half */
  plainHeldOutScore: number;
  oracleHeldOutScore: number;
}

/**
 * Tunes on each half and scores on the other (standard profile, normalised).
 *
 * @example
 * splitCheck(loadCorpus('datasets/nab'), defaultGrid().slice(0, 4))
 */
export function splitCheck(files: readonly NabFile[], grid: readonly SplitConfig[]): SplitResult[] {
  const half = (parity: number) => files.map((_, i) => i).filter((i) => i % 2 === parity);
  const halves = { even: half(0), odd: half(1) };
  const scoreHalf = (scores: Float64Array[], idx: number[]) =>
    scoreCorpus(prepareScored(idx.map((i) => files[i]!), idx.map((i) => scores[i]!)), PROFILES.standard).normalised;
  const run = (options: Partial<StreamingAnomalyOptions>) => {
    const scores = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(options)));
    return { even: scoreHalf(scores, halves.even), odd: scoreHalf(scores, halves.odd) };
  };
  const weighted = run(NAB_WEIGHTED_VIEWS_OPTIONS);
  const plain = run(NAB_ANOMALY_OPTIONS);
  const table = grid.map((config) => ({ config, ...run(configOptions(config)) }));
  return (['even', 'odd'] as const).map((tunedOn) => {
    const heldOut = tunedOn === 'even' ? 'odd' : 'even';
    const best = table.reduce((a, b) => (b[tunedOn] > a[tunedOn] ? b : a));
    const oracle = table.reduce((a, b) => (b[heldOut] > a[heldOut] ? b : a));
    return {
      tunedOn,
      chosen: best.config,
      tuneScore: best[tunedOn],
      heldOutScore: best[heldOut],
      weightedHeldOutScore: weighted[heldOut],
      plainHeldOutScore: plain[heldOut],
      oracleHeldOutScore: oracle[heldOut],
    };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = loadCorpus(process.argv[2] ?? DEFAULT_NAB_DIR);
  const started = Date.now();
  for (const r of splitCheck(files, defaultGrid())) {
    const held = r.tunedOn === 'even' ? 'odd' : 'even';
    process.stdout.write(
      `tuned on ${r.tunedOn}: ${JSON.stringify(r.chosen)} scores ${r.tuneScore.toFixed(2)} there; on ${held}: ${r.heldOutScore.toFixed(2)} ` +
        `(weighted NAB set ${r.weightedHeldOutScore.toFixed(2)}, plain NAB set ${r.plainHeldOutScore.toFixed(2)}, best of grid ${r.oracleHeldOutScore.toFixed(2)})\n`,
    );
  }
  process.stdout.write(`${defaultGrid().length + 2} configurations in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
