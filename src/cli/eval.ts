/**
 * `fnwatch eval <dataset-dir>... [--out DIR] [--json FILE] [--markdown FILE] [--report FILE.html]
 * [--models FILE]`: replays labelled datasets through the pipeline, scores the alerts against their
 * labels and prints the scorecard (Markdown). Scores are results: the exit code is 0 whatever the
 * recall; only bad input (a missing labels.json, an unreadable pack) is an error.
 *
 * `fnwatch eval --seeds 941-946 --data DIR --out DIR [--days --functions --scale --attacks --models
 * --regenerate]` is the per-seed evaluation of replay/eval/seeds.ts (generate or reuse a dataset per
 * seed, replay, score, write the combined and per-seed scorecard), the command behind TUNING.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { evaluateDataset, readLabels, type Evaluation } from '../../replay/eval/evaluate.ts';
import { seedsCli } from '../../replay/eval/seeds.ts';
import { combineScorecards, scorecardMarkdown, type Scorecard } from '../../replay/eval/score.ts';
import { ReportCollector, writePipelineReport } from '../../replay/report/index.ts';
import type { PipelineCounts } from '../pipeline/pipeline.ts';
import { UsageError } from '../core/contracts.ts';
import { loadPack } from '../detectors/pack.ts';
import { ProgressReporter } from '../service/progress.ts';

export interface EvalCliOptions {
  out?: string;
  json?: string;
  markdown?: string;
  report?: string;
  models?: string;
  quiet?: boolean;
  seeds?: string;
  days?: string;
  functions?: string;
  scale?: string;
  attacks?: string;
  data?: string;
  regenerate?: boolean;
}

/** Options that only mean something with `--seeds` (passed through to replay/eval/seeds.ts). */
const SEED_ONLY_FLAGS = ['days', 'functions', 'scale', 'attacks', 'data', 'regenerate'] as const;

export const SCORECARD_SCHEMA = 'fnwatch.scorecard/1';

/** The `--json` document: the combined scorecard, then each dataset's. */
export interface ScorecardDocument {
  schema: typeof SCORECARD_SCHEMA;
  models: string;
  combined: Scorecard;
  datasets: { dataset: string; dir: string; inputs: string[]; counts: PipelineCounts; wallMs: number; eventsPerSecond: number; scorecard: Scorecard }[];
}

/**
 * Adds `eval` to the command line.
 *
 * @example
 * register(program); // fnwatch eval datasets/demo /tmp/ds2 --out /tmp/scores
 */
export function register(program: Command): void {
  program
    .command('eval')
    .description('replay labelled datasets through the detectors and score the alerts against the labels (recall, time to detect, false alerts)')
    .argument('[datasets...]', 'dataset directories (fnwatch gen output: kinesis/ or recordings, and labels.json); or use --seeds')
    .option('--out <dir>', 'write scorecard.md and scorecard.json to this directory (required with --seeds)')
    .option('--json <file>', 'write the scorecard as JSON to this file')
    .option('--markdown <file>', 'write the scorecard as Markdown to this file')
    .option('--report <file.html>', 'write an HTML report (with several datasets: one per dataset, <file>.<dataset>.html)')
    .option('--models <file>', 'detector pack (default: models/default.yaml)')
    .option('--quiet', 'no progress display and no scorecard on stdout')
    .option('--seeds <list>', 'instead of dataset directories: generate (or reuse) a dataset per seed and score them all, e.g. 941-946 or 11-16,21-24')
    .option('--days <d>', 'with --seeds: days of telemetry per dataset (default 7)')
    .option('--functions <f>', 'with --seeds: functions per dataset (default 30)')
    .option('--scale <x>', 'with --seeds: load multiplier (default 0.3)')
    .option('--attacks <kinds>', "with --seeds: comma-separated attack kinds (default: the generator's seed-chosen mix)")
    .option('--data <dir>', 'with --seeds: datasets go to <dir>/ds-<seed>, reused when generated before with the same options')
    .option('--regenerate', 'with --seeds: generate even when a matching dataset is there')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  fnwatch eval datasets/demo --out /tmp/scores\n' +
        '  fnwatch eval --seeds 941-946 --days 7 --functions 30 --scale 0.3 --data /tmp/ds --out /tmp/held-3\n',
    )
    .action(async (dirs: string[], opts: EvalCliOptions) => {
      if (opts.seeds !== undefined) await seedsCli(seedsArgv(dirs, opts));
      else await evalCommand(dirs, opts);
    });
}

/**
 * The replay/eval/seeds.ts command line for `fnwatch eval --seeds …`; a combination that cannot
 * work fails here, naming the flag, before any dataset is generated.
 *
 * @example
 * seedsArgv([], { seeds: '941-946', data: '/tmp/ds', out: '/tmp/held-3' });
 * // ['--seeds', '941-946', '--data', '/tmp/ds', '--out', '/tmp/held-3']
 */
export function seedsArgv(dirs: readonly string[], opts: EvalCliOptions): string[] {
  if (dirs.length > 0) throw new UsageError(`--seeds: give either dataset directories or --seeds, not both (got ${dirs.join(' ')})`);
  for (const flag of ['json', 'markdown', 'report'] as const) {
    if (opts[flag] !== undefined) throw new UsageError(`--${flag} does not work with --seeds: use --out DIR (scorecard.md and scorecard.json)`);
  }
  if (opts.data === undefined) throw new UsageError('--data is required with --seeds (datasets go to <data>/ds-<seed>)');
  if (opts.out === undefined) throw new UsageError('--out is required with --seeds (scorecard.md and scorecard.json go there)');
  const argv = ['--seeds', opts.seeds!];
  for (const flag of ['days', 'functions', 'scale', 'attacks', 'data', 'out', 'models'] as const) {
    const v = opts[flag];
    if (v !== undefined) argv.push(`--${flag}`, v);
  }
  if (opts.regenerate) argv.push('--regenerate');
  if (opts.quiet) argv.push('--quiet');
  return argv;
}

