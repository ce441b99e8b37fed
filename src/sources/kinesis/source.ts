/**
 * The Kinesis source of the long-lived service: leases shards in a DynamoDB lease table shared with
 * the other workers of the application, reads each owned shard (GetRecords polling, or enhanced
 * fan-out), hands out one Batch per fetch through a bounded queue, and checkpoints each shard over
 * contiguous acknowledged batches only (at-least-once).
 *
 * Failures that need a person (no such stream, no permission on the table, an endpoint that does not
 * answer) end `batches()` with a FnwatchError naming the stream, table or endpoint; throttling and
 * short outages are retried.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Batch, Source } from '../../core/contracts.ts';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import { BatchQueue } from './batch-queue.ts';
import { createDynamoClient, createKinesisClient, endpointLabel, type ClientOptions } from './clients.ts';
import { ShardConsumer, type ConsumerContext, type ConsumerState, type QueuedBatch } from './consumer.ts';
import { EfoReader, ensureStreamConsumer, type EfoOptions } from './efo.ts';
import { LeaseManager } from './lease-manager.ts';
import { LeaseTable, SHARD_END, type Lease } from './lease-table.ts';
import { PollingReader, type PollingOptions } from './polling.ts';
import { backoffDelay, type KinesisSourceEvent, type ShardReader } from './reader.ts';
import { childrenOf, syncShards, type InitialPosition } from './shard-sync.ts';

export interface KinesisSourceOptions {
  /** Stream name */
  stream: string;
  /** Application name: the lease table's name, and the default EFO consumer name */
  application: string;
  /** This worker's id in the lease table (default host:pid:random) */
  workerId?: string;
  /** Where a shard without checkpoint starts when the lease table is new (default TRIM_HORIZON) */
  initialPosition?: InitialPosition;
  /** `polling` (GetRecords, default) or `efo` (enhanced fan-out, SubscribeToShard) */
  mode?: 'polling' | 'efo';
  /** EFO consumer name (default: the application name) */
  consumerName?: string;

  /** Clients to use; otherwise created from the SDK default chain with {@link kinesisEndpoint} etc. */
  kinesis?: KinesisClient;
  dynamodb?: DynamoDBClient;
  /** Explicit endpoints and region for clients the source creates */
  kinesisEndpoint?: string;
  dynamodbEndpoint?: string;
  region?: string;
  /** SDK attempts per call for clients the source creates (SDK default 3) */
  maxAttempts?: number;

  /** A lease not renewed for this long is taken over (default 10 s) */
  failoverMs?: number;
  /** Lease heartbeat (default failover/3) */
  renewIntervalMs?: number;
  /** Balancing passes (default failover) */
  takeIntervalMs?: number;
  /** Most shards this worker reads (default unlimited) */
  maxLeases?: number;
  /** How often a child checks whether its parents are finished (default 1 s) */
  parentPollMs?: number;

  /** Checkpoint a shard once this much time passed since its last checkpoint (default 5 s) … */
  checkpointIntervalMs?: number;
  /** … or once this many acknowledged records are not yet checkpointed (default 5,000) */
  checkpointRecords?: number;

  /** Batches fetched and not yet acknowledged, across shards (default 32) */
  maxPendingBatches?: number;
  /** Bytes fetched and not yet acknowledged (default 64 MiB) */
  maxPendingBytes?: number;

  polling?: PollingOptions;
  efo?: EfoOptions;
  /** Transient failures (connections, 5xx) are retried for this long, then the source fails (default 30 s) */
  retryBudgetMs?: number;
  /** An AWS call without an answer after this long counts as a transient failure (default 10 s) */
  callTimeoutMs?: number;
  /** `close()` waits this long for batches already handed out to be acknowledged (default 10 s) */
  closeTimeoutMs?: number;
  /** Progress and trouble, as it happens (metrics, logs) */
  onEvent?: (e: KinesisSourceEvent) => void;
}

/** Per-shard state, for health and metrics. */
export interface ShardStats {
  state: ConsumerState;
  millisBehindLatest?: number;
  records: number;
  batches: number;
  /** Last checkpoint this worker wrote */
  checkpoint?: string;
  /** Batches handed out and not acknowledged (or acknowledged behind an older one) */
  unacked: number;
}

