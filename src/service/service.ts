/**
 * The long-lived consumer (`fnwatch run`): sources (Kinesis with DynamoDB leases, CloudWatch Logs
 * Live Tail) → {@link Runner} → Pipeline → sinks, with acknowledgements flowing back so a source
 * checkpoints only what the sinks hold durably. Around it: baseline state restored at start and
 * snapshotted on an interval and at shutdown, dead letters to an NDJSON file, /healthz, /readyz and
 * /metrics, pino JSON logs on stderr, and a graceful stop (drain, flush, checkpoint, snapshot,
 * release leases).
 *
 * With `workers: N` (> 1) the pipeline runs on N worker threads partitioned by function
 * ({@link WorkerPipeline}); the main thread keeps the sources, the sinks, the checkpoints and the
 * ops server, and routes records. Alerts are the same as with one pipeline.
 *
 * Backpressure is the chain of bounded waits: a shard fetches only when the source's queue has
 * room, the queue drains only as fast as the runner processes and the sinks accept, and a webhook
 * outbox that is full blocks the write. Memory is bounded by those queues, not by the input rate.
 */
import pino, { type Logger } from 'pino';
import type { Alert } from '../core/alert.ts';
import type { Sink, Source } from '../core/contracts.ts';
import type { DeadLetter } from '../core/events.ts';
import { loadPack } from '../detectors/pack.ts';
import { Pipeline, type PipelineCounts } from '../pipeline/pipeline.ts';
import { createSinks } from '../sinks/config.ts';
import { redactUrl } from '../sinks/log.ts';
import { createLogsClient, LiveTailSource, type LiveTailEvent } from '../sources/cloudwatch-logs/index.ts';
import { KinesisSource, type KinesisSourceEvent } from '../sources/kinesis/index.ts';
import type { KinesisSourceConfig, LiveTailSourceConfig, ServiceConfig } from './config.ts';
import { DeadLetterFile } from './dead-letter-file.ts';
import { startOpsServer, type OpsServer } from './http.ts';
import { MergedSource, ShardMerge } from './merge-sources.ts';
import { ServiceMetrics } from './metrics.ts';
import { Runner, type BatchProcessor } from './runner.ts';
import { PositionTracker, serviceSnapshot, type StreamPositions } from './state.ts';
import { createStateStore, type StateStore } from './state-store.ts';
import { newStateWriter } from './state-writer.ts';
import { WorkerPipeline, type PipelineState } from './workers.ts';

export interface ServiceOptions {
  /** Logger (default: pino JSON on stderr at `config.log.level`) */
  log?: Logger;
  /** Where stdout sinks write (default process.stdout) */
  stdout?: NodeJS.WritableStream;
  /** Called with every alert once the sinks hold it durably (demo display, benchmarks) */
  onAlerts?: (alerts: readonly Alert[]) => void;
}

/**
 * The service's view of its pipeline, whichever runs it: the in-thread {@link Pipeline} or the
 * {@link WorkerPipeline}, whose state lives in other threads and is read asynchronously.
 */
interface ServicePipeline extends BatchProcessor {
  readonly counts: PipelineCounts;
  /** functions with a profile */
  readonly functions: number;
  /** event-time watermark (-Infinity before the first event) */
  readonly watermark: number;
  /** baselines and open alerts, for a snapshot */
  state(): PipelineState | Promise<PipelineState>;
  /** releases threads; idempotent */
  close(): Promise<void>;
}

function inThread(p: Pipeline): ServicePipeline {
  return {
    processBatch: (items) => p.processBatch(items),
    advance: (t) => p.advance(t),
    finish: () => p.finish(),
    get counts() {
      return p.counts;
    },
    get functions() {
      return p.engine.profiles.size;
    },
    get watermark() {
      return p.engine.watermark;
    },
    state: () => ({ baseline: p.snapshot(), openAlerts: p.engine.scorer.openAlerts() }),
    close: async () => undefined,
  };
}

/** What a run did, logged at the end and printed by the demo. */
export interface ServiceSummary {
  counts: PipelineCounts;
  /** Records not processed again after a restart because the restored baselines hold them */
  skipped: number;
  batches: number;
  alerts: number;
  deadLetters: number;
  snapshots: number;
  wallMs: number;
  /** Where the last snapshot went */
  statePath?: string;
}