async function evalCommand(dirs: string[], opts: EvalCliOptions): Promise<void> {
  if (dirs.length === 0) throw new UsageError('give dataset directories, or --seeds with --data and --out (fnwatch eval --help)');
  for (const flag of SEED_ONLY_FLAGS) {
    if (opts[flag] !== undefined) throw new UsageError(`--${flag} only works with --seeds`);
  }

  // Every dataset's labels are checked before the first replay: a typo fails in a second, not after an hour.
  for (const dir of dirs) readLabels(dir);
  const models = opts.models ? loadPack(opts.models) : undefined;
  const names = uniqueNames(dirs);
  const evaluations: Evaluation[] = [];
  for (const [i, dir] of dirs.entries()) {
    const name = names[i]!;
    const report = opts.report ? new ReportCollector({ models }) : undefined;
    const progress = new ProgressReporter({ label: `eval ${name}`, enabled: !opts.quiet });
    let started = false;
    let ev: Evaluation;
    try {
      ev = await evaluateDataset(dir, {
        models,
        report,
        name,
        onBatch: (p) => {
          if (!started) {
            progress.start(p.bytesTotal);
            started = true;
          }
          progress.update({ done: p.bytesDone, events: p.events, position: p.position });
        },
      });
    } finally {
      progress.stop();
    }
    evaluations.push(ev);
    if (report && opts.report) {
      const path = dirs.length === 1 ? opts.report : perDatasetPath(opts.report, name);
      ensureDir(path, 'the HTML report');
      const written = await writePipelineReport(path, {
        title: `fnwatch eval: ${name}`,
        pipeline: ev.pipeline,
        collector: report,
        scorecard: ev.scorecard,
        dataset: name,
        alerts: ev.alerts,
        figures: { 'events/s': Math.round(ev.eventsPerSecond) },
      });
      if (!opts.quiet) process.stderr.write(`wrote the report to ${written.path}\n`);
    }
  }

  const combined = evaluations.length === 1 ? evaluations[0]!.scorecard : combineScorecards(evaluations.map((e) => e.scorecard));
  let markdown = scorecardMarkdown(combined);
  if (evaluations.length > 1) markdown += datasetTable(evaluations);
  const doc: ScorecardDocument = {
    schema: SCORECARD_SCHEMA,
    models: opts.models ?? 'models/default.yaml',
    combined,
    datasets: evaluations.map((e) => ({
      dataset: e.dataset,
      dir: e.dir,
      inputs: e.inputs,
      counts: e.counts,
      wallMs: Math.round(e.wallMs),
      eventsPerSecond: Math.round(e.eventsPerSecond),
      scorecard: e.scorecard,
    })),
  };
  const json = JSON.stringify(doc, null, 2) + '\n';
  const outputs: [string, string][] = [];
  if (opts.out) outputs.push([join(opts.out, 'scorecard.md'), markdown], [join(opts.out, 'scorecard.json'), json]);
  if (opts.markdown) outputs.push([opts.markdown, markdown]);
  if (opts.json) outputs.push([opts.json, json]);
  for (const [path, text] of outputs) {
    ensureDir(path, 'the scorecard');
    try {
      writeFileSync(path, text);
    } catch (err) {
      throw new UsageError(`cannot write the scorecard to ${path}: ${(err as Error).message}`);
    }
  }
  if (!opts.quiet) process.stdout.write(markdown);
}

/** Directory base names; a name given twice gets its position (`demo-1`, `demo-2`). */
function uniqueNames(dirs: readonly string[]): string[] {
  const base = dirs.map((d) => basename(resolve(d)));
  return base.map((b, i) => (base.indexOf(b) === base.lastIndexOf(b) ? b : `${b}-${i + 1}`));
}

/** `report.html` + `demo` → `report.demo.html` */
function perDatasetPath(path: string, name: string): string {
  const ext = extname(path);
  const safe = name.replace(/[^\w.-]/g, '_');
  return ext ? `${path.slice(0, -ext.length)}.${safe}${ext}` : `${path}.${safe}.html`;
}

function ensureDir(path: string, what: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot write ${what} to ${path}: ${(err as Error).message}`);
  }
}

function datasetTable(evs: readonly Evaluation[]): string {
  const lines = ['', '## Datasets', '', '| dataset | events | attacks detected | false alerts after learning (per 100 function-days) | high-severity false alerts | replay time |', '|---|---|---|---|---|---|'];
  for (const e of evs) {
    const c = e.scorecard;
    const events = e.counts.events.invocation + e.counts.events.resource_access + e.counts.events.egress + e.counts.events.change;
    lines.push(
      `| ${e.dataset} | ${events.toLocaleString('en-US')} | ${c.attacks.filter((a) => a.detected).length}/${c.attacks.length} | ${c.falseAlerts.afterLearning} (${c.falseAlertsPer100FunctionDays.afterLearning}) | ${c.falseAlerts.highSeverity} | ${(e.wallMs / 1000).toFixed(1)} s |`,
    );
  }
  return lines.join('\n') + '\n';
}
