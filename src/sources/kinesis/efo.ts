/**
 * Enhanced fan-out: a registered stream consumer gets its own 2 MB/s per shard, pushed over
 * SubscribeToShard. A subscription lasts about 5 minutes; it is renewed from the last
 * ContinuationSequenceNumber handed out (AFTER_SEQUENCE_NUMBER), on schedule and after errors. The
 * shard ends with an event that has ChildShards and no continuation.
 *
 * Backpressure is the event stream's own: the next event is read only when the caller asks for it,
 * and HTTP flow control holds the service back meanwhile.
 */
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
} from '@aws-sdk/client-kinesis';
import { FnwatchError } from '../../core/contracts.ts';
import { awsErrorName, errorDetail, isAbort, isThrottle, isTransient, kinesisError, withTimeout } from './errors.ts';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  describePosition,
  pause,
  recordBytes,
  type Backoff,
  type Fetched,
  type KinesisSourceEvent,
  type ShardReader,
  type StartPosition,
} from './reader.ts';

export interface EfoOptions {
  /** Renew each subscription after this long (default 290 s; the service ends one after ~5 min) */
  renewAfterMs?: number;
  /** Backoff after a failed subscription (at least 1 s: one SubscribeToShard per second per shard) */
  backoff?: Backoff;
  /** Transient errors are retried for this long, then the source fails (default 30 s) */
  retryBudgetMs?: number;
}

/**
 * Registers the stream consumer (or finds the existing one) and waits until it is ACTIVE.
 * Returns its ARN.
 *
 * @example
 * const arn = await ensureStreamConsumer(kinesis, 'fnwatch-logs', 'fnwatch', endpoint);
 */
export async function ensureStreamConsumer(
  kinesis: KinesisClient,
  stream: string,
  consumerName: string,
  endpoint: string,
  timeoutMs = 60_000,
  callTimeoutMs = 10_000,
): Promise<string> {
  const limited = <T>(send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => withTimeout(callTimeoutMs, undefined, send);
  let streamArn: string;
  try {
    const describe = new DescribeStreamSummaryCommand({ StreamName: stream });
    const out = await limited((abortSignal) => kinesis.send(describe, { abortSignal }));
    streamArn = out.StreamDescriptionSummary!.StreamARN!;
  } catch (err) {
    throw kinesisError(err, 'DescribeStreamSummary', stream, endpoint);
  }
  let arn: string | undefined;
  let status: string | undefined;
  try {
    const register = new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName });
    const out = await limited((abortSignal) => kinesis.send(register, { abortSignal }));
    arn = out.Consumer?.ConsumerARN;
    status = out.Consumer?.ConsumerStatus;
  } catch (err) {
    // Registered before (by this worker's earlier run or another worker): use it.
    if (awsErrorName(err) !== 'ResourceInUseException') throw kinesisError(err, 'RegisterStreamConsumer', stream, endpoint);
  }
  const deadline = Date.now() + timeoutMs;
  while (status !== 'ACTIVE') {
    if (arn !== undefined) await new Promise((r) => setTimeout(r, 200));
    try {
      const describe = new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName });
      const out = await limited((abortSignal) => kinesis.send(describe, { abortSignal }));
      arn = out.ConsumerDescription?.ConsumerARN;
      status = out.ConsumerDescription?.ConsumerStatus;
    } catch (err) {
      if (!isThrottle(err)) throw kinesisError(err, 'DescribeStreamConsumer', stream, endpoint);
    }
    if (status === 'DELETING') throw new FnwatchError(`stream consumer "${consumerName}" of "${stream}" is being deleted at ${endpoint}`, true, 'consumer-deleting');
    if (Date.now() > deadline) throw new FnwatchError(`stream consumer "${consumerName}" of "${stream}" not ACTIVE after ${timeoutMs} ms at ${endpoint}`, true);
  }
  return arn!;
}

/**
 * @example
 * const reader = new EfoReader(kinesis, consumerArn, 'fnwatch-logs', endpoint);
 * for await (const f of reader.read('shardId-000000000000', { type: 'TRIM_HORIZON' }, signal)) console.log(f.records.length);
 */
