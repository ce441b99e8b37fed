/**
 * `fnwatch train <inputs>... --out DIR [--models FILE] [--from T] [--to T] [--log-group NAME] [--workers N]`:
 * learns per-function baselines from recorded telemetry and saves them in the format the service
 * snapshots (src/profiler/snapshot.ts), for `replay --baseline`, `investigate --baseline`, `run`
 * and `profile`. Runs the same pipeline as `replay`; alerts raised while learning are counted, not
 * delivered.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { formatTime, parseOptionalRange } from '../core/time.ts';
import { defaultPack, loadPack, type ModelPack } from '../detectors/pack.ts';
import { profilerSettings } from '../pipeline/engine.ts';
import { FunctionProfile } from '../profiler/profile.ts';
import { loadBaseline, saveBaseline, type BaselineSnapshot } from '../profiler/snapshot.ts';
import { ProgressReporter } from '../service/progress.ts';
import { runReplay, totalEvents, type ReplayResult } from '../sources/files/replay.ts';
import { workerCount } from './run.ts';

interface TrainCliOptions {
  out: string;
  models?: string;
  from?: string;
  to?: string;
  logGroup?: string;
  baseline?: string;
  json?: boolean;
  quiet?: boolean;
  workers: number;
}

/** One function's learning state, as `train` reports it. */
export interface TrainedFunction {
  name: string;
  account?: string;
  region?: string;
  firstSeen: string;
  lastSeen: string;
  invocations: number;
  /** Seen for a full learning period: rate, egress and resource novelty are judged */
  learned: boolean;
  /** Enough durations for the duration baseline */
  durationsTrusted: boolean;
  egressDestinations: number;
  actions: number;
  resources: number;
}

/** What `train --json` prints. */
export interface TrainSummary {
  out: string;
  path: string;
  watermark: string;
  events: number;
  counts: ReplayResult['counts'];
  /** Alerts raised while training (counted, not delivered) */
  alerts: number;
  functions: TrainedFunction[];
}

/**
 * Adds `train` to the command line.
 *
 * @example
 * register(program); // fnwatch train datasets/demo/kinesis --to 2026-01-06T19:12Z --out baselines/
 */
export function register(program: Command): void {
  program
    .command('train')
    .description('learn per-function baselines from recorded telemetry and save them (for replay/investigate --baseline, run, profile)')
    .argument('<inputs...>', 'files or directories, as for `fnwatch replay`')
    .requiredOption('--out <dir>', 'directory to write baseline.json to')
    .option('--models <file>', 'detector pack (default: models/default.yaml); its learning period decides when a function counts as learned')
    .option('--from <time>', 'skip items before this time: ISO-8601, epoch ms, or back from now (-6h, 2d)')
    .option('--to <time>', 'skip items at or after this time')
    .option('--log-group <name>', 'log group of aws logs filter-log-events output files')
    .option('--baseline <dir>', 'continue from a saved baseline instead of starting empty')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress display and no summary')
    .option('--workers <n>', 'pipeline worker threads, functions partitioned over them (1: this thread); the saved baseline holds every function either way', workerCount, 1)
    .action(async (inputs: string[], opts: TrainCliOptions) => {
      await trainCommand(inputs, opts);
    });
}

async function trainCommand(inputs: string[], opts: TrainCliOptions): Promise<void> {
  const now = Date.now();
  const { from, to } = parseOptionalRange(opts, now);
  const models = opts.models ? loadPack(opts.models) : defaultPack();
  const baseline = opts.baseline ? loadBaseline(opts.baseline) : undefined;
  const progress = new ProgressReporter({ label: 'train', enabled: !opts.quiet && !opts.json });
  let result: ReplayResult;
  try {
    result = await runReplay({
      inputs,
      logGroup: opts.logGroup,
      from,
      to,
      pipeline: { models, baseline },
      workers: opts.workers,
      keepAlerts: false,
      onStart: (stats) => progress.start(stats.bytesTotal),
      onBatch: (p) => progress.update({ done: p.bytesDone, events: p.events, position: p.position }),
    });
  } finally {
    progress.stop();
  }
  if (totalEvents(result.counts) === 0 && !baseline) {
    throw new UsageError(`no events in ${inputs.join(', ')}${from !== undefined || to !== undefined ? ' within --from/--to' : ''}: nothing to learn`);
  }
  const snap = result.snapshot();
  let path: string;
  try {
    path = saveBaseline(opts.out, snap);
  } catch (err) {
    throw new UsageError(`cannot write the baseline to ${opts.out}: ${(err as Error).message}`);
  }
  const summary = trainSummary(snap, models, result, opts.out, path);
  if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else if (!opts.quiet) process.stdout.write(formatTrainSummary(summary));
}

/**
 * The learning state of every function of a snapshot, judged at its watermark.
 *
 * @example
 * const s = trainSummary(result.snapshot(), defaultPack(), result, 'baselines', 'baselines/baseline.json');
 * s.functions.filter((f) => f.learned).length;
 */
export function trainSummary(snap: BaselineSnapshot, models: ModelPack, result: Pick<ReplayResult, 'counts'>, out: string, path: string): TrainSummary {
  const settings = profilerSettings(models);
  const functions = snap.functions
    .map((j) => FunctionProfile.fromJSON(j, settings))
    .sort((a, b) => a.fn.name.localeCompare(b.fn.name) || (a.fn.account ?? '').localeCompare(b.fn.account ?? ''))
    .map(
      (p): TrainedFunction => ({
        name: p.fn.name,
        ...(p.fn.account ? { account: p.fn.account } : {}),
        ...(p.fn.region ? { region: p.fn.region } : {}),
        firstSeen: formatTime(p.firstSeen),
        lastSeen: formatTime(p.lastSeen),
        invocations: p.invocations,
        learned: p.isTrusted(snap.watermark, settings),
        durationsTrusted: p.durationTrusted(settings),
        egressDestinations: p.egress.size,
        actions: p.actions.size,
        resources: p.resources.size,
      }),
    );
  return {
    out,
    path,
    watermark: formatTime(snap.watermark),
    events: totalEvents(result.counts),
    counts: result.counts,
    alerts: result.counts.alerts,
    functions,
  };
}

/** The human summary: totals, then one line per function. */
export function formatTrainSummary(s: TrainSummary): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const e = s.counts.events;
  const learned = s.functions.filter((f) => f.learned).length;
  const lines = [
    `Learned ${n(s.functions.length)} function${s.functions.length === 1 ? '' : 's'} from ${n(s.events)} events (invocation ${n(e.invocation)}, resource access ${n(e.resource_access)}, egress ${n(e.egress)}, change ${n(e.change)}) up to ${s.watermark}`,
    `  ${n(learned)} past their learning period, ${n(s.functions.length - learned)} still learning; ${n(s.alerts)} alert${s.alerts === 1 ? '' : 's'} raised while training (not delivered); ${n(s.counts.dead_letter)} dead letters`,
    `  saved to ${s.path}`,
    '',
  ];
  const width = Math.min(40, Math.max(8, ...s.functions.map((f) => f.name.length)));
  for (const f of s.functions) {
    const state = f.learned ? 'learned ' : 'learning';
    lines.push(
      `  ${f.name.padEnd(width)}  ${state}  ${n(f.invocations).padStart(8)} invocations  durations ${f.durationsTrusted ? 'trusted' : 'learning'}  egress ${f.egressDestinations}  actions ${f.actions}  resources ${f.resources}  (seen ${f.firstSeen} → ${f.lastSeen})`,
    );
  }
  return lines.join('\n') + '\n';
}