export interface KinesisSourceStats {
  workerId: string;
  shards: Record<string, ShardStats>;
  pendingBatches: number;
  pendingBytes: number;
  throttled: number;
  iteratorRenewals: number;
  leasesLost: number;
}

/**
 * @example
 * const source = new KinesisSource({ stream: 'fnwatch-logs', application: 'fnwatch-prod' });
 * for await (const batch of source.batches()) {
 *   pipeline.processBatch(batch.items);
 *   await batch.ack();
 * }
 * // elsewhere, on SIGTERM:
 * await source.close();
 */
export class KinesisSource implements Source {
  readonly name: string;
  readonly workerId: string;

  private readonly opts: KinesisSourceOptions;
  private readonly kinesis: KinesisClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly queue: BatchQueue<QueuedBatch>;
  private readonly consumers = new Map<string, ShardConsumer>();
  private readonly lag = new Map<string, number>();
  private readonly counters = { throttled: 0, iteratorRenewals: 0, leasesLost: 0 };
  private kinesisEndpoint = 'Kinesis';
  private table: LeaseTable | undefined;
  private leases: LeaseManager | undefined;
  private reader: ShardReader | undefined;
  private context: ConsumerContext | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private failure: unknown;
  private inFlight = 0;
  private inFlightWaiters: Array<() => void> = [];

  constructor(opts: KinesisSourceOptions) {
    this.opts = validate(opts);
    this.name = `kinesis:${opts.stream}`;
    this.workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const client: ClientOptions = { region: opts.region, maxAttempts: opts.maxAttempts };
    this.kinesis = opts.kinesis ?? createKinesisClient({ ...client, endpoint: opts.kinesisEndpoint });
    this.dynamodb = opts.dynamodb ?? createDynamoClient({ ...client, endpoint: opts.dynamodbEndpoint });
    this.queue = new BatchQueue(opts.maxPendingBatches ?? 32, opts.maxPendingBytes ?? 64 * 1024 * 1024);
  }

  /**
   * Batches from every shard this worker holds, in shard order per shard. Ends after `close()`;
   * throws a FnwatchError when the source cannot go on. Call once.
   */
  async *batches(): AsyncGenerator<Batch, void, void> {
    if (this.started) throw new FnwatchError(`${this.name}: batches() may only be called once`);
    this.started = true;
    if (this.closing) return;
    try {
      try {
        await this.start();
      } catch (err) {
        // close() during start-up destroys the clients under it: that is an end, not a failure.
        if (this.closing) return;
        throw err;
      }
      for (;;) {
        const entry = await this.queue.take();
        if (entry === undefined) return;
        entry.delivered = true;
        this.inFlight++;
        yield entry.batch;
      }
    } finally {
      // Nobody reads any more (loop left, failure): stop fetching and give the leases back.
      void this.close();
    }
  }

  /** Lag, progress and queue state. */
  stats(): KinesisSourceStats {
    const shards: Record<string, ShardStats> = {};
    for (const [id, c] of this.consumers) {
      shards[id] = {
        state: c.state,
        millisBehindLatest: this.lag.get(id),
        records: c.records,
        batches: c.batches,
        checkpoint: c.checkpointed,
        unacked: c.tracker.outstanding,
      };
    }
    return { workerId: this.workerId, shards, pendingBatches: this.queue.pending, pendingBytes: this.queue.bytes, ...this.counters };
  }

