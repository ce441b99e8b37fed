/**
 * The sinks' dead-letter file: NDJSON, one record per alert that will not be delivered, with why.
 * Appended and fsync'd before the outbox moves past the alert, so every alert ends up either
 * delivered, in the outbox, or here.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Mutex } from './outbox/sync.ts';

/** Why an alert was dead-lettered. */
export type SinkDeadLetterReason =
  /** The receiver answered a 4xx other than 408/429/410 on every try */
  | 'rejected'
  /** Retriable failures went on past `maxRetryDurationMs` */
  | 'retries-exhausted'
  /** Dropped from a full outbox under `onFull: drop-oldest` (a summary, not the whole alert) */
  | 'outbox-full'
  /** The outbox could not read the entry back (disk corruption) */
  | 'outbox-corrupt'
  /** Not a valid OCSF finding, or not serialisable */
  | 'invalid-alert'
  /** Larger than the outbox can hold */
  | 'too-large';

export interface SinkDeadLetter {
  /** ISO-8601 time it was dead-lettered */
  time: string;
  sink: string;
  reason: SinkDeadLetterReason;
  /** The endpoint, with credentials and query values redacted */
  endpoint?: string;
  /** HTTP status of the last attempt */
  status?: number;
  /** Start of the last response body (truncated) */
  response?: string;
  webhook_id?: string;
  attempts?: number;
  error?: string;
  /** The alert (OCSF) when it is kept */
  alert?: unknown;
  /** What identifies a dropped alert when the alert itself is not kept */
  finding_uid?: string;
  kind?: string;
  function?: string;
  alert_time?: number;
  /** Outbox sequence numbers, for dropped or corrupt entries */
  seq?: number | [number, number];
}

/**
 * @example
 * const dlq = new DeadLetterFile('/var/lib/fnwatch/outbox/dead-letter.ndjson');
 * await dlq.append([{ time: new Date().toISOString(), sink: 'siem', reason: 'rejected', status: 400, alert }]);
 */
export class DeadLetterFile {
  private fh: FileHandle | undefined;
  private readonly lock = new Mutex();
  /** Records written since open */
  count = 0;

  constructor(readonly path: string) {}

  /** Appends and fsyncs; resolves when the records are durable. */
  async append(records: readonly SinkDeadLetter[]): Promise<void> {
    if (records.length === 0) return;
    const release = await this.lock.acquire();
    try {
      if (!this.fh) {
        await mkdir(dirname(this.path), { recursive: true });
        this.fh = await open(this.path, 'a');
      }
      await this.fh.writeFile(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await this.fh.datasync();
      this.count += records.length;
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    const release = await this.lock.acquire();
    try {
      await this.fh?.close();
      this.fh = undefined;
    } finally {
      release();
    }
  }
}
