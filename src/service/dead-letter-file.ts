/**
 * Dead letters as NDJSON: one {@link DeadLetter} per line, so a bad record can be found again
 * (file and line, shard and sequence), inspected (`raw` sample) and, once fixed, replayed.
 */
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { UsageError } from '../core/contracts.ts';
import type { DeadLetter } from '../core/events.ts';

/**
 * Writes dead letters to a file, truncating it first. The file is opened at construction, so a
 * path that cannot be written is a {@link UsageError} before any input is read. Writes are
 * buffered; `drained()` waits for the buffer to reach the disk, which is how a replay keeps a
 * burst of bad input from growing memory.
 *
 * @example
 * const dlq = new DeadLetterFile('out/dead-letters.ndjson');
 * const pipeline = new Pipeline({ onDeadLetter: (dl) => dlq.write(dl) });
 * // … after each batch:
 * await dlq.drained();
 * // … at the end:
 * await dlq.close();
 */
export class DeadLetterFile {
  /** Dead letters written */
  count = 0;
  private readonly out: WriteStream;
  private failure: Error | undefined;

  /** `append` keeps what the file holds (the long-lived service across restarts); the default truncates. */
  constructor(
    readonly path: string,
    opts: { append?: boolean } = {},
  ) {
    let fd: number;
    try {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, opts.append ? 'a' : 'w');
    } catch (err) {
      throw new UsageError(`cannot write dead letters to ${path}: ${(err as Error).message}`);
    }
    this.out = createWriteStream('', { fd, highWaterMark: 256 * 1024 });
    this.out.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Appends one dead letter (buffered). */
  write(dl: DeadLetter): void {
    this.count++;
    this.out.write(JSON.stringify(dl) + '\n');
  }

  /** Resolves once the write buffer is below its high-water mark; rejects if writing failed. */
  async drained(): Promise<void> {
    this.check();
    if (this.out.writableNeedDrain) await Promise.race([once(this.out, 'drain'), once(this.out, 'error')]);
    this.check();
  }

  /** Flushes everything to the file and closes it. */
  async close(): Promise<void> {
    if (!this.out.closed && !this.out.destroyed) {
      const closed = once(this.out, 'close').catch(() => undefined);
      this.out.end();
      await closed;
    }
    this.check();
  }

  private check(): void {
    if (this.failure) throw new UsageError(`cannot write dead letters to ${this.path}: ${this.failure.message}`);
  }
}