/**
 * pino JSON lines on stderr. Synchronous writes: the last lines before an exit are not lost.
 *
 * @example
 * const log = createLogger('info');
 * log.info({ stream: 'fnwatch-logs' }, 'started');
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'fnwatch', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Config values that may carry credentials never reach a log line whole.
      redact: { paths: ['*.secret', '*.secrets', '*.token', '*.password', '*.authorization', '*.headers'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * Starts the service from a validated config.
 *
 * @example
 * const service = await Service.start(loadServiceConfig('config.yaml'));
 * process.once('SIGTERM', () => void service.stop());
 * const summary = await service.done; // resolves after a graceful stop, rejects on a fatal error
 */
export class Service {
  readonly metrics = new ServiceMetrics();
  readonly log: Logger;
  /** Resolves after a graceful stop; rejects with the error that stopped the service */
  readonly done: Promise<ServiceSummary>;
  /** Wall-clock ms of the last batch processed (idle detection) */
  lastBatchAt = 0;
  ops: OpsServer | undefined;

  private readonly started = performance.now();
  private readonly kinesis: KinesisSource[] = [];
  private readonly liveTails: LiveTailSource[] = [];
  private readonly trackers: PositionTracker[] = [];
  private readonly readySources: boolean[] = [];
  private readonly leaseCount = new Map<KinesisSource, Set<string>>();
  private runner!: Runner;
  private pipeline!: ServicePipeline;
  private sink!: Sink;
  private deadLetterFile: DeadLetterFile | undefined;
  private deadLetters = 0;
  private lastDeadLetterLog = 0;
  private snapshots = 0;
  private lastSnapshot = performance.now();
  private statePath: string | undefined;
  /** Where snapshots go (`state.dir` or `state.s3`); undefined without `state` */
  private stateStore: StateStore | undefined;
  private failure: unknown;
  private stopping = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Alerts of the batch in hand, for `onAlerts` once the sinks hold them */
  private alertBuffer: Alert[] = [];
  private resolveDone!: (s: ServiceSummary) => void;
  private rejectDone!: (err: unknown) => void;

