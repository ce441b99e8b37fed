/**
 * The held-out check for the anomaly core's parameters: tune on one half of NAB, score on the other.
 *
 * Files are split by their index in sorted order (even / odd). For every configuration of a small
 * grid around the defaults, the detector runs once over all files; the configuration with the best
 * standard-profile score on the tuning half is then scored on the held-out half, next to the
 * NAB set ({@link NAB_ANOMALY_OPTIONS}) and to the best the grid could have done there (an oracle, for scale). Both directions
 * are reported.
 *
 * Run: `npx tsx replay/nab/split.ts [DATA_DIR]` (about a minute).
 */
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer, type StreamingAnomalyOptions } from '../../src/anomaly/scorer.ts';
import { DEFAULT_SEASONAL } from '../../src/anomaly/seasonal.ts';
import { DEFAULT_NAB_DIR } from './corpus.ts';
import { loadCorpus, prepareScored, runDetector, type NabFile } from './run.ts';
import { PROFILES, scoreCorpus } from './scorer.ts';

/**
 * The grid: 3 × 3 × 3 × 3 × 2 = 162 configurations around the NAB set.
 *
 * @example
 * defaultGrid().length // 162
 */
export function defaultGrid(): Array<Partial<StreamingAnomalyOptions>> {
  const grid: Array<Partial<StreamingAnomalyOptions>> = [];
  for (const levelBins of [16, 32, 64])
    for (const levelGap of [0, 1, 2])
      for (const spikeAlpha of [0.05, 0.1, 0.2])
        for (const refractory of [100, 200, 400])
          for (const seasonal of [DEFAULT_SEASONAL, false] as const) grid.push({ levelBins, levelGap, spikeAlpha, refractory, seasonal });
  return grid;
}

export interface SplitResult {
  tunedOn: 'even' | 'odd';
  chosen: Partial<StreamingAnomalyOptions>;
  tuneScore: number;
  heldOutScore: number;
  defaultsHeldOutScore: number;
  oracleHeldOutScore: number;
}

/**
 * Tunes on each half and scores on the other (standard profile, normalised).
 *
 * @example
 * splitCheck(loadCorpus('datasets/nab'), defaultGrid().slice(0, 4))
 */
export function splitCheck(files: readonly NabFile[], grid: ReadonlyArray<Partial<StreamingAnomalyOptions>>): SplitResult[] {
  const half = (parity: number) => files.map((_, i) => i).filter((i) => i % 2 === parity);
  const halves = { even: half(0), odd: half(1) };
  const scoreHalf = (scores: Float64Array[], idx: number[]) =>
    scoreCorpus(prepareScored(idx.map((i) => files[i]!), idx.map((i) => scores[i]!)), PROFILES.standard).normalised;
  const configs = [{}, ...grid];
  const table = configs.map((options) => {
    const scores = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer({ ...NAB_ANOMALY_OPTIONS, ...options })));
    return { options, even: scoreHalf(scores, halves.even), odd: scoreHalf(scores, halves.odd) };
  });
  const defaults = table[0]!;
  return (['even', 'odd'] as const).map((tunedOn) => {
    const heldOut = tunedOn === 'even' ? 'odd' : 'even';
    const best = table.slice(1).reduce((a, b) => (b[tunedOn] > a[tunedOn] ? b : a));
    const oracle = table.slice(1).reduce((a, b) => (b[heldOut] > a[heldOut] ? b : a));
    return {
      tunedOn,
      chosen: best.options,
      tuneScore: best[tunedOn],
      heldOutScore: best[heldOut],
      defaultsHeldOutScore: defaults[heldOut],
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
        `(NAB set ${r.defaultsHeldOutScore.toFixed(2)}, best of grid ${r.oracleHeldOutScore.toFixed(2)})\n`,
    );
  }
  process.stdout.write(`${defaultGrid().length + 1} configurations in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