export class EfoReader implements ShardReader {
  private readonly renewAfterMs: number;
  private readonly backoff: Backoff;
  private readonly budgetMs: number;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly consumerArn: string,
    private readonly stream: string,
    private readonly endpoint: string,
    opts: EfoOptions = {},
    private readonly report: (e: KinesisSourceEvent) => void = () => {},
  ) {
    this.renewAfterMs = opts.renewAfterMs ?? 290_000;
    const backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.backoff = { baseMs: Math.max(1_000, backoff.baseMs), maxMs: Math.max(1_000, backoff.maxMs) };
    this.budgetMs = opts.retryBudgetMs ?? 30_000;
  }

  async *read(shardId: string, start: StartPosition, signal: AbortSignal): AsyncGenerator<Fetched, void, void> {
    let position = start;
    let failures = 0;
    let failingSince: number | undefined;
    while (!signal.aborted) {
      const subscription = new AbortController();
      const onAbort = (): void => subscription.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const renewal = setTimeout(() => subscription.abort(), this.renewAfterMs);
      try {
        const out = await this.kinesis.send(
          new SubscribeToShardCommand({ ConsumerARN: this.consumerArn, ShardId: shardId, StartingPosition: startingPosition(position) }),
          { abortSignal: subscription.signal },
        );
        this.report({ type: 'subscribed', shard: shardId, position: describePosition(position) });
        for await (const ev of out.EventStream ?? []) {
          const e = ev.SubscribeToShardEvent;
          if (!e) {
            // Error members of the event stream: raise them like call errors.
            const [name, value] = Object.entries(ev)[0] ?? ['UnknownEvent', {}];
            throw Object.assign(new Error((value as { message?: string })?.message ?? name), { name });
          }
          failures = 0;
          failingSince = undefined;
          const records = e.Records ?? [];
          if (e.MillisBehindLatest !== undefined) this.report({ type: 'lag', shard: shardId, millisBehindLatest: e.MillisBehindLatest });
          const end = !e.ContinuationSequenceNumber;
          if (records.length > 0 || end) {
            let bytes = 0;
            for (const r of records) bytes += recordBytes(r);
            yield { records, bytes, millisBehindLatest: e.MillisBehindLatest, end, childShardIds: e.ChildShards?.map((c) => c.ShardId!).filter(Boolean) };
          }
          if (end) return;
          // Only what was handed out moves the position: a renewal resumes right after it.
          position = { type: 'AFTER_SEQUENCE_NUMBER', sequence: e.ContinuationSequenceNumber };
        }
      } catch (err) {
        if (signal.aborted) return;
        if (subscription.signal.aborted) continue; // scheduled renewal
        const name = awsErrorName(err);
        failures++;
        const delayMs = backoffDelay(failures, this.backoff);
        // ResourceInUse: a subscription on this shard is still open (or was opened < 5 s ago).
        if (isThrottle(err) || name === 'ResourceInUseException') {
          this.report({ type: 'throttled', shard: shardId, operation: 'SubscribeToShard', delayMs });
        } else if (isTransient(err) || isAbort(err) || name === 'InternalFailureException') {
          failingSince ??= performance.now();
          if (performance.now() - failingSince >= this.budgetMs) throw kinesisError(err, 'SubscribeToShard', this.stream, this.endpoint);
          this.report({ type: 'retry', shard: shardId, operation: 'SubscribeToShard', error: `${name}: ${errorDetail(err)}`, delayMs });
        } else {
          throw kinesisError(err, `SubscribeToShard (${shardId})`, this.stream, this.endpoint);
        }
        if (!(await pause(delayMs, signal))) return;
      } finally {
        clearTimeout(renewal);
        signal.removeEventListener('abort', onAbort);
        subscription.abort();
      }
      // A subscription that ended by itself (after ~5 min) is renewed from where it stopped.
      if (!(await pause(1_000, signal))) return;
    }
  }
}

function startingPosition(p: StartPosition): StartingPosition {
  switch (p.type) {
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: p.sequence };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: new Date(p.timestamp ?? 0) };
    default:
      return { Type: p.type };
  }
}
