/**
 * One owned shard: wait until its parents are finished, read it, turn each fetch into a Batch,
 * checkpoint over contiguous acknowledged batches, and at the shard's end wait for every batch to be
 * acknowledged before the end is recorded (so children, and per-key order, come after the parent).
 */
import type { Batch, SourceItem } from '../../core/contracts.ts';
import { FnwatchError } from '../../core/contracts.ts';
import { AckTracker } from './ack-tracker.ts';
import type { BatchQueue } from './batch-queue.ts';
import type { LeaseManager } from './lease-manager.ts';
import { SHARD_END, type Lease, type LeaseTable } from './lease-table.ts';
import { describePosition, pause, startFromCheckpoint, type Fetched, type KinesisSourceEvent, type ShardReader } from './reader.ts';

/** A batch in the queue, with what the source needs to settle it exactly once. */
export interface QueuedBatch {
  batch: Batch;
  owner: ShardConsumer;
  bytes: number;
  ticket: number;
  /** Handed to the consumer of `batches()` */
  delivered: boolean;
  /** Acknowledged or dropped: its room in the queue is free again */
  settled: boolean;
}

/** What a shard consumer needs from its source. */
export interface ConsumerContext {
  reader: ShardReader;
  queue: BatchQueue<QueuedBatch>;
  leases: LeaseManager;
  table: LeaseTable;
  report(e: KinesisSourceEvent): void;
  /** The batch was acknowledged (called once per batch) */
  acked(entry: QueuedBatch): void;
  /** The batch was given back unprocessed: free its room, never checkpoint it */
  released(entry: QueuedBatch): void;
  /** Every batch up to the shard's end is acknowledged: record SHARD_END and move on to the children */
  finished(consumer: ShardConsumer): Promise<void>;
  /** A failure the source cannot continue after */
  fail(err: unknown): void;
  initialTimestamp?: number;
  parentPollMs: number;
  checkpointIntervalMs: number;
  checkpointRecords: number;
}

export type ConsumerState = 'waiting-for-parents' | 'reading' | 'draining' | 'ended' | 'stopped';

/**
 * @example
 * const c = new ShardConsumer(lease, ctx);
 * void c.run();          // until the shard ends, the lease is lost or the source closes
 * c.stopReading();       // at close; then await c.finalCheckpoint()
 */
export class ShardConsumer {
  readonly shardId: string;
  readonly tracker = new AckTracker();
  state: ConsumerState = 'waiting-for-parents';
  /** The shard is closed and every record was fetched */
  reachedEnd = false;
  children: string[] = [];
  /** The lease was taken away: acknowledgements no longer checkpoint */
  lost = false;
  records = 0;
  batches = 0;
  /** Last checkpoint written by this consumer */
  checkpointed: string | undefined;
  running: Promise<void> = Promise.resolve();

  private readonly abort = new AbortController();
  private writing: Promise<void> | undefined;
  private lastWriteAt = performance.now();
  private drainedWaiters: Array<() => void> = [];

  constructor(
    readonly lease: Lease,
    private readonly ctx: ConsumerContext,
  ) {
    this.shardId = lease.leaseKey;
  }

  /** Starts the loop; `running` settles when it ends. */
  start(): void {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    try {
      const start = startFromCheckpoint(this.lease.checkpoint, this.ctx.initialTimestamp);
      if (start === undefined) {
        this.reachedEnd = true;
        this.state = 'draining';
        await this.ctx.finished(this);
        return;
      }
      if (!(await this.waitForParents(signal))) return;
      this.state = 'reading';
      this.ctx.report({ type: 'shard-started', shard: this.shardId, position: describePosition(start) });
      const fetches = this.ctx.reader.read(this.shardId, start, signal);
      try {
        for (;;) {
          await this.ctx.queue.room(signal);
          if (signal.aborted) return;
          const next = await fetches.next();
          if (next.done) break;
          if (next.value.records.length > 0) this.emit(next.value);
          if (next.value.end) {
            this.reachedEnd = true;
            this.children = next.value.childShardIds ?? [];
            break;
          }
        }
      } finally {
        await fetches.return();
      }
      if (!this.reachedEnd) {
        if (!signal.aborted) throw new FnwatchError(`shard ${this.shardId}: reading stopped without reaching the shard's end`, true);
        return;
      }
      this.state = 'draining';
      if (!(await this.drained(signal))) return;
      await this.ctx.finished(this);
    } catch (err) {
      if (!signal.aborted) this.ctx.fail(err);
    }
  }

