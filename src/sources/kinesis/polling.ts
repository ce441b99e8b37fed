/**
 * Reading a shard with GetShardIterator/GetRecords, within the per-shard limits every polling
 * consumer shares: at most 5 GetRecords calls/s (a minimum spacing, 200 ms by default, and an idle
 * wait once the shard is drained, growing from that spacing to 1 s by default: see {@link idleWait})
 * and 2 MB/s (after a response of B bytes the next call waits B / 2 MB/s). Throttling is retried
 * with backoff for as long as it lasts; an expired iterator is renewed after the last record handed
 * out; dropped connections are retried for a bounded time.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { awsErrorName, errorDetail, isAbort, isThrottle, isTransient, kinesisError, withTimeout } from './errors.ts';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  pause,
  recordBytes,
  type Backoff,
  type Fetched,
  type KinesisSourceEvent,
  type ShardReader,
  type StartPosition,
} from './reader.ts';

export interface PollingOptions {
  /**
   * Longest wait after an empty response (default 1000 ms). Right after a response with records the
   * shard is live, so the first empty response is followed by only {@link minIntervalMs}; each
   * further empty one doubles the wait, up to this. See {@link idleWait}.
   */
  idleIntervalMs?: number;
  /** Shortest time between two GetRecords calls on one shard (default 200 ms: 5 calls/s) */
  minIntervalMs?: number;
  /** Read budget per shard (default 2 MiB/s) */
  maxBytesPerSecond?: number;
  /** GetRecords `Limit` (default 10,000, the maximum) */
  maxRecordsPerCall?: number;
  /** Backoff on throttling and transient errors */
  backoff?: Backoff;
  /** Transient errors (connections, 5xx) are retried for this long, then the source fails (default 30 s) */
  retryBudgetMs?: number;
  /** A call without an answer after this long counts as a transient failure (default 10 s) */
  callTimeoutMs?: number;
}

/**
 * The wait imposed by idleness after the `emptyStreak`-th consecutive empty GetRecords response (0:
 * the last response had records, no idle wait): `minMs`, then doubling, capped at `idleMs`.
 *
 * Why adaptive: a consumer at the tip of a quiet or bursty shard sees empty responses between
 * records. A flat 1 s wait after each of them puts up to a second between a PutRecords and the
 * GetRecords that reads it; polling at the 200 ms floor right after records, and backing off to
 * `idleMs` within a few calls once the shard stays empty, keeps that wait short without spending a
 * quiet shard's 5 calls/s (shared by every consumer of the shard).
 *
 * @example
 * idleWait(0, 200, 1000); // → 0 (records: no idle wait)
 * idleWait(1, 200, 1000); // → 200
 * idleWait(3, 200, 1000); // → 800
 * idleWait(Infinity, 200, 1000); // → 1000 (a reader that has not seen records yet)
 */
export function idleWait(emptyStreak: number, minMs: number, idleMs: number): number {
  if (emptyStreak <= 0) return 0;
  return Math.min(idleMs, Math.max(minMs, 1) * 2 ** Math.min(emptyStreak - 1, 30));
}

/**
 * @example
 * const reader = new PollingReader(kinesis, 'fnwatch-logs', 'http://127.0.0.1:4567', {}, console.log);
 * for await (const f of reader.read('shardId-000000000000', { type: 'TRIM_HORIZON' }, signal)) console.log(f.records.length);
 */
