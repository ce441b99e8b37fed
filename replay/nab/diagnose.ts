/**
 * Where a detector's NAB score comes from, at its optimal standard-profile threshold: what the
 * detected windows earn (and how early, on average), what false positives cost, which windows are
 * missed, how many false-positive rows come right after another detection, and, for the anomaly
 * core, which view fired. The same numbers for ARTime's published results, for comparison.
 *
 * Run: `npx tsx replay/nab/diagnose.ts [--preset nab|nab-plain|default] [DATA_DIR]`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../../src/anomaly/nab-weighted.ts';
import { DEFAULT_ANOMALY_OPTIONS, NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer, type AnomalyView, type StreamingAnomalyOptions } from '../../src/anomaly/scorer.ts';
import { DEFAULT_NAB_DIR, readResults, resultsPath } from './corpus.ts';
import { loadCorpus, prepareScored, type NabFile } from './run.ts';
import { PROFILES, scoreCorpus, type PreparedFile } from './scorer.ts';

/** A score breakdown at one threshold (standard profile weights). */
export interface Diagnosis {
  threshold: number;
  normalised: number;
  windowsDetected: number;
  windowsMissed: number;
  /** sum over detected windows of the first detection's reward (1 at a window's first row) */
  windowReward: number;
  /** sum of the (negative) false-positive weights */
  falsePositiveCost: number;
  falsePositiveRows: number;
  /** false-positive rows at most 10 rows after the previous detection in the same file */
  falsePositivesRightAfterDetection: number;
  /** `file rows l..r` of each missed window */
  missed: string[];
  /** per view (when views are given): false-positive rows, and windows first detected from it */
  byView: Record<string, { falsePositiveRows: number; firstDetections: number }>;
}

/**
 * Breaks a prepared corpus's standard score down at its optimal threshold. `views[k][i]`, when
 * given, names the view behind row `i` of file `k`.
 *
 * @example
 * const d = diagnose(prepareScored(files, scores)); // d.windowReward / d.windowsDetected: average reward
 */
export function diagnose(prepared: readonly PreparedFile[], views?: ReadonlyArray<ReadonlyArray<string | null>>): Diagnosis {
  const profile = PROFILES.standard;
  const result = scoreCorpus(prepared, profile);
  const t = result.threshold;
  const d: Diagnosis = {
    threshold: t,
    normalised: result.normalised,
    windowsDetected: 0,
    windowsMissed: 0,
    windowReward: 0,
    falsePositiveCost: 0,
    falsePositiveRows: 0,
    falsePositivesRightAfterDetection: 0,
    missed: [],
    byView: {},
  };
  const viewStats = (v: string | null | undefined) => (d.byView[v ?? '-'] ??= { falsePositiveRows: 0, firstDetections: 0 });
  prepared.forEach((f, k) => {
    const first = new Map<number, number>();
    let lastDetection = -Infinity;
    for (let i = f.probation; i < f.rows; i++) {
      if (!(f.scores[i]! >= t)) continue;
      const w = f.windowOf[i]!;
      if (w >= 0) {
        if (!first.has(w)) {
          first.set(w, i);
          if (views) viewStats(views[k]![i]).firstDetections++;
        }
      } else {
        d.falsePositiveRows++;
        d.falsePositiveCost += f.unitWeight[i]! * profile.fpWeight;
        if (i - lastDetection <= 10) d.falsePositivesRightAfterDetection++;
        if (views) viewStats(views[k]![i]).falsePositiveRows++;
      }
      lastDetection = i;
    }
    for (let w = f.firstWindow; w < f.firstWindow + f.windows; w++) {
      const i = first.get(w);
      if (i !== undefined) {
        d.windowsDetected++;
        d.windowReward += f.unitWeight[i]! * profile.tpWeight;
      } else {
        d.windowsMissed++;
        let l = -1;
        let r = -1;
        for (let j = 0; j < f.rows; j++) if (f.windowOf[j] === w) (l < 0 ? (l = j) : 0, (r = j));
        d.missed.push(`${f.name} rows ${l}..${r}`);
      }
    }
  });
  return d;
}

/**
 * Runs the anomaly core with an option set over the corpus, keeping each row's view.
 *
 * @example
 * const { scores, views } = runWithViews(files, NAB_WEIGHTED_VIEWS_OPTIONS);
 */
export function runWithViews(files: readonly NabFile[], options: ConstructorParameters<typeof StreamingAnomalyScorer>[0]): { scores: Float64Array[]; views: Array<Array<AnomalyView | null>> } {
  const scores: Float64Array[] = [];
  const views: Array<Array<AnomalyView | null>> = [];
  for (const f of files) {
    const scorer = new StreamingAnomalyScorer(options);
    const s = new Float64Array(f.times.length);
    const v = new Array<AnomalyView | null>(s.length);
    for (let i = 0; i < s.length; i++) {
      s[i] = scorer.update(f.times[i]!, f.series.values[i]!);
      v[i] = scorer.explain().view;
    }
    scores.push(s);
    views.push(v);
  }
  return { scores, views };
}

function format(label: string, d: Diagnosis): string {
  const lines = [
    `${label}: standard ${d.normalised.toFixed(2)} at threshold ${d.threshold.toFixed(4)}`,
    `  windows detected ${d.windowsDetected}, missed ${d.windowsMissed}; reward of detected windows ${d.windowReward.toFixed(2)} (${(d.windowReward / Math.max(1, d.windowsDetected)).toFixed(3)} per window)`,
    `  false positives: ${d.falsePositiveRows} rows costing ${d.falsePositiveCost.toFixed(2)}; ${d.falsePositivesRightAfterDetection} of them within 10 rows of the previous detection`,
  ];
  const views = Object.entries(d.byView);
  if (views.length) lines.push(`  by view: ${views.map(([v, s]) => `${v} ${s.falsePositiveRows} FP rows / ${s.firstDetections} first detections`).join('; ')}`);
  lines.push(`  missed: ${d.missed.join('; ')}`);
  return lines.join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const presetAt = args.indexOf('--preset');
  const preset = presetAt >= 0 ? args.splice(presetAt, 2)[1]! : 'nab';
  // the option sets of `fnwatch nab --preset`
  const presets: Record<string, Readonly<StreamingAnomalyOptions>> = { nab: NAB_WEIGHTED_VIEWS_OPTIONS, 'nab-plain': NAB_ANOMALY_OPTIONS, default: DEFAULT_ANOMALY_OPTIONS };
  const options = presets[preset];
  if (!options) throw new Error(`--preset must be one of ${Object.keys(presets).join(', ')}`);
  const dataDir = args[0] ?? DEFAULT_NAB_DIR;
  const files = loadCorpus(dataDir);
  const { scores, views } = runWithViews(files, options);
  process.stdout.write(format(`fnwatch --preset ${preset}`, diagnose(prepareScored(files, scores), views)));
  const artimeDir = join(dataDir, 'results/ARTime');
  if (existsSync(artimeDir)) {
    const artime = files.map((f) => readResults(resultsPath(artimeDir, 'ARTime', f.name)).scores);
    process.stdout.write(format('ARTime (published results)', diagnose(prepareScored(files, artime))));
  }
}
