/**
 * The durable outbox: an append-only log of records in numbered segment files, and a cursor saying
 * what has been delivered.
 *
 * ```
 * <dir>/0000000000000000.seg   records (see record.ts); the name is the first record's sequence number
 * <dir>/0000000000001742.seg   the active segment: appends go here
 * <dir>/cursor.json            {"delivered": n, "inflight": [from, to] | null}, replaced atomically
 * <dir>/lock                   the owning process id
 * ```
 *
 * - `append()` resolves only once the records are written and fdatasync'd.
 * - The cursor is written to a temporary file, fsync'd, renamed over `cursor.json`, and the
 *   directory fsync'd. `inflight` is the batch being sent, persisted before sending so a batch
 *   re-sent after a crash has the same members (and so the same webhook-id).
 * - A segment is deleted once the persisted cursor is past its last record.
 * - On open, a record torn by a crash at the tail of the last segment (short, bad length, CRC
 *   mismatch) is logged and truncated away: its `append()` never resolved, so nobody relied on it.
 *   Unreadable bytes inside a sealed segment are reported through `onCorrupt` (dead-lettered) and
 *   skipped, never silently.
 * - Bounded: at `maxBytes`, `onFull: 'block'` (default) makes `append()` wait for delivery to free
 *   space, which backpressures the source and loses nothing; `'drop-oldest'` drops the oldest whole
 *   segment, reporting every dropped entry through `onDrop` (dead-lettered) and the `dropped` metric.
 *   A warning is logged when the outbox passes 80% of the cap.
 *
 * Concurrency: one writer lock (appends) and one head lock (reading, sending and committing the
 * head, held by the delivery loop). Lock order is writer → head; the head holder never takes the
 * writer lock.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import { stderrLogger, type SinkLogger } from '../log.ts';
import { noMetrics, type SinkMetrics } from '../metrics.ts';
import { decodeRecord, encodeRecord, HEADER_BYTES, PREFIX_BYTES, problemOf, type OutboxEntry } from './record.ts';
import { Mutex, Signal } from './sync.ts';

export type { OutboxEntry } from './record.ts';

/** What happens when the outbox is at its cap. */
export type OnFull = 'block' | 'drop-oldest';

export interface OutboxOptions {
  /** Cap on the bytes held in segment files */
  maxBytes: number;
  onFull?: OnFull;
  /** Target segment size (default: maxBytes / 8, within 4 KiB … 16 MiB) */
  segmentBytes?: number;
  log?: SinkLogger;
  metrics?: SinkMetrics;
  /** Records entries dropped from a full outbox (drop-oldest). Must be durable when it resolves. */
  onDrop?: (dropped: OutboxEntry[]) => Promise<void>;
  /** Records entries that cannot be read back (corruption). Must be durable when it resolves. */
  onCorrupt?: (info: CorruptRegion) => Promise<void>;
}

/** A run of entries that could not be read back from a segment. */
export interface CorruptRegion {
  segment: string;
  offset: number;
  reason: string;
  /** First and one-past-last lost sequence numbers */
  fromSeq: number;
  toSeq: number;
}

interface Segment {
  firstSeq: number;
  path: string;
  /** Bytes durably written */
  size: number;
}

interface Cursor {
  delivered: number;
  inflight?: { from: number; to: number };
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;
const CURSOR = 'cursor.json';
const READ_CHUNK = 256 * 1024;

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

/**
 * @example
 * const outbox = await Outbox.open('/var/lib/fnwatch/outbox', { maxBytes: 256 * 2 ** 20 });
 * await outbox.append([{ key: 'fw-a.1.00ff', data: Buffer.from(json) }]); // durable now
 * const release = await outbox.head.acquire();
 * const batch = await outbox.nextBatch(100, 1 << 20);
 * // … send …
 * await outbox.settle(batch.at(-1)!.seq + 1);
 * release();
 */
export class Outbox {
  /** Held while reading, sending and settling the head of the log. */
  readonly head = new Mutex();
  /** Entries dropped from a full outbox since open */
  droppedCount = 0;
  private readonly writeLock = new Mutex();
  private readonly changed = new Signal();
  private readonly log: SinkLogger;
  private readonly metrics: SinkMetrics;
  private readonly onFull: OnFull;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  private fh!: FileHandle;
  private nextSeq = 0;
  private delivered = 0;
  private persistedDelivered = 0;
  private inflight: { from: number; to: number } | undefined;
  private dirty = false;
  private totalBytes = 0;
  private needsRotate = false;
  private closed = false;
  private warnedHigh = false;
  private warnedFull = false;
  private readPos: { path: string; offset: number; seq: number } | undefined;
  private readFh: { path: string; fh: FileHandle } | undefined;

