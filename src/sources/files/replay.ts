/**
 * The core of `fnwatch replay`, reusable by `eval` and the report: recorded files in, merged into
 * event-time order, through the same {@link Pipeline} as the service, alerts out to sinks; counts,
 * alerts and the pipeline (for its learned baselines) back.
 */
import type { Alert } from '../../core/alert.ts';
import type { Sink } from '../../core/contracts.ts';
import type { DeadLetter } from '../../core/events.ts';
import { Pipeline, type PipelineCounts, type PipelineOptions } from '../../pipeline/pipeline.ts';
import { ReplayMerge, type MergeStats } from './merge.ts';

export interface ReplayOptions {
  /** Files and directories (recursive) */
  inputs: readonly string[];
  /** Log group of `aws logs filter-log-events` outputs */
  logGroup?: string;
  /** Only items with `from <= time < to` (epoch ms) */
  from?: number;
  to?: number;
  /** Parser, detector pack, saved baseline, event observers */
  pipeline?: Omit<PipelineOptions, 'onAlert' | 'onDeadLetter'>;
  /** Where alerts go; written after each batch and flushed at the end (not closed: the caller owns them) */
  sinks?: readonly Sink[];
  onAlert?: (alert: Alert) => void;
  /** Every dead letter: lines of files that do not fit their format, and records the parser rejects */
  onDeadLetter?: (dl: DeadLetter) => void;
  /** Once the inputs are checked, before anything is read (the place to open output files: a throw here ends the replay); awaited */
  onStart?: (merge: Readonly<MergeStats>) => void | Promise<void>;
  /** After each batch; awaited, so a slow dead-letter file or progress display holds the replay back */
  onBatch?: (progress: ReplayProgress) => void | Promise<void>;
  /** Items per batch (default 2000) */
  batchSize?: number;
  /** Keep every alert in the result (default true) */
  keepAlerts?: boolean;
}

/** Where a replay is. */
export interface ReplayProgress {
  bytesDone: number;
  bytesTotal: number;
  /** Items and Arrow events handed to the pipeline */
  entries: number;
  /** Normalized events out of the parser */
  events: number;
  alerts: number;
  /** Event time of the latest entry (ms) */
  position?: number;
  wallMs: number;
}

export interface ReplayResult {
  /** Pipeline counts; `dead_letter` includes the lines dead-lettered while reading files */
  counts: PipelineCounts;
  alerts: Alert[];
  merge: MergeStats;
  wallMs: number;
  eventsPerSecond: number;
  /** The pipeline after the replay: `snapshot()` gives the learned baselines */
  pipeline: Pipeline;
}

/** Sum of a counts object's events. */
export function totalEvents(counts: PipelineCounts): number {
  const e = counts.events;
  return e.invocation + e.resource_access + e.egress + e.change;
}

/**
 * Replays recorded files through a new pipeline. Inputs are checked first (missing paths, unknown
 * formats, a filter-log-events file without `logGroup` are `UsageError`s before any processing).
 *
 * @example
 * const r = await runReplay({ inputs: ['datasets/demo'], pipeline: { baseline: loadBaseline('baselines/') } });
 * console.log(r.counts.events.invocation, r.alerts.length);
 */
export async function runReplay(opts: ReplayOptions): Promise<ReplayResult> {
  const keepAlerts = opts.keepAlerts ?? true;
  const batchSize = opts.batchSize ?? 2000;
  const sinks = opts.sinks ?? [];
  const alerts: Alert[] = [];
  let pending: Alert[] = [];
  const pipeline = new Pipeline({
    ...opts.pipeline,
    onAlert: (a) => {
      pending.push(a);
      if (keepAlerts) alerts.push(a);
      opts.onAlert?.(a);
    },
    onDeadLetter: opts.onDeadLetter,
  });
  const merge = await ReplayMerge.open(opts.inputs, { logGroup: opts.logGroup, from: opts.from, to: opts.to, onDeadLetter: opts.onDeadLetter });
  const t0 = performance.now();

  const deliver = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await Promise.all(sinks.map((s) => s.write(batch)));
  };

  try {
    await opts.onStart?.(merge.stats);
    for (let entries = await merge.next(batchSize); entries.length > 0; entries = await merge.next(batchSize)) {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        if (e.kind === 'item') pipeline.process(e.item);
        else pipeline.processEvent(e.event);
      }
      if (merge.stats.lastTime !== undefined) pipeline.advance(merge.stats.lastTime);
      await deliver();
      if (opts.onBatch) {
        await opts.onBatch({
          bytesDone: merge.bytesDone(),
          bytesTotal: merge.stats.bytesTotal,
          entries: merge.stats.entries,
          events: totalEvents(pipeline.counts),
          alerts: pipeline.counts.alerts,
          position: merge.stats.lastTime,
          wallMs: performance.now() - t0,
        });
      }
    }
    pipeline.finish();
    await deliver();
    await Promise.all(sinks.map((s) => s.flush()));
  } finally {
    merge.close();
  }

  const wallMs = performance.now() - t0;
  const counts: PipelineCounts = {
    ...pipeline.counts,
    events: { ...pipeline.counts.events },
    dead_letter: pipeline.counts.dead_letter + merge.stats.deadLetters,
  };
  return {
    counts,
    alerts,
    merge: merge.stats,
    wallMs,
    eventsPerSecond: wallMs > 0 ? (totalEvents(counts) / wallMs) * 1000 : 0,
    pipeline,
  };
}