  /**
   * Stops fetching, waits (bounded) for batches already handed out to be acknowledged, writes the
   * final checkpoints and releases the leases. Batches still queued are discarded: they were not
   * acknowledged, so the next owner reads them again.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async start(): Promise<void> {
    const o = this.opts;
    this.kinesisEndpoint = await endpointLabel(this.kinesis, 'kinesis');
    const callTimeoutMs = o.callTimeoutMs ?? 10_000;
    const table = new LeaseTable(this.dynamodb, o.application, await endpointLabel(this.dynamodb, 'dynamodb'), callTimeoutMs);
    this.table = table;
    await table.ensure();
    const report = (e: KinesisSourceEvent): void => this.report(e);
    if ((o.mode ?? 'polling') === 'efo') {
      const arn = await ensureStreamConsumer(this.kinesis, o.stream, o.consumerName ?? o.application, this.kinesisEndpoint, 60_000, callTimeoutMs);
      this.reader = new EfoReader(this.kinesis, arn, o.stream, this.kinesisEndpoint, { retryBudgetMs: o.retryBudgetMs, ...o.efo }, report);
    } else {
      const polling = { retryBudgetMs: o.retryBudgetMs, callTimeoutMs, ...o.polling };
      this.reader = new PollingReader(this.kinesis, o.stream, this.kinesisEndpoint, polling, report);
    }
    await syncShards(this.kinesis, table, o.stream, o.initialPosition ?? 'TRIM_HORIZON', this.kinesisEndpoint, callTimeoutMs);
    if (this.closing) return;

    const failoverMs = o.failoverMs ?? 10_000;
    this.leases = new LeaseManager(
      table,
      {
        workerId: this.workerId,
        failoverMs,
        renewIntervalMs: o.renewIntervalMs,
        takeIntervalMs: o.takeIntervalMs,
        maxLeases: o.maxLeases,
        retryBudgetMs: o.retryBudgetMs,
      },
      {
        acquired: (lease) => this.acquired(lease),
        lost: (key, reason) => this.lost(key, reason),
        failed: (err) => this.fail(err),
      },
    );
    const initial = o.initialPosition;
    this.context = {
      reader: this.reader,
      queue: this.queue,
      leases: this.leases,
      table,
      report,
      acked: (entry) => this.acked(entry),
      released: (entry) => void this.settle(entry),
      finished: (c) => this.finished(c),
      fail: (err) => this.fail(err),
      initialTimestamp: typeof initial === 'object' ? initial.timestamp : undefined,
      parentPollMs: o.parentPollMs ?? 1_000,
      checkpointIntervalMs: o.checkpointIntervalMs ?? 5_000,
      checkpointRecords: o.checkpointRecords ?? 5_000,
    };
    const tick = Math.min(1_000, this.context.checkpointIntervalMs);
    this.checkpointTimer = setInterval(() => {
      for (const c of this.consumers.values()) void c.checkpointIfDue(false);
    }, tick);
    this.leases.start();
  }

  private acquired(lease: Lease): void {
    if (this.closing || this.failure !== undefined || !this.context) {
      void this.leases?.release(lease.leaseKey);
      return;
    }
    const consumer = new ShardConsumer(lease, this.context);
    this.consumers.set(lease.leaseKey, consumer);
    this.report({ type: 'lease-acquired', shard: lease.leaseKey, checkpoint: lease.checkpoint });
    consumer.start();
  }

  /** Another worker has the lease now: stop at once, checkpoint nothing, drop what was not handed out. */
  private lost(key: string, reason: string): void {
    const consumer = this.consumers.get(key);
    this.counters.leasesLost++;
    this.report({ type: 'lease-lost', shard: key, reason });
    if (!consumer) return;
    consumer.lost = true;
    consumer.stopReading();
    this.consumers.delete(key);
    this.lag.delete(key);
    for (const e of this.queue.drop((e) => e.owner === consumer)) e.settled = true;
  }

  private acked(entry: QueuedBatch): void {
    if (this.settle(entry)) entry.owner.onAck(entry);
  }

