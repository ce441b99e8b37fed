/**
 * What each option of the weighted NAB set contributes: the whole corpus scored (all three
 * profiles) with the plain NAB set, with each of the three options added alone, and with each left
 * out of the weighted set; then how much single changes to its values move the scores.
 *
 * Run: `npx tsx replay/nab/ablation.ts [DATA_DIR]` (about half a minute).
 */
import { DEFAULT_NAB_DIR } from './corpus.ts';
import { loadCorpus, prepareScored, runDetector, scoreProfiles, type NabFile } from './run.ts';
import { summarise } from './report.ts';
import { PROFILE_NAMES } from './scorer.ts';
import { configOptions, type SplitConfig } from './split.ts';
import { StreamingAnomalyScorer } from '../../src/anomaly/scorer.ts';

const PLAIN: SplitConfig = { valueHalf: 0.1, derivedHalf: 0.1, recentSpike: null, repeatQuiet: 0 };
const WEIGHTED: SplitConfig = { valueHalf: 0.06, derivedHalf: 0.15, recentSpike: [576, 5], repeatQuiet: 30 };

/** The rows of the ablation table: a label and the knobs. */
export const ABLATIONS: ReadonlyArray<readonly [string, SplitConfig]> = [
  ['plain NAB set', PLAIN],
  ['+ view half-scores', { ...PLAIN, valueHalf: WEIGHTED.valueHalf, derivedHalf: WEIGHTED.derivedHalf }],
  ['+ repeat quiet', { ...PLAIN, repeatQuiet: WEIGHTED.repeatQuiet }],
  ['+ recent-spike view', { ...PLAIN, recentSpike: WEIGHTED.recentSpike }],
  ['weighted set without view half-scores', { ...WEIGHTED, valueHalf: PLAIN.valueHalf, derivedHalf: PLAIN.derivedHalf }],
  ['weighted set without repeat quiet', { ...WEIGHTED, repeatQuiet: 0 }],
  ['weighted set without recent-spike view', { ...WEIGHTED, recentSpike: null }],
  ['weighted NAB set', WEIGHTED],
];

/**
 * Scores one configuration on all profiles: normalised scores, then windows detected and FP rows at
 * the standard threshold.
 *
 * @example
 * ablate(loadCorpus('datasets/nab'), ABLATIONS[0][1]) // { scores: [71.82, 63.63, 77.48], windows: 103, fpRows: 229 }
 */
export function ablate(files: readonly NabFile[], config: SplitConfig): { scores: number[]; windows: number; fpRows: number } {
  const scores = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(configOptions(config))));
  const results = scoreProfiles(prepareScored(files, scores), PROFILE_NAMES);
  const standard = summarise(results[0]!);
  return { scores: results.map((r) => r.normalised), windows: standard.windowsDetected, fpRows: standard.falsePositiveRows };
}

/** Single changes to the weighted set's values, for the sensitivity table. */
export const SENSITIVITY: ReadonlyArray<readonly [string, SplitConfig]> = [
  ['value half-score 0.04', { ...WEIGHTED, valueHalf: 0.04 }],
  ['value half-score 0.08', { ...WEIGHTED, valueHalf: 0.08 }],
  ['derived half-score 0.1', { ...WEIGHTED, derivedHalf: 0.1 }],
  ['derived half-score 0.2', { ...WEIGHTED, derivedHalf: 0.2 }],
  ['derived half-score 0.25', { ...WEIGHTED, derivedHalf: 0.25 }],
  ['recent window 432, half-score 4', { ...WEIGHTED, recentSpike: [432, 4] }],
  ['recent window 864, half-score 6', { ...WEIGHTED, recentSpike: [864, 6] }],
  ['recent half-score 4', { ...WEIGHTED, recentSpike: [576, 4] }],
  ['recent half-score 6', { ...WEIGHTED, recentSpike: [576, 6] }],
  ['repeat quiet 20', { ...WEIGHTED, repeatQuiet: 20 }],
  ['repeat quiet 45', { ...WEIGHTED, repeatQuiet: 45 }],
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = loadCorpus(process.argv[2] ?? DEFAULT_NAB_DIR);
  process.stdout.write('| set | standard | low FP | low FN | windows (std) | FP rows (std) |\n|---|---|---|---|---|---|\n');
  for (const [label, config] of ABLATIONS) {
    const r = ablate(files, config);
    process.stdout.write(`| ${label} | ${r.scores.map((s) => s.toFixed(2)).join(' | ')} | ${r.windows} | ${r.fpRows} |\n`);
  }
  process.stdout.write('\n| weighted set with | standard | low FP | low FN | windows (std) | FP rows (std) |\n|---|---|---|---|---|---|\n');
  for (const [label, config] of SENSITIVITY) {
    const r = ablate(files, config);
    process.stdout.write(`| ${label} | ${r.scores.map((s) => s.toFixed(2)).join(' | ')} | ${r.windows} | ${r.fpRows} |\n`);
  }
}