export class PollingReader implements ShardReader {
  private readonly idleMs: number;
  private readonly minMs: number;
  private readonly bytesPerMs: number;
  private readonly limit: number;
  private readonly backoff: Backoff;
  private readonly budgetMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: string,
    private readonly endpoint: string,
    opts: PollingOptions = {},
    private readonly report: (e: KinesisSourceEvent) => void = () => {},
  ) {
    this.idleMs = opts.idleIntervalMs ?? 1_000;
    this.minMs = opts.minIntervalMs ?? 200;
    this.bytesPerMs = (opts.maxBytesPerSecond ?? 2 * 1024 * 1024) / 1000;
    this.limit = opts.maxRecordsPerCall ?? 10_000;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.budgetMs = opts.retryBudgetMs ?? 30_000;
    this.timeoutMs = opts.callTimeoutMs ?? 10_000;
  }

  async *read(shardId: string, start: StartPosition, signal: AbortSignal): AsyncGenerator<Fetched, void, void> {
    let last: string | undefined;
    let iterator = await this.iterator(shardId, start, signal);
    let notBefore = 0;
    let failures = 0;
    let failingSince: number | undefined;
    // Empty responses since the last one with records; a fresh reader starts as if idle.
    let emptyStreak = Infinity;
    while (iterator !== undefined && !signal.aborted) {
      if (!(await pause(notBefore - performance.now(), signal))) return;
      const calledAt = performance.now();
      let out: GetRecordsCommandOutput;
      try {
        const input = { ShardIterator: iterator, Limit: this.limit };
        out = await withTimeout(this.timeoutMs, signal, (abortSignal) => this.kinesis.send(new GetRecordsCommand(input), { abortSignal }));
        failures = 0;
        failingSince = undefined;
      } catch (err) {
        if (signal.aborted) return;
        const name = awsErrorName(err);
        if (name === 'ExpiredIteratorException') {
          const from: StartPosition = last === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequence: last };
          this.report({ type: 'iterator-renewed', shard: shardId, after: last });
          iterator = await this.iterator(shardId, from, signal);
          continue;
        }
        failures++;
        const delayMs = backoffDelay(failures, this.backoff);
        if (isThrottle(err)) {
          this.report({ type: 'throttled', shard: shardId, operation: 'GetRecords', delayMs });
        } else if (isTransient(err) || isAbort(err)) {
          failingSince ??= calledAt;
          if (calledAt - failingSince >= this.budgetMs) throw kinesisError(err, 'GetRecords', this.stream, this.endpoint);
          this.report({ type: 'retry', shard: shardId, operation: 'GetRecords', error: `${name}: ${errorDetail(err)}`, delayMs });
        } else {
          throw kinesisError(err, `GetRecords (${shardId})`, this.stream, this.endpoint);
        }
        notBefore = performance.now() + delayMs;
        continue;
      }

      const records = out.Records ?? [];
      let bytes = 0;
      for (const r of records) bytes += recordBytes(r);
      if (out.MillisBehindLatest !== undefined) this.report({ type: 'lag', shard: shardId, millisBehindLatest: out.MillisBehindLatest });
      emptyStreak = records.length > 0 ? 0 : emptyStreak + 1;
      notBefore = calledAt + Math.max(this.minMs, bytes / this.bytesPerMs, idleWait(emptyStreak, this.minMs, this.idleMs));
      iterator = out.NextShardIterator ?? undefined;
      const end = iterator === undefined;
      if (records.length > 0) last = records[records.length - 1]!.SequenceNumber;
      if (records.length > 0 || end) {
        yield {
          records,
          bytes,
          millisBehindLatest: out.MillisBehindLatest,
          end,
          childShardIds: out.ChildShards?.map((c) => c.ShardId!).filter(Boolean),
        };
      }
    }
  }

  /** GetShardIterator, retried on throttling (5 calls/s per shard) and, for a bounded time, on transient errors. */
  private async iterator(shardId: string, from: StartPosition, signal: AbortSignal): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = { StreamName: this.stream, ShardId: shardId, ShardIteratorType: from.type };
    if (from.type === 'AFTER_SEQUENCE_NUMBER') input.StartingSequenceNumber = from.sequence;
    if (from.type === 'AT_TIMESTAMP') input.Timestamp = new Date(from.timestamp ?? 0);
    let failures = 0;
    const started = performance.now();
    for (;;) {
      try {
        const out = await withTimeout(this.timeoutMs, signal, (abortSignal) => this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal }));
        return out.ShardIterator ?? undefined;
      } catch (err) {
        if (signal.aborted) return undefined;
        failures++;
        const delayMs = backoffDelay(failures, this.backoff);
        if (isThrottle(err)) {
          this.report({ type: 'throttled', shard: shardId, operation: 'GetShardIterator', delayMs });
        } else if ((isTransient(err) || isAbort(err)) && performance.now() - started < this.budgetMs) {
          this.report({ type: 'retry', shard: shardId, operation: 'GetShardIterator', error: `${awsErrorName(err)}: ${errorDetail(err)}`, delayMs });
        } else {
          throw kinesisError(err, `GetShardIterator (${shardId})`, this.stream, this.endpoint);
        }
        if (!(await pause(delayMs, signal))) return undefined;
      }
    }
  }
}
