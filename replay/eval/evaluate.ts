/**
 * Evaluating fnwatch on a labelled dataset: the dataset's recordings go through {@link runReplay}
 * (file source → the same {@link Pipeline} as `replay` and the service → a collecting sink), and
 * the alerts are scored against `labels.json` with {@link scoreAlerts}.
 *
 * Used by `fnwatch eval` and by anyone tuning detectors: the signature of {@link evaluateDataset}
 * is stable.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Alert } from '../../src/core/alert.ts';
import { UsageError, type Sink } from '../../src/core/contracts.ts';
import type { DeadLetter } from '../../src/core/events.ts';
import { defaultPack, loadPack, type ModelPack } from '../../src/detectors/pack.ts';
import type { Pipeline, PipelineCounts } from '../../src/pipeline/pipeline.ts';
import { loadBaseline, type BaselineSnapshot } from '../../src/profiler/snapshot.ts';
import { runReplay, type ReplayProgress } from '../../src/sources/files/replay.ts';
import type { ReportCollector } from '../report/collector.ts';
import { scoreAlerts, type Labels, type Scorecard, type ScoreOptions } from './score.ts';

export const LABELS_FILE = 'labels.json';

/** Files of a dataset directory that are not telemetry. */
const NOT_TELEMETRY = new Set([LABELS_FILE, 'manifest.json', 'README.md']);
/** Ground truth: the same events as the recordings, already parsed (replayed only when it is all there is). */
const GROUND_TRUTH = 'events.arrow';

export interface EvaluateOptions {
  /** Detector pack: a YAML path or a loaded pack (default: models/default.yaml) */
  models?: string | ModelPack;
  /** Saved baseline to start from: a directory/file written by `fnwatch train`, or a snapshot */
  baseline?: string | BaselineSnapshot;
  /** Collects series and findings for the HTML report */
  report?: ReportCollector;
  /** Name in the scorecard (default: the directory's base name) */
  name?: string;
  /** Alerts this long after an attack's end still count for it (default: scoreAlerts' 2 h) */
  graceMs?: number;
  /** Alerts this long before an attack's labelled start still count for it (default 0; see {@link ScoreOptions}) */
  startToleranceMs?: number;
  /** Also deliver the alerts here (flushed, not closed: the caller owns them) */
  sinks?: readonly Sink[];
  onDeadLetter?: (dl: DeadLetter) => void;
  onBatch?: (progress: ReplayProgress) => void | Promise<void>;
}

export interface Evaluation {
  /** Dataset name (as in the scorecard) */
  dataset: string;
  dir: string;
  /** What was replayed */
  inputs: string[];
  labels: Labels;
  scorecard: Scorecard;
  /** Every alert raised, in order (Updates included) */
  alerts: Alert[];
  counts: PipelineCounts;
  wallMs: number;
  eventsPerSecond: number;
  /** The pipeline after the run (`snapshot()` for the learned baselines, report figures) */
  pipeline: Pipeline;
}

/**
 * Reads and checks `<dir>/labels.json`. A missing or malformed file is a {@link UsageError}
 * naming the path.
 *
 * @example
 * const labels = readLabels('datasets/demo');
 * labels.attacks.length; // 3
 */
export function readLabels(dir: string): Labels {
  const path = join(dir, LABELS_FILE);
  if (!existsSync(path)) throw new UsageError(`no labels at ${path}: a dataset directory needs a labels.json (fnwatch gen writes one)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`labels ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const l = raw as Partial<Labels> | null;
  const bad = (what: string): never => {
    throw new UsageError(`labels ${path}: ${what}`);
  };
  if (!l || typeof l !== 'object') bad('not an object');
  for (const k of ['start', 'end', 'learningEnd'] as const) if (typeof l![k] !== 'number' || !Number.isFinite(l![k])) bad(`${k} must be epoch milliseconds`);
  if (l!.end! <= l!.start!) bad('end is not after start');
  if (!Array.isArray(l!.functions)) bad('functions must be a list');
  if (!Array.isArray(l!.attacks)) bad('attacks must be a list');
  if (l!.confounders !== undefined && !Array.isArray(l!.confounders)) bad('confounders must be a list');
  for (const [i, w] of [...l!.attacks!, ...(l!.confounders ?? [])].entries()) {
    if (typeof w?.function !== 'string' || typeof w.kind !== 'string' || typeof w.start !== 'number' || typeof w.end !== 'number') {
      bad(`window ${i} (${JSON.stringify(w?.id ?? null)}) needs function, kind, start and end`);
    }
  }
  return l as Labels;
}

/**
 * The telemetry of a dataset directory: `<dir>/kinesis` when present, else every entry but the
 * labels and manifest; `events.arrow` only when there is nothing else (it repeats the recordings).
 *
 * @example
 * datasetInputs('datasets/demo'); // ['datasets/demo/kinesis']
 */
export function datasetInputs(dir: string): string[] {
  const kinesis = join(dir, 'kinesis');
  if (existsSync(kinesis) && statSync(kinesis).isDirectory()) return [kinesis];
  const entries = readdirSync(dir)
    .filter((n) => !NOT_TELEMETRY.has(n) && !n.startsWith('.'))
    .sort();
  const recordings = entries.filter((n) => n !== GROUND_TRUTH);
  const chosen = recordings.length > 0 ? recordings : entries;
  if (chosen.length === 0) throw new UsageError(`no telemetry in ${dir}: expected a kinesis/ directory or recording files beside labels.json`);
  return chosen.map((n) => join(dir, n));
}

/**
 * Replays a labelled dataset through a fresh pipeline (from the dataset's start, unless a baseline
 * is given) and scores the alerts against its labels.
 *
 * @example
 * const ev = await evaluateDataset('datasets/demo', { models: 'models/default.yaml' });
 * console.log(ev.scorecard.recall, ev.scorecard.falseAlertsPer100FunctionDays.afterLearning);
 * process.stdout.write(scorecardMarkdown(ev.scorecard));
 */
export async function evaluateDataset(dir: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a dataset directory: ${dir}`);
  const labels = readLabels(dir);
  const inputs = datasetInputs(dir);
  const models = typeof opts.models === 'string' ? loadPack(opts.models) : (opts.models ?? defaultPack());
  const baseline = typeof opts.baseline === 'string' ? loadBaseline(opts.baseline) : opts.baseline;
  const dataset = opts.name ?? basename(resolve(dir));
  const report = opts.report;

  const result = await runReplay({
    inputs,
    pipeline: { models, baseline, ...(report ? { observer: report.observer } : {}) },
    // The collector must see each alert before the observer call for the event that raised it,
    // which holds because runReplay calls onAlert synchronously as the engine raises it.
    ...(report ? { onAlert: (a: Alert) => report.onAlert(a) } : {}),
    sinks: opts.sinks,
    onDeadLetter: opts.onDeadLetter,
    onBatch: opts.onBatch,
  });

  const scorecard = scoreAlerts(result.alerts, labels, {
    dataset,
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    ...(opts.startToleranceMs !== undefined ? { startToleranceMs: opts.startToleranceMs } : {}),
  });
  return {
    dataset,
    dir,
    inputs,
    labels,
    scorecard,
    alerts: result.alerts,
    counts: result.counts,
    wallMs: result.wallMs,
    eventsPerSecond: result.eventsPerSecond,
    pipeline: result.pipeline,
  };
}