  private constructor(
    readonly config: ServiceConfig,
    private readonly opts: ServiceOptions,
  ) {
    this.log = opts.log ?? createLogger(config.log.level);
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A caller that only awaits stop() must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Builds everything, opens the ops port and starts consuming. Bad config or files throw here. */
  static async start(config: ServiceConfig, opts: ServiceOptions = {}): Promise<Service> {
    const service = new Service(config, opts);
    await service.init();
    return service;
  }

  /** True once every source is consuming (Kinesis: a lease acquired; Live Tail: a session open). */
  get ready(): boolean {
    return this.failure === undefined && !this.stopping && this.readySources.every(Boolean);
  }

  /** Records handed to the pipeline so far, plus those skipped as already learned. */
  get recordsSeen(): number {
    return this.pipeline.counts.records + this.skipped();
  }

  /** The error that stopped the service, once it failed */
  get failed(): unknown {
    return this.failure;
  }

  /** Functions with a profile in memory (restored or learned; with workers, as of their last batch) */
  get functionsProfiled(): number {
    return this.pipeline.functions;
  }

  get counts(): PipelineCounts {
    return this.pipeline.counts;
  }

  /**
   * Graceful stop: stop fetching, finish the batch in hand, flush the sinks, write final
   * checkpoints, release leases, snapshot the baselines. Resolves with the summary.
   */
  async stop(reason = 'stop requested'): Promise<ServiceSummary> {
    if (!this.stopping) {
      this.stopping = true;
      this.metrics.ready.set(0);
      this.log.info({ reason }, 'stopping: draining in-flight work');
      await this.runner.stop();
    }
    return this.done;
  }

  private async init(): Promise<void> {
    const c = this.config;
    const models = c.models ? loadPack(c.models) : undefined;
    // Read before anything else starts: a state that cannot be read (a missing bucket, no
    // permission, a file that is not a baseline) refuses the start instead of being overwritten later,
    // and so does one that cannot be written (its first snapshot would fail an interval later).
    this.stateStore = c.state ? createStateStore(c.state) : undefined;
    let saved: Awaited<ReturnType<StateStore['load']>>;
    try {
      saved = await this.stateStore?.load();
      await this.stateStore?.claim(newStateWriter());
    } catch (err) {
      this.stateStore?.close();
      throw err;
    }
    if (this.stateStore) {
      const state = this.stateStore.location;
      if (saved) this.log.info({ state, functions: saved.functions.length, createdAt: saved.createdAt }, 'restored baselines');
      else this.log.info({ state }, 'no saved baselines: starting to learn');
    }
    if (c.deadLetters) this.deadLetterFile = new DeadLetterFile(c.deadLetters, { append: true });

    const onAlert = (a: Alert): void => {
      this.metrics.alertRaised(a);
      if (this.opts.onAlerts) this.alertBuffer.push(a);
    };
    const onDeadLetter = (dl: DeadLetter): void => this.deadLetter(dl);
    if (c.workers > 1) {
      this.pipeline = await WorkerPipeline.start({ workers: c.workers, models, baseline: saved, openAlerts: saved?.openAlerts, onAlert, onDeadLetter });
      this.log.info({ workers: c.workers }, 'pipeline on worker threads');
    } else {
      const pipeline = new Pipeline({ models, baseline: saved, onAlert, onDeadLetter });
      if (saved?.openAlerts) pipeline.engine.scorer.restoreOpenAlerts(saved.openAlerts);
      this.pipeline = inThread(pipeline);
    }

    const sources: Source[] = [];
    try {
      this.sink = await createSinks(c.sinks, {
        log: this.log,
        metrics: (name) => this.metrics.sinkMetrics(name),
        stdout: this.opts.stdout,
      });
      for (const [i, sc] of c.sources.entries()) {
        this.readySources.push(false);
        sources.push(sc.type === 'kinesis' ? this.kinesisSource(sc, i, saved?.positions) : this.liveTailSource(sc, i));
      }
      if (c.http.enabled) {
        this.ops = await startOpsServer(c.http, this.metrics.registry, {
          healthy: () => this.failure === undefined,
          ready: () => this.ready,
          detail: () => this.detail(),
        });
        this.log.info({ url: this.ops.url }, 'serving /healthz /readyz /metrics');
      }
    } catch (err) {
      await this.sink?.close().catch(() => undefined);
      await this.deadLetterFile?.close().catch(() => undefined);
      await this.pipeline.close();
      this.stateStore?.close();
      throw err;
    }

    this.log.info(
      {
        sources: c.sources.map((s) => (s.type === 'kinesis' ? { type: s.type, stream: s.streamName, application: s.applicationName, efo: s.efo } : { type: s.type, logGroups: s.logGroups })),
        sinks: c.sinks.map((s) => (s.type === 'webhook' ? { type: s.type, url: redactUrl(s.url), format: s.format } : { type: s.type })),
        state: this.stateStore?.location,
        deadLetters: c.deadLetters,
      },
      'starting',
    );

    this.runner = new Runner(new MergedSource(sources), this.pipeline, this.sink, {
      onBatch: (info) => this.afterBatch(info),
      onSinkError: (err, attempt) => {
        this.metrics.sinkErrors.inc();
        this.log.warn({ err: String(err), attempt }, 'sink write failed; retrying (the batch stays unacknowledged)');
      },
    });
    this.refreshTimer = setInterval(() => this.refreshGauges(), 1_000);
    this.refreshTimer.unref();
    this.runner.run().then(
      () => this.finish(undefined),
      (err: unknown) => this.finish(err),
    );
  }

  private kinesisSource(sc: KinesisSourceConfig, index: number, positions: StreamPositions | undefined): Source {
    const leases = new Set<string>();
    const source = new KinesisSource({
      stream: sc.streamName,
      application: sc.applicationName,
      workerId: sc.workerId,
      initialPosition: sc.initialPosition,
      mode: sc.efo ? 'efo' : 'polling',
      consumerName: sc.consumerName,
      kinesisEndpoint: sc.endpoint,
      dynamodbEndpoint: sc.dynamodbEndpoint,
      region: sc.region,
      failoverMs: sc.failover,
      maxLeases: sc.maxLeases,
      checkpointIntervalMs: sc.checkpointInterval,
      maxPendingBatches: sc.maxPendingBatches,
      maxPendingBytes: sc.maxPendingBytes,
      retryBudgetMs: sc.retryBudget,
      callTimeoutMs: sc.callTimeout,
      closeTimeoutMs: this.config.shutdownTimeout,
      polling: { minIntervalMs: sc.pollInterval, idleIntervalMs: sc.idleInterval, maxRecordsPerCall: sc.maxRecordsPerFetch },
      onEvent: (e) => this.kinesisEvent(e, index, leases),
    });
    this.kinesis.push(source);
    this.leaseCount.set(source, leases);
    // Shards catching up are merged in arrival order (a function's log streams can be on several
    // shards), holding at most half of what the source may have in flight.
    const merged = new ShardMerge(source, { maxHeldBatches: Math.max(1, Math.min(16, Math.floor(sc.maxPendingBatches / 2))) });
    const tracked = new PositionTracker(merged, sc.streamName, positions);
    this.trackers.push(tracked);
    return tracked;
  }

  private liveTailSource(sc: LiveTailSourceConfig, index: number): Source {
    const source = new LiveTailSource(createLogsClient({ endpoint: sc.endpoint, region: sc.region }), {
      logGroups: sc.logGroups,
      filterPattern: sc.filterPattern,
      onEvent: (e) => this.liveTailEvent(e, index),
    });
    this.liveTails.push(source);
    return source;
  }

  private kinesisEvent(e: KinesisSourceEvent, index: number, leases: Set<string>): void {
    switch (e.type) {
      case 'lease-acquired':
        leases.add(e.shard);
        this.metrics.leaseEvents.inc({ event: 'acquired' });
        if (!this.readySources[index]) {
          this.readySources[index] = true;
          if (this.ready) {
            this.metrics.ready.set(1);
            this.log.info('ready: consuming');
          }
        }
        this.log.info({ shard: e.shard, checkpoint: e.checkpoint }, 'lease acquired');
        break;
      case 'lease-lost':
        leases.delete(e.shard);
        this.metrics.lag.remove({ shard: e.shard });
        this.metrics.leaseEvents.inc({ event: 'lost' });
        this.log.warn({ shard: e.shard, reason: e.reason }, 'lease lost');
        break;
      case 'lease-released':
        leases.delete(e.shard);
        this.metrics.leaseEvents.inc({ event: 'released' });
        this.log.info({ shard: e.shard }, 'lease released');
        break;
      case 'shard-end':
        leases.delete(e.shard);
        this.metrics.lag.remove({ shard: e.shard });
        this.log.info({ shard: e.shard, children: e.children }, 'shard finished');
        break;
      case 'checkpoint':
        this.metrics.checkpoints.inc();
        this.log.debug({ shard: e.shard, sequence: e.sequence }, 'checkpoint');
        break;
      case 'lag':
        this.metrics.lag.set({ shard: e.shard }, e.millisBehindLatest);
        break;
      case 'throttled':
        this.metrics.throttled.inc();
        this.log.debug({ shard: e.shard, operation: e.operation, delayMs: e.delayMs }, 'throttled');
        break;
      case 'retry':
        this.metrics.sourceRetries.inc();
        this.log.warn({ shard: e.shard, operation: e.operation, error: e.error, delayMs: e.delayMs }, 'retrying');
        break;
      default:
        this.log.debug(e, e.type);
    }
  }

  private liveTailEvent(e: LiveTailEvent, index: number): void {
    if (e.type === 'session-start' && !this.readySources[index]) {
      this.readySources[index] = true;
      if (this.ready) this.metrics.ready.set(1);
    }
    this.log.info(e, `live tail ${e.type}`);
  }

  private deadLetter(dl: DeadLetter): void {
    this.deadLetters++;
    this.metrics.parseError(dl);
    if (this.deadLetterFile) {
      this.deadLetterFile.write(dl);
      this.metrics.deadLetters.inc();
    }
    // One line per 10 s at most: a stream of garbage must not become a stream of log lines.
    const now = Date.now();
    if (now - this.lastDeadLetterLog >= 10_000) {
      this.lastDeadLetterLog = now;
      this.log.warn(
        { reason: dl.reason, detail: dl.detail, position: dl.position, total: this.deadLetters, file: this.config.deadLetters },
        this.deadLetterFile ? 'records dead-lettered' : 'records rejected (set deadLetters in the config to keep them)',
      );
    }
  }

  private async afterBatch(info: { items: number; alerts: number; ms: number }): Promise<void> {
    this.lastBatchAt = Date.now();
    this.metrics.batches.inc();
    this.metrics.batchSeconds.observe(info.ms / 1000);
    this.metrics.observeCounts(this.pipeline.counts);
    if (this.alertBuffer.length > 0) this.opts.onAlerts?.(this.alertBuffer.splice(0));
    // A flood of bad records waits for the dead-letter file instead of growing its buffer.
    await this.deadLetterFile?.drained();
    const state = this.config.state;
    if (state && performance.now() - this.lastSnapshot >= state.snapshotInterval) await this.snapshot();
  }

  /** Writes the baselines and the positions they hold; only between batches, where both agree. */
  private async snapshot(): Promise<void> {
    const store = this.stateStore;
    if (!store) return;
    this.lastSnapshot = performance.now();
    const t0 = performance.now();
    const positions: StreamPositions = {};
    for (const t of this.trackers) Object.assign(positions, t.processed());
    try {
      const learned = await this.pipeline.state();
      this.statePath = await store.save(serviceSnapshot(learned.baseline, positions, learned.openAlerts));
      this.snapshots++;
      this.metrics.snapshots.inc();
      this.log.debug({ path: this.statePath, ms: Math.round(performance.now() - t0) }, 'baselines snapshotted');
    } catch (err) {
      this.log.error({ state: store.location, err: err instanceof Error ? err.message : String(err) }, 'cannot snapshot baselines; will retry at the next interval');
    }
  }

  /** The runner ended: after stop(), at the end of every source, or on a failure. */
  private async finish(err: unknown): Promise<void> {
    clearInterval(this.refreshTimer);
    if (err !== undefined) {
      this.failure = err;
      this.metrics.ready.set(0);
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'source failed; stopping');
      // Stop the other sources too (releases leases); the runner has left its loop.
      await this.runner.stop().catch(() => undefined);
      await this.sink.flush().catch(() => undefined);
    }
    this.metrics.observeCounts(this.pipeline.counts);
    await this.snapshot();
    const closing = await Promise.allSettled([this.sink.close(), this.deadLetterFile?.close(), this.ops?.close(), this.pipeline.close()]);
    this.stateStore?.close();
    const summary: ServiceSummary = {
      counts: this.pipeline.counts,
      skipped: this.skipped(),
      batches: this.runner.batches,
      alerts: this.runner.alerts,
      deadLetters: this.deadLetters,
      snapshots: this.snapshots,
      wallMs: Math.round(performance.now() - this.started),
      statePath: this.statePath,
    };
    this.log.info({ ...summary, counts: { ...summary.counts } }, 'stopped');
    const closeFailure = closing.find((r) => r.status === 'rejected');
    if (err !== undefined) this.rejectDone(err);
    else if (closeFailure) this.rejectDone((closeFailure as PromiseRejectedResult).reason);
    else this.resolveDone(summary);
  }