  /** A child is read only once every parent has checkpointed SHARD_END (a parent without a lease is gone). */
  private async waitForParents(signal: AbortSignal): Promise<boolean> {
    for (const parent of this.lease.parentShardIds) {
      for (;;) {
        if (signal.aborted) return false;
        const lease = await this.ctx.table.get(parent).catch((err: unknown) => {
          if (err instanceof FnwatchError && err.retriable) return 'retry' as const;
          throw err;
        });
        if (lease !== 'retry' && (lease === undefined || lease.checkpoint === SHARD_END)) break;
        if (!(await pause(this.ctx.parentPollMs, signal))) return false;
      }
    }
    return !signal.aborted;
  }

  private emit(f: Fetched): void {
    const n = f.records.length;
    const items: SourceItem[] = new Array(n);
    let watermark: number | undefined;
    for (let i = 0; i < n; i++) {
      const r = f.records[i]!;
      const arrival = r.ApproximateArrivalTimestamp?.getTime();
      items[i] = { type: 'payload', data: r.Data ?? new Uint8Array(0), position: { shard: this.shardId, sequence: r.SequenceNumber }, arrival };
      if (arrival !== undefined && (watermark === undefined || arrival > watermark)) watermark = arrival;
    }
    const ticket = this.tracker.add(f.records[n - 1]!.SequenceNumber!, n);
    const entry: QueuedBatch = { owner: this, bytes: f.bytes, ticket, delivered: false, settled: false, batch: undefined as unknown as Batch };
    entry.batch = { items, watermark, ack: () => this.ctx.acked(entry), release: () => this.ctx.released(entry) };
    this.records += n;
    this.batches++;
    this.ctx.queue.push(entry, f.bytes);
  }

  /** Called by the source when a batch of this consumer is acknowledged. */
  onAck(entry: QueuedBatch): void {
    if (this.lost) return;
    if (this.tracker.ack(entry.ticket)) void this.checkpointIfDue(false);
    if (this.tracker.outstanding === 0) this.wake();
  }

  /**
   * Writes the acknowledged prefix when enough records (or time) have accumulated since the last
   * write, or always with `force`. One write at a time per shard.
   */
  checkpointIfDue(force: boolean): Promise<void> {
    if (this.lost || this.writing || !this.tracker.dirty || this.tracker.committed === undefined) return this.writing ?? Promise.resolve();
    const due = this.tracker.unwrittenRecords >= this.ctx.checkpointRecords || performance.now() - this.lastWriteAt >= this.ctx.checkpointIntervalMs;
    if (!force && !due) return Promise.resolve();
    const sequence = this.tracker.committed;
    const records = this.tracker.unwrittenRecords;
    this.writing = (async () => {
      try {
        if (await this.ctx.leases.checkpoint(this.shardId, sequence)) {
          this.tracker.written(sequence, records);
          this.checkpointed = sequence;
          this.ctx.report({ type: 'checkpoint', shard: this.shardId, sequence });
        }
      } catch (err) {
        // A transient table error: the next ack or tick tries again; anything else stops the source.
        if (!(err instanceof FnwatchError && err.retriable)) this.ctx.fail(err);
      } finally {
        this.lastWriteAt = performance.now();
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  /**
   * At close, after in-flight batches had their chance to be acknowledged: record SHARD_END if the
   * shard is finished, else the acknowledged prefix; then give the lease up.
   */
  async finalCheckpoint(): Promise<void> {
    await this.writing;
    if (this.lost || this.state === 'ended') return;
    if (this.reachedEnd && this.tracker.outstanding === 0) {
      if (await this.ctx.leases.checkpoint(this.shardId, SHARD_END, { childShardIds: this.children, release: true })) {
        this.state = 'ended';
        this.ctx.report({ type: 'shard-end', shard: this.shardId, children: this.children });
      }
      return;
    }
    await this.checkpointIfDue(true);
    await this.ctx.leases.release(this.shardId);
    this.ctx.report({ type: 'lease-released', shard: this.shardId });
  }

  /** Stops fetching (close, lost lease, failure). Batches already handed out may still be acknowledged. */
  stopReading(): void {
    if (this.state !== 'ended') this.state = 'stopped';
    this.abort.abort();
    this.wake();
  }

  private drained(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (signal.aborted) resolve(false);
        else if (this.tracker.outstanding === 0) resolve(true);
        else this.drainedWaiters.push(check);
      };
      check();
    });
  }

  private wake(): void {
    const waiters = this.drainedWaiters.splice(0, this.drainedWaiters.length);
    for (const w of waiters) w();
  }
}