  private constructor(
    readonly dir: string,
    private readonly opts: OutboxOptions,
  ) {
    this.log = opts.log ?? stderrLogger();
    this.metrics = opts.metrics ?? noMetrics;
    this.onFull = opts.onFull ?? 'block';
    this.segmentBytes = Math.floor(opts.segmentBytes ?? Math.min(16 * 2 ** 20, Math.max(4096, opts.maxBytes / 8)));
  }

  /** Opens (creating if needed) the outbox in `dir`, recovering from a crash if there was one. */
  static async open(dir: string, opts: OutboxOptions): Promise<Outbox> {
    if (!(opts.maxBytes > 0)) throw new UsageError(`outbox ${dir}: maxBytes must be positive`);
    const box = new Outbox(dir, opts);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new UsageError(`cannot create the outbox directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    await acquireLock(dir);
    try {
      await box.recover();
    } catch (err) {
      await unlink(join(dir, 'lock')).catch(() => {});
      throw err;
    }
    return box;
  }

  /** Entries written and not yet delivered, dead-lettered or dropped. */
  get pending(): number {
    return this.nextSeq - this.delivered;
  }

  /** Bytes held in segment files. */
  get bytes(): number {
    return this.totalBytes;
  }

  get maxBytes(): number {
    return this.opts.maxBytes;
  }

  /** Sequence number of the first entry not yet settled. */
  get deliveredSeq(): number {
    return this.delivered;
  }

  /**
   * Appends entries; resolves once they are fsync'd. Waits for space (block) or drops the oldest
   * segments (drop-oldest) when the cap would be exceeded. Rejects with a retriable error when the
   * disk write fails or the outbox is closed meanwhile.
   */
  async append(items: ReadonlyArray<{ key: string; data: Buffer }>): Promise<void> {
    const release = await this.writeLock.acquire();
    try {
      let i = 0;
      while (i < items.length) {
        let bytes = 0;
        let j = i;
        while (j < items.length) {
          const size = HEADER_BYTES + Buffer.byteLength(items[j]!.key) + items[j]!.data.length;
          if (j > i && bytes + size > this.segmentBytes) break;
          bytes += size;
          j++;
        }
        if (bytes > this.opts.maxBytes) throw new FnwatchError(`outbox ${this.dir}: a ${bytes}-byte record can never fit under the ${this.opts.maxBytes}-byte cap`);
        await this.ensureSpace(bytes);
        const active = this.segments.at(-1)!;
        if (this.needsRotate || (active.size > 0 && active.size + bytes > this.segmentBytes)) await this.rotate();
        await this.writeRecords(items.slice(i, j));
        i = j;
      }
    } finally {
      release();
    }
  }

  /** Resolves when there is something to deliver, the outbox is closed, or `signal` aborts. */
  async waitForEntries(signal?: AbortSignal): Promise<void> {
    while (this.nextSeq <= this.delivered && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        void this.changed.wait().then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  /** Resolves at the next append, settle, drop or close. */
  nextChange(): Promise<void> {
    return this.changed.wait();
  }

  /**
   * The next batch to send, from the first unsettled entry: up to `maxCount` entries and
   * `maxBytes` of payload (at least one entry). If a batch was in flight when the process stopped,
   * exactly that batch is returned again. Persists the batch as in flight before returning.
   * Call with {@link head} held.
   */
  async nextBatch(maxCount: number, maxBytes: number): Promise<OutboxEntry[]> {
    let count = maxCount;
    let bytes = maxBytes;
    const resume = this.inflight && this.inflight.from === this.delivered ? this.inflight : undefined;
    if (resume) {
      count = resume.to - resume.from;
      bytes = Infinity;
    }
    const entries = await this.readHead(count, bytes);
    if (entries.length === 0) {
      if (this.dirty) await this.persist();
      return entries;
    }
    const from = entries[0]!.seq;
    const to = entries.at(-1)!.seq + 1;
    if (this.dirty || !this.inflight || this.inflight.from !== from || this.inflight.to !== to) {
      this.inflight = { from, to };
      await this.persist();
    }
    return entries;
  }

  /**
   * Marks every entry before `seq` as done (delivered or dead-lettered). The cursor is persisted
   * with the next batch, or now when nothing else is queued. Call with {@link head} held.
   */
  async settle(seq: number): Promise<void> {
    if (seq <= this.delivered) return;
    this.delivered = Math.min(seq, this.nextSeq);
    this.inflight = undefined;
    this.dirty = true;
    this.changed.notify();
    if (this.nextSeq <= this.delivered) await this.persist();
  }

  /** Persists the cursor, closes files and releases the directory. Blocked appends reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.changed.notify();
    const releaseWrite = await this.writeLock.acquire();
    const releaseHead = await this.head.acquire();
    try {
      if (this.dirty) await this.persist();
      await this.fh.close();
      await this.readFh?.fh.close();
      this.readFh = undefined;
    } finally {
      releaseHead();
      releaseWrite();
      await unlink(join(this.dir, 'lock')).catch(() => {});
    }
  }

  // ---- recovery ----

  private async recover(): Promise<void> {
    const names = await readdir(this.dir);
    if (names.includes(`${CURSOR}.tmp`)) await unlink(join(this.dir, `${CURSOR}.tmp`));
    for (const name of names.sort()) {
      const m = SEGMENT_NAME.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      this.segments.push({ firstSeq: Number(m[1]), path, size: (await stat(path)).size });
    }
    const cursor = await this.readCursor();
    const last = this.segments.at(-1);
    if (last) this.nextSeq = await this.repairTail(last);
    else this.nextSeq = cursor?.delivered ?? 0;

    const first = this.segments[0];
    let delivered = cursor?.delivered ?? first?.firstSeq ?? this.nextSeq;
    if (first && delivered < first.firstSeq) delivered = first.firstSeq;
    if (delivered > this.nextSeq) {
      this.log.error(`outbox ${this.dir}: the cursor (${delivered}) is past the last record (${this.nextSeq}); segments were removed by hand? continuing from the log's end`);
      delivered = this.nextSeq;
    }
    this.delivered = this.persistedDelivered = delivered;
    const inflight = cursor?.inflight;
    if (inflight && inflight.from === delivered && inflight.to > inflight.from && inflight.to <= this.nextSeq) this.inflight = inflight;

    if (!last) {
      const seg = { firstSeq: this.nextSeq, path: join(this.dir, segmentName(this.nextSeq)), size: 0 };
      this.segments.push(seg);
    }
    this.fh = await open(this.segments.at(-1)!.path, 'a');
    await fsyncDir(this.dir);
    this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
    await this.deleteDelivered();
    this.reportUsage();
    if (this.pending > 0) this.log.info(`outbox ${this.dir}: ${this.pending} undelivered alerts from a previous run will be re-sent`);
  }