  private skipped(): number {
    let n = 0;
    for (const t of this.trackers) n += t.skipped;
    return n;
  }

  private refreshGauges(): void {
    let leases = 0;
    for (const set of this.leaseCount.values()) leases += set.size;
    this.metrics.leases.set(leases);
    this.metrics.functions.set(this.pipeline.functions);
    const w = this.pipeline.watermark;
    if (Number.isFinite(w)) this.metrics.eventTime.set(w / 1000);
  }

  private detail(): Record<string, unknown> {
    let leases = 0;
    for (const set of this.leaseCount.values()) leases += set.size;
    return {
      ready: this.ready,
      stopping: this.stopping,
      leases,
      records: this.recordsSeen,
      ...(this.failure !== undefined ? { error: this.failure instanceof Error ? this.failure.message : String(this.failure) } : {}),
    };
  }
}

/**
 * SIGTERM/SIGINT: the first starts a graceful stop, a second exits at once (128 + signal number),
 * and a stop that outlasts `timeoutMs` exits 1. Returns the remover.
 *
 * @example
 * const remove = handleSignals(service);
 * await service.done;
 * remove();
 */
export function handleSignals(service: Service, timeoutMs = service.config.shutdownTimeout + 5_000): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    if (received > 1) {
      service.log.warn({ signal }, 'second signal: exiting now without draining');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    service.log.info({ signal }, 'signal received: stopping (send it again to exit at once)');
    const timer = setTimeout(() => {
      service.log.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    void service.stop(signal).finally(() => clearTimeout(timer));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