  /** Frees a batch's room and its in-flight count, once (acknowledged, or given back by `release`). */
  private settle(entry: QueuedBatch): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    this.queue.release(entry.bytes);
    if (entry.delivered) {
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.inFlightWaiters.splice(0)) w();
    }
    return true;
  }

  /** A shard is finished and fully acknowledged: create its children's leases, record SHARD_END, rebalance. */
  private async finished(c: ShardConsumer): Promise<void> {
    const { table, leases } = this;
    if (!table || !leases) return;
    const { stream, initialPosition, callTimeoutMs, retryBudgetMs } = this.opts;
    const started = performance.now();
    for (let attempt = 1; !this.closing && !c.lost; attempt++) {
      try {
        const { shards } = await syncShards(this.kinesis, table, stream, initialPosition ?? 'TRIM_HORIZON', this.kinesisEndpoint, callTimeoutMs);
        if (this.closing || c.lost) return;
        c.children = c.children.length > 0 ? c.children : childrenOf(shards, c.shardId);
        if (await leases.checkpoint(c.shardId, SHARD_END, { childShardIds: c.children, release: true })) {
          c.state = 'ended';
          c.checkpointed = SHARD_END;
          this.consumers.delete(c.shardId);
          this.lag.delete(c.shardId);
          this.report({ type: 'shard-end', shard: c.shardId, children: c.children });
        }
        void leases.takePass();
        return;
      } catch (err) {
        const retriable = err instanceof FnwatchError && err.retriable;
        if (!retriable || performance.now() - started >= (retryBudgetMs ?? 30_000)) throw err;
        const delayMs = backoffDelay(attempt);
        this.report({ type: 'retry', shard: c.shardId, operation: 'shard end', error: (err as Error).message, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private fail(err: unknown): void {
    if (this.closing || this.failure !== undefined) return;
    this.failure = err;
    clearInterval(this.checkpointTimer);
    this.leases?.stopRenewing();
    for (const c of this.consumers.values()) c.stopReading();
    this.queue.fail(err instanceof FnwatchError ? err : new FnwatchError(`${this.name}: ${String(err)}`));
    // Best effort: free the leases now rather than after the failover time.
    void this.leases?.releaseAll();
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.checkpointTimer);
    this.leases?.stopTaking();
    for (const c of this.consumers.values()) c.stopReading();
    for (const e of this.queue.close()) e.settled = true;
    if (this.failure === undefined && this.leases) {
      await this.waitInFlight(this.opts.closeTimeoutMs ?? 10_000);
      await Promise.all(
        [...this.consumers.values()].map((c) =>
          c.finalCheckpoint().catch(() => {
            // Unwritten progress is read again by the next owner: at-least-once.
          }),
        ),
      );
      await this.leases.releaseAll();
    }
    this.leases?.stopRenewing();
    await Promise.all([...this.consumers.values()].map((c) => c.running));
    this.consumers.clear();
    // Clients passed in belong to the caller.
    if (!this.opts.kinesis) this.kinesis.destroy();
    if (!this.opts.dynamodb) this.dynamodb.destroy();
  }

  private waitInFlight(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.inFlightWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private report(e: KinesisSourceEvent): void {
    if (e.type === 'lag') this.lag.set(e.shard, e.millisBehindLatest);
    else if (e.type === 'throttled') this.counters.throttled++;
    else if (e.type === 'iterator-renewed') this.counters.iteratorRenewals++;
    this.opts.onEvent?.(e);
  }
}

function validate(o: KinesisSourceOptions): KinesisSourceOptions {
  if (!o.stream) throw new UsageError('kinesis source: a stream name is required');
  if (!o.application) throw new UsageError('kinesis source: an application name (the lease table) is required');
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(o.application)) {
    throw new UsageError(`kinesis source: application name "${o.application}" is not a valid DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)`);
  }
  const positive: Array<keyof KinesisSourceOptions> = [
    'failoverMs',
    'renewIntervalMs',
    'takeIntervalMs',
    'maxLeases',
    'parentPollMs',
    'checkpointIntervalMs',
    'checkpointRecords',
    'maxPendingBatches',
    'maxPendingBytes',
    'retryBudgetMs',
    'callTimeoutMs',
    'closeTimeoutMs',
  ];
  for (const k of positive) {
    const v = o[k];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new UsageError(`kinesis source: ${k} must be a positive number, got ${JSON.stringify(v)}`);
    }
  }
  const initial = o.initialPosition;
  if (initial !== undefined && initial !== 'TRIM_HORIZON' && initial !== 'LATEST' && !(typeof initial === 'object' && Number.isFinite(initial.timestamp))) {
    throw new UsageError(`kinesis source: initialPosition must be TRIM_HORIZON, LATEST or { timestamp: epoch ms }, got ${JSON.stringify(initial)}`);
  }
  if (o.mode !== undefined && o.mode !== 'polling' && o.mode !== 'efo') throw new UsageError(`kinesis source: mode must be "polling" or "efo", got "${String(o.mode)}"`);
  return Object.freeze({ ...o });
}
