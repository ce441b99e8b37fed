/**
 * `fnwatch nab --out DIR [--data DIR] [--windows FILE] [--profile standard|all] [--preset nab|nab-plain|default]`: runs fnwatch's
 * streaming anomaly core over the NAB corpus, writes NAB results files and scores, and prints the
 * scoreboard (raw and normalised, windows detected and missed, false-positive rows, per category).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../anomaly/nab-weighted.ts';
import { DEFAULT_ANOMALY_OPTIONS, NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer, type StreamingAnomalyOptions } from '../anomaly/scorer.ts';
import { UsageError } from '../core/contracts.ts';
import { DEFAULT_NAB_DIR } from '../../replay/nab/corpus.ts';
import { formatRun, runNab, type NabRun } from '../../replay/nab/report.ts';
import { PROFILE_NAMES, type ProfileName } from '../../replay/nab/scorer.ts';

/**
 * The option sets `--preset` names: `nab` the NAB set with weighted views (the default), `nab-plain`
 * the NAB set before them (equal half-scores, no repeat quiet, no recent-spike view), `default` the
 * alerting defaults (Gaussian floor on).
 *
 * @example
 * new StreamingAnomalyScorer(NAB_PRESETS['nab-plain'])
 */
export const NAB_PRESETS: Readonly<Record<string, Readonly<StreamingAnomalyOptions>>> = Object.freeze({
  nab: NAB_WEIGHTED_VIEWS_OPTIONS,
  'nab-plain': NAB_ANOMALY_OPTIONS,
  default: DEFAULT_ANOMALY_OPTIONS,
});

export interface NabCommandOptions {
  data?: string;
  out: string;
  windows?: string;
  profile?: string;
  preset?: string;
}

/**
 * The command's work, callable without the CLI: validates options, runs, writes, returns the run.
 *
 * @example
 * const run = nabCommand({ out: '/tmp/nab', profile: 'standard' });
 */
export function nabCommand(opts: NabCommandOptions): NabRun {
  const dataDir = opts.data ?? DEFAULT_NAB_DIR;
  if (!existsSync(join(dataDir, 'data'))) throw new UsageError(`${dataDir} does not look like a NAB directory (no data/ folder)`);
  const windowsPath = opts.windows ?? join(dataDir, 'labels/combined_windows.json');
  if (!existsSync(windowsPath)) throw new UsageError(`no windows file at ${windowsPath}`);
  const profile = opts.profile ?? 'all';
  let profiles: readonly ProfileName[];
  if (profile === 'all') profiles = PROFILE_NAMES;
  else if (profile === 'standard') profiles = ['standard'];
  else throw new UsageError(`--profile must be standard or all, got "${profile}"`);
  const preset = opts.preset ?? 'nab';
  const options = Object.hasOwn(NAB_PRESETS, preset) ? NAB_PRESETS[preset] : undefined;
  if (!options) throw new UsageError(`--preset must be one of ${Object.keys(NAB_PRESETS).join(', ')}, got "${preset}"`);
  return runNab({ dataDir, windowsPath, outDir: opts.out, detector: 'fnwatch', make: () => new StreamingAnomalyScorer(options), profiles });
}

export function register(program: Command): void {
  program
    .command('nab')
    .description('score the streaming anomaly core on the Numenta Anomaly Benchmark (writes NAB results and scores)')
    .requiredOption('--out <dir>', 'where to write results/<category>/fnwatch_<file>.csv and the scores')
    .option('--data <dir>', 'NAB directory with data/ and labels/ (default: the bundled datasets/nab)')
    .option('--windows <file>', 'label windows JSON (default: <data>/labels/combined_windows.json); a subset scores only those files')
    .option('--profile <name>', 'standard or all', 'all')
    .option('--preset <name>', 'nab (the NAB set with weighted views), nab-plain (the NAB set before them) or default (alerting defaults, with the Gaussian floor)', 'nab')
    .action((opts: NabCommandOptions) => {
      const run = nabCommand(opts);
      process.stdout.write(formatRun(run));
      process.stderr.write(`wrote ${run.files} results files, fnwatch_scores.json and ${run.profiles.length} scores CSVs to ${opts.out}\n`);
    });
}
