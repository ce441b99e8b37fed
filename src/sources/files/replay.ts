/**
 * The core of `fnwatch replay`, reusable by `eval` and the report: recorded files in, merged into
 * event-time order, through the same {@link Pipeline} as the service (on this thread, or partitioned
 * by function over worker threads), alerts out to sinks; counts, alerts and the learned baselines back.
 */
import type { Alert } from '../../core/alert.ts';
import { UsageError, type Sink } from '../../core/contracts.ts';
import type { DeadLetter } from '../../core/events.ts';
import { Pipeline, type PipelineCounts, type PipelineOptions } from '../../pipeline/pipeline.ts';
import type { BaselineSnapshot } from '../../profiler/snapshot.ts';
import { WorkerPipeline } from '../../service/workers.ts';
import type { ReplayEntry } from './formats.ts';
import { ReplayMerge, type MergeStats } from './merge.ts';

/**
 * Entries sent to the worker threads per message when `workers` > 1: small enough that the threads
 * start on a batch while the coordinator routes the next, large enough that a message's cost
 * (structured clone, a wake-up) stays small against the work in it (as bench/parallel.ts `BATCH`).
 */
const WORKER_FLUSH_ENTRIES = 250;
/** Batches sent to the threads and not yet processed, at most: the coordinator stays ~2 batches ahead. */
const WORKER_BATCHES_IN_FLIGHT = 3;

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
  /**
   * Pipeline worker threads, functions partitioned over them (default 1: one pipeline on this
   * thread). Above 1, `pipeline.observer`, `pipeline.onEvent` and `pipeline.parser.isKnownFunction`
   * cannot be used (they would have to see every event on this thread): a `UsageError` says so.
   * The alerts are the same as one pipeline's, except what depends on the fleet (other functions),
   * which each worker knows only for its own functions: `peer_functions` in new-egress-host and
   * new-resource-access explanations, and where it is 0 on a worker but not overall, the novelty
   * detectors' verdict (a host or action no peer uses weighs more: an alert can fire or rate higher).
   */
  workers?: number;
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
  /** Pipelines the replay ran on: 1 (this thread) or the worker threads' count */
  workers: number;
  /** The baselines learned by the end of the replay (every worker's, merged), in the format `train` saves */
  snapshot(): BaselineSnapshot;
  /** The pipeline after a single-threaded replay (its profiles, for reports); undefined with workers */
  pipeline: Pipeline | undefined;
}

/** The result of a replay on this thread: its pipeline is there. */
export interface SingleThreadReplayResult extends ReplayResult {
  workers: 1;
  pipeline: Pipeline;
}

/** Sum of a counts object's events. */
export function totalEvents(counts: PipelineCounts): number {
  const e = counts.events;
  return e.invocation + e.resource_access + e.egress + e.change;
}

/**
 * Replays recorded files through a new pipeline, or with `workers` > 1 through that many pipelines
 * on worker threads. Inputs are checked first (missing paths, unknown formats, a filter-log-events
 * file without `logGroup` are `UsageError`s before any processing), and options that cannot cross
 * threads before any thread starts.
 *
 * @example
 * const r = await runReplay({ inputs: ['datasets/demo'], pipeline: { baseline: loadBaseline('baselines/') } });
 * console.log(r.counts.events.invocation, r.alerts.length, r.pipeline.engine.profiles.size);
 * const fast = await runReplay({ inputs: ['recordings/week'], workers: 2 });
 * saveBaseline('baselines/', fast.snapshot());
 */
export function runReplay(opts: ReplayOptions & { workers?: 1 }): Promise<SingleThreadReplayResult>;
export function runReplay(opts: ReplayOptions): Promise<ReplayResult>;
export async function runReplay(opts: ReplayOptions): Promise<ReplayResult> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`workers must be a whole number of at least 1, got ${workers}`);
  return workers === 1 ? replayOnThisThread(opts) : replayOnWorkers(opts, workers);
}

async function replayOnThisThread(opts: ReplayOptions): Promise<SingleThreadReplayResult> {
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
  return {
    ...outcome(pipeline.counts, merge.stats, alerts, wallMs),
    workers: 1,
    snapshot: () => pipeline.snapshot(),
    pipeline,
  };
}

/**
 * The worker-thread replay: the same merge, the same `advance` after each `batchSize` entries (so
 * the threads see the time steps one pipeline sees), the entries sent in smaller batches with a few
 * in flight so that the threads work while this thread reads, decompresses and routes the next.
 */
