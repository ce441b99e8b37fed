/**
 * The file sink: OCSF findings as NDJSON, fsync'd on every write, rotated by size
 * (`alerts.ndjson` → `alerts.1.ndjson` → … → `alerts.<keep>.ndjson`, the oldest deleted).
 */
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Alert } from '../core/alert.ts';
import { FnwatchError, UsageError, type Sink } from '../core/contracts.ts';
import { Mutex } from './outbox/sync.ts';

export interface FileSinkOptions {
  path: string;
  /** Rotate before a write would take the file past this size; 0 or absent: never rotate */
  maxBytes?: number;
  /** Rotated files kept (default 5) */
  keep?: number;
  /** Start with an empty file instead of appending */
  truncate?: boolean;
  name?: string;
}

/**
 * The name of the `i`-th rotated file.
 *
 * @example
 * rotatedPath('/var/log/alerts.ndjson', 2); // → '/var/log/alerts.2.ndjson'
 * rotatedPath('alerts', 1);                 // → 'alerts.1'
 */
export function rotatedPath(path: string, i: number): string {
  const ext = extname(path);
  const stem = basename(path, ext);
  return join(dirname(path), `${stem}.${i}${ext}`);
}

/**
 * @example
 * const sink = await FileSink.open({ path: 'alerts.ndjson', maxBytes: 100 * 2 ** 20, keep: 5 });
 * await sink.write(alerts); // on disk, fsync'd
 */
export class FileSink implements Sink {
  readonly name: string;
  /** Rotations done since open */
  rotations = 0;
  private readonly lock = new Mutex();
  private closed = false;

  private constructor(
    private readonly o: FileSinkOptions,
    private fh: FileHandle | undefined,
    private size: number,
  ) {
    this.name = o.name ?? `file:${o.path}`;
  }

  static async open(o: FileSinkOptions): Promise<FileSink> {
    try {
      await mkdir(dirname(o.path), { recursive: true });
      const fh = await open(o.path, o.truncate ? 'w' : 'a');
      return new FileSink(o, fh, (await fh.stat()).size);
    } catch (err) {
      throw new UsageError(`cannot write alerts to ${o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  async write(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const data = Buffer.from(alerts.map((a) => JSON.stringify(a) + '\n').join(''));
    const release = await this.lock.acquire();
    try {
      if (this.closed) throw new FnwatchError(`${this.name} is closed`);
      if (!this.fh) {
        // A rotation failed half-way: carry on in whatever file is at the path now.
        this.fh = await open(this.o.path, 'a');
        this.size = (await this.fh.stat()).size;
      }
      if (this.o.maxBytes && this.size > 0 && this.size + data.length > this.o.maxBytes) await this.rotate();
      await this.fh.write(data, 0, data.length, null);
      await this.fh.datasync();
      this.size += data.length;
    } catch (err) {
      if (err instanceof FnwatchError) throw err;
      throw new FnwatchError(`cannot write alerts to ${this.o.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, true);
    } finally {
      release();
    }
  }

  /** Every write is already synced. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    const release = await this.lock.acquire();
    try {
      this.closed = true;
      await this.fh?.close();
      this.fh = undefined;
    } finally {
      release();
    }
  }

  private async rotate(): Promise<void> {
    const keep = this.o.keep ?? 5;
    await this.fh!.close();
    this.fh = undefined;
    await rm(rotatedPath(this.o.path, keep), { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      const from = rotatedPath(this.o.path, i);
      if (await exists(from)) await rename(from, rotatedPath(this.o.path, i + 1));
    }
    if (keep >= 1) await rename(this.o.path, rotatedPath(this.o.path, 1));
    this.fh = await open(this.o.path, 'w');
    const dir = await open(dirname(this.o.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.size = 0;
    this.rotations++;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
