import type { Alert } from './alert.ts';
import type { LogEvent, Position } from './events.ts';

/**
 * What a source hands to the runner: either raw subscription payloads (Kinesis record data: gzip,
 * base64 text or JSON), or already-split log events (FilterLogEvents, live tail, NDJSON recordings),
 * or whole CloudTrail records (CloudTrail log files).
 */
export type SourceItem =
  | { type: 'payload'; data: Uint8Array | string; position: Position; arrival?: number }
  | { type: 'log-event'; event: LogEvent; position: Position }
  | { type: 'cloudtrail'; record: unknown; position: Position };

/**
 * A unit of work with its acknowledgement. The runner calls `ack()` only once every alert produced
 * from `items` is durably held by the sink; sources checkpoint only over acknowledged, contiguous
 * batches (at-least-once).
 */
export interface Batch {
  items: SourceItem[];
  /** Called once when the batch's alerts are durable. Sources must tolerate acks out of order. */
  ack(): void | Promise<void>;
  /**
   * Gives the batch back unprocessed, when a consumer that held it stops (a source may leave this
   * out). It is never acknowledged, so it is read again after a restart; the source's `close()`
   * does not wait for it.
   */
  release?(): void;
  /** Event-time watermark after this batch, when the source can tell (ms) */
  watermark?: number;
}

/** A source: an async stream of batches. `close()` stops fetching; the iterator then ends. */
export interface Source {
  readonly name: string;
  batches(): AsyncIterable<Batch>;
  close(): Promise<void>;
}

/**
 * A sink: receives alerts. `write` resolves once the alerts are durable in the sink (written and
 * synced to the outbox, printed, …); only then may the source checkpoint.
 */
export interface Sink {
  readonly name: string;
  write(alerts: Alert[]): Promise<void>;
  /** Deliver what is pending (best effort within the sink's bounds). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** An error that says whether retrying the same operation may succeed. */
export class FnwatchError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean = false,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'FnwatchError';
  }
}

/** A user-facing error: printed as one line, exit code 2 (bad input, bad config, missing file). */
export class UsageError extends FnwatchError {
  constructor(message: string) {
    super(message, false, 'usage');
    this.name = 'UsageError';
  }
}