  private async readCursor(): Promise<Cursor | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, CURSOR), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const c = JSON.parse(text) as { delivered?: unknown; inflight?: unknown };
      if (typeof c.delivered !== 'number' || !Number.isSafeInteger(c.delivered) || c.delivered < 0) throw new Error('no delivered count');
      const inf = Array.isArray(c.inflight) && c.inflight.length === 2 && c.inflight.every((n) => Number.isSafeInteger(n)) ? { from: c.inflight[0] as number, to: c.inflight[1] as number } : undefined;
      return { delivered: c.delivered, inflight: inf };
    } catch (err) {
      // Replaced atomically, so this is damage from outside; re-sending everything is the safe side.
      this.log.error(`outbox ${this.dir}: ${CURSOR} is unreadable (${(err as Error).message}); re-sending everything in the outbox`);
      return undefined;
    }
  }

  /** Scans the last segment, truncates a torn tail record, returns the next sequence number. */
  private async repairTail(seg: Segment): Promise<number> {
    const buf = await readFile(seg.path);
    let offset = 0;
    let seq = seg.firstSeq;
    let problem: string | undefined;
    while (offset < buf.length) {
      const d = decodeRecord(buf, offset);
      problem = problemOf(d, seq);
      if (problem) break;
      offset += d.entry!.size;
      seq++;
    }
    if (problem) {
      this.log.warn(
        `outbox ${this.dir}: skipped a torn record at the tail of ${segmentName(seg.firstSeq)} (offset ${offset}, ${buf.length - offset} bytes, ${problem}): ` +
          'a write interrupted by a crash, never acknowledged to the source',
      );
      const fh = await open(seg.path, 'r+');
      try {
        await fh.truncate(offset);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      seg.size = offset;
    }
    return seq;
  }

  // ---- writing ----

  private async writeRecords(items: ReadonlyArray<{ key: string; data: Buffer }>): Promise<void> {
    const active = this.segments.at(-1)!;
    const buf = Buffer.concat(items.map((it, k) => encodeRecord(this.nextSeq + k, it.key, it.data)));
    try {
      await this.fh.write(buf, 0, buf.length, null);
      await this.fh.datasync();
    } catch (err) {
      // A partial write would sit in front of the next one; cut it off, or seal the segment.
      await this.fh.truncate(active.size).catch(() => (this.needsRotate = true));
      throw new FnwatchError(`outbox ${this.dir}: write failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, true);
    }
    active.size += buf.length;
    this.totalBytes += buf.length;
    this.nextSeq += items.length;
    this.reportUsage();
    this.changed.notify();
  }

  private async rotate(): Promise<void> {
    const active = this.segments.at(-1)!;
    if (active.size === 0 && !this.needsRotate) return;
    await this.fh.close();
    const seg = { firstSeq: this.nextSeq, path: join(this.dir, segmentName(this.nextSeq)), size: 0 };
    if (seg.path === active.path) {
      // Same first sequence (nothing was appended since): reopen, truncating what could not be cut.
      this.fh = await open(seg.path, 'w');
      this.totalBytes -= active.size;
      active.size = 0;
      this.readPos = undefined;
    } else {
      this.fh = await open(seg.path, 'a');
      this.segments.push(seg);
    }
    await fsyncDir(this.dir);
    this.needsRotate = false;
  }

  /** Writer lock held. */
  private async ensureSpace(need: number): Promise<void> {
    while (this.totalBytes + need > this.opts.maxBytes) {
      if (this.closed) throw new FnwatchError(`outbox ${this.dir} is closed`, true);
      if (this.nextSeq <= this.delivered && this.segments.at(-1)!.size > 0) {
        // Everything is delivered but the active segment still counts: start a fresh one.
        const release = await this.head.acquire();
        try {
          await this.rotate();
          await this.persist();
        } finally {
          release();
        }
        continue;
      }
      if (this.onFull === 'block') {
        if (!this.warnedFull) {
          this.warnedFull = true;
          this.log.warn(`outbox ${this.dir} is full (${this.totalBytes} of ${this.opts.maxBytes} bytes): writes wait for delivery (onFull: block)`);
        }
        await this.changed.wait();
        continue;
      }
      const release = await this.head.acquire();
      try {
        if (this.totalBytes + need > this.opts.maxBytes) await this.dropOldest();
      } finally {
        release();
      }
    }
    this.warnedFull = false;
  }

  /** Writer and head locks held. */
  private async dropOldest(): Promise<void> {
    if (this.segments.length === 1) await this.rotate();
    if (this.segments.length === 1) return;
    const seg = this.segments[0]!;
    const end = this.segments[1]!.firstSeq;
    const from = Math.max(this.delivered, seg.firstSeq);
    if (from < end) {
      const { entries, corrupt } = await this.scanSegment(seg, from, end);
      await this.opts.onDrop?.(entries);
      if (corrupt) await this.opts.onCorrupt?.(corrupt);
      const n = end - from;
      this.droppedCount += n;
      this.metrics.dropped(n);
      this.log.warn(`outbox ${this.dir} is full (${this.totalBytes} of ${this.opts.maxBytes} bytes): dropped the ${n} oldest undelivered alerts (onFull: drop-oldest; recorded in the dead-letter file)`);
      this.delivered = end;
      this.inflight = undefined;
    }
    await this.persist();
  }

  // ---- reading ----

  /** Reads entries from `delivered` on. Head lock held. */
  private async readHead(maxCount: number, maxBytes: number): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    let bytes = 0;
    let full = false;
    while (!full && out.length < maxCount && this.delivered + out.length < this.nextSeq) {
      const seq = this.delivered + out.length;
      const idx = this.segmentIndexOf(seq);
      const seg = this.segments[idx]!;
      const sealed = idx < this.segments.length - 1;
      const end = sealed ? this.segments[idx + 1]!.firstSeq : this.nextSeq;
      let offset: number;
      if (this.readPos && this.readPos.path === seg.path && this.readPos.seq === seq) offset = this.readPos.offset;
      else {
        const found = await this.locate(seg, seq);
        if ('corrupt' in found) {
          if (out.length > 0) break;
          await this.skipCorrupt({ ...found.corrupt, toSeq: end });
          continue;
        }
        offset = found.offset;
      }
      const want = Math.min(seg.size - offset, Math.max(READ_CHUNK, Number.isFinite(maxBytes) ? maxBytes + 4096 : READ_CHUNK));
      let chunk = await this.readAt(seg.path, offset, want);
      let pos = 0;
      let problem: string | undefined;
      let s = seq;
      while (out.length < maxCount && s < end) {
        let d = decodeRecord(chunk, pos);
        if (d.incomplete && offset + pos + PREFIX_BYTES <= seg.size) {
          const len = chunk.length - pos >= PREFIX_BYTES ? chunk.readUInt32BE(pos) + PREFIX_BYTES : PREFIX_BYTES;
          if (offset + pos + len <= seg.size && len > chunk.length - pos) {
            offset += pos;
            pos = 0;
            chunk = await this.readAt(seg.path, offset, Math.min(seg.size - offset, Math.max(len, READ_CHUNK)));
            d = decodeRecord(chunk, 0);
          }
        }
        if (d.incomplete) {
          if (offset + pos >= seg.size && !sealed) break;
        }
        problem = problemOf(d, s);
        if (problem) break;
        const e = d.entry!;
        if (out.length > 0 && bytes + e.data.length > maxBytes) {
          full = true;
          break;
        }
        out.push(e);
        bytes += e.data.length;
        pos += e.size;
        s++;
        if (offset + pos >= seg.size && s < end) {
          if (!sealed) break;
          problem = `segment ends before sequence ${s}`;
          break;
        }
      }
      this.readPos = { path: seg.path, offset: offset + pos, seq: s };
      if (problem) {
        if (out.length > 0) break;
        await this.skipCorrupt({ segment: segmentName(seg.firstSeq), offset: offset + pos, reason: problem, fromSeq: s, toSeq: end });
        continue;
      }
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  private segmentIndexOf(seq: number): number {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i]!.firstSeq > seq) i--;
    return i;
  }

  /** Byte offset of `seq` in `seg` (scanning from the start). */
  private async locate(seg: Segment, seq: number): Promise<{ offset: number } | { corrupt: Omit<CorruptRegion, 'toSeq'> }> {
    const buf = await readFile(seg.path);
    let offset = 0;
    for (let s = seg.firstSeq; s < seq; s++) {
      const d = decodeRecord(buf.subarray(0, seg.size), offset);
      const reason = problemOf(d, s);
      if (reason) return { corrupt: { segment: segmentName(seg.firstSeq), offset, reason, fromSeq: s } };
      offset += d.entry!.size;
    }
    return { offset };
  }

  /** Every readable entry of `seg` in [from, end), and the unreadable rest, if any. */
  private async scanSegment(seg: Segment, from: number, end: number): Promise<{ entries: OutboxEntry[]; corrupt?: CorruptRegion }> {
    const buf = (await readFile(seg.path)).subarray(0, seg.size);
    const entries: OutboxEntry[] = [];
    let offset = 0;
    for (let s = seg.firstSeq; s < end; s++) {
      const d = decodeRecord(buf, offset);
      const reason = problemOf(d, s);
      if (reason) return { entries, corrupt: { segment: segmentName(seg.firstSeq), offset, reason, fromSeq: Math.max(s, from), toSeq: end } };
      if (s >= from) entries.push(d.entry!);
      offset += d.entry!.size;
    }
    return { entries };
  }

  private async skipCorrupt(region: CorruptRegion): Promise<void> {
    this.log.error(
      `outbox ${this.dir}: ${region.segment} is unreadable at offset ${region.offset} (${region.reason}); ` +
        `${region.toSeq - region.fromSeq} queued alerts (seq ${region.fromSeq}…${region.toSeq - 1}) cannot be read back and are dead-lettered`,
    );
    await this.opts.onCorrupt?.(region);
    this.delivered = Math.max(this.delivered, region.toSeq);
    this.inflight = undefined;
    if (this.segments.at(-1)!.firstSeq <= region.fromSeq) this.needsRotate = true;
    await this.persist();
  }

  private async readAt(path: string, offset: number, length: number): Promise<Buffer> {
    if (this.readFh?.path !== path) {
      await this.readFh?.fh.close();
      this.readFh = { path, fh: await open(path, 'r') };
    }
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.readFh.fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  }

  // ---- cursor ----

  /** Writes the cursor atomically, then deletes segments it has passed. */
  private async persist(): Promise<void> {
    const tmp = join(this.dir, `${CURSOR}.tmp`);
    const body = JSON.stringify({ delivered: this.delivered, inflight: this.inflight ? [this.inflight.from, this.inflight.to] : null }) + '\n';
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, CURSOR));
    await fsyncDir(this.dir);
    this.persistedDelivered = this.delivered;
    this.dirty = false;
    await this.deleteDelivered();
    this.changed.notify();
  }

  private async deleteDelivered(): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.firstSeq <= this.persistedDelivered) {
      const seg = this.segments.shift()!;
      if (this.readFh?.path === seg.path) {
        await this.readFh.fh.close();
        this.readFh = undefined;
      }
      await unlink(seg.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.totalBytes -= seg.size;
    }
    this.reportUsage();
  }

  private reportUsage(): void {
    this.metrics.outboxBytes(this.totalBytes, this.opts.maxBytes);
    const ratio = this.totalBytes / this.opts.maxBytes;
    if (ratio > 0.8 && !this.warnedHigh) {
      this.warnedHigh = true;
      this.log.warn(`outbox ${this.dir} is at ${Math.round(ratio * 100)}% of its ${this.opts.maxBytes}-byte cap (${this.pending} alerts waiting for delivery)`);
    } else if (ratio < 0.7) this.warnedHigh = false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Takes `<dir>/lock` for this process; a lock left by a dead process is taken over. */
async function acquireLock(dir: string): Promise<void> {
  const path = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UsageError(`cannot lock the outbox ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new UsageError(`the outbox ${dir} is in use by process ${pid} (remove ${path} if that process is not fnwatch)`);
    }
    await unlink(path).catch(() => {});
  }
  throw new UsageError(`cannot lock the outbox ${dir}: another process keeps taking it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