async function replayOnWorkers(opts: ReplayOptions, workers: number): Promise<ReplayResult> {
  const { observer, onEvent, parser, ...rest } = opts.pipeline ?? {};
  // Named by their ReplayOptions paths; the CLI rejects the flags that set them (--report) itself, naming them.
  if (observer) throw new UsageError('pipeline.observer cannot be used with workers > 1: it must see every event on the main thread');
  if (onEvent) throw new UsageError('pipeline.onEvent cannot be used with workers > 1: it must see every event on the main thread');
  if (parser?.isKnownFunction) throw new UsageError('pipeline.parser.isKnownFunction cannot be used with workers > 1: a function cannot be sent to a thread');
  const { models, baseline, maxFunctions, ...unknown } = rest;
  // Anything added to PipelineOptions later must be handled here, not dropped.
  const unsupported = Object.keys(unknown);
  if (unsupported.length > 0) throw new UsageError(`pipeline.${unsupported[0]} is not supported with workers > 1`);

  const keepAlerts = opts.keepAlerts ?? true;
  const batchSize = opts.batchSize ?? 2000;
  const sinks = opts.sinks ?? [];
  const alerts: Alert[] = [];
  let pending: Alert[] = [];
  const merge = await ReplayMerge.open(opts.inputs, { logGroup: opts.logGroup, from: opts.from, to: opts.to, onDeadLetter: opts.onDeadLetter });
  // Starting the threads (each compiles the pipeline's code) is part of what workers cost: timed.
  const t0 = performance.now();
  let wp: WorkerPipeline;
  try {
    wp = await WorkerPipeline.start({
      workers,
      parser,
      models,
      baseline,
      maxFunctions,
      // Called as each worker's reply arrives; the sinks get them after each batch, as on one thread.
      onAlert: (a) => {
        pending.push(a);
        if (keepAlerts) alerts.push(a);
        opts.onAlert?.(a);
      },
      onDeadLetter: opts.onDeadLetter,
    });
  } catch (err) {
    merge.close();
    throw err;
  }

  const deliver = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await Promise.all(sinks.map((s) => s.write(batch)));
  };
  const inFlight: Promise<unknown>[] = [];
  const send = async (): Promise<void> => {
    const flushed = wp.flush();
    // Awaited below in order; a failure while an earlier batch is awaited must not go unhandled.
    flushed.catch(() => {});
    inFlight.push(flushed);
    if (inFlight.length >= WORKER_BATCHES_IN_FLIGHT) await inFlight.shift();
  };
  const route = (e: ReplayEntry): void => {
    if (e.kind === 'item') wp.process(e.item);
    else wp.processEvent(e.event);
  };

  let finished = false;
  try {
    await opts.onStart?.(merge.stats);
    for (let entries = await merge.next(batchSize); entries.length > 0; entries = await merge.next(batchSize)) {
      for (let i = 0; i < entries.length; i += WORKER_FLUSH_ENTRIES) {
        const end = Math.min(entries.length, i + WORKER_FLUSH_ENTRIES);
        for (let k = i; k < end; k++) route(entries[k]!);
        if (end === entries.length && merge.stats.lastTime !== undefined) wp.advance(merge.stats.lastTime);
        await send();
      }
      await deliver();
      if (opts.onBatch) {
        const counts = wp.counts;
        await opts.onBatch({
          bytesDone: merge.bytesDone(),
          bytesTotal: merge.stats.bytesTotal,
          entries: merge.stats.entries,
          // As of the batches the workers have finished: up to WORKER_BATCHES_IN_FLIGHT behind the entries.
          events: totalEvents(counts),
          alerts: counts.alerts,
          position: merge.stats.lastTime,
          wallMs: performance.now() - t0,
        });
      }
    }
    await Promise.all(inFlight.splice(0));
    await wp.finish();
    finished = true;
    await deliver();
    await Promise.all(sinks.map((s) => s.flush()));
  } finally {
    merge.close();
    if (!finished) await wp.close();
  }

  const wallMs = performance.now() - t0;
  const snapshot = wp.snapshot()!;
  return {
    ...outcome(wp.counts, merge.stats, alerts, wallMs),
    workers,
    snapshot: () => snapshot,
    pipeline: undefined,
  };
}

/** Counts with the merge's dead letters added, and the throughput. */
function outcome(pipelineCounts: PipelineCounts, stats: MergeStats, alerts: Alert[], wallMs: number): Pick<ReplayResult, 'counts' | 'alerts' | 'merge' | 'wallMs' | 'eventsPerSecond'> {
  const counts: PipelineCounts = {
    ...pipelineCounts,
    events: { ...pipelineCounts.events },
    dead_letter: pipelineCounts.dead_letter + stats.deadLetters,
  };
  return { counts, alerts, merge: stats, wallMs, eventsPerSecond: wallMs > 0 ? (totalEvents(counts) / wallMs) * 1000 : 0 };
}
