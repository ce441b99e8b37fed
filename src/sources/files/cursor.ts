/**
 * Per-file readers for the merge: each holds a small buffer of entries (one decompressed chunk's
 * worth of lines, one document, or a slice of an Arrow file) and refills it on demand. A read
 * error ends the file with a dead letter; it never ends the replay.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { deadLetterSample, type DeadLetter, type FnEvent } from '../../core/events.ts';
import { readEventsArrow } from './arrow.ts';
import { extract, type ExtractContext, type ReplayEntry, type ReplayFormat } from './formats.ts';
import type { FileProbe } from './probe.ts';
import { MAX_DOCUMENT_CHARS } from './probe.ts';
import { isGzipError, openFile, readWholeText, splitLines, type Line, type OpenedFile } from './read.ts';

/** Events taken from an Arrow file per refill. */
const ARROW_READ_AHEAD = 4096;

/** A file being read: `buffer[index]` is its next entry while `index < buffer.length`. */
export interface Cursor {
  readonly probe: FileProbe;
  buffer: ReplayEntry[];
  index: number;
  /** Loads the next entries into `buffer` (resetting `index`); false once the file is done. */
  refill(): Promise<boolean>;
  /** Bytes of the file read so far */
  bytesRead(): number;
  close(): void;
}

/**
 * A cursor for a probed file.
 *
 * @example
 * const c = openCursor(probe, { logGroup: undefined, deadLetter: (dl) => dls.push(dl) });
 * while (await c.refill()) for (const e of c.buffer) handle(e);
 */
export function openCursor(probe: FileProbe, opts: { logGroup?: string; deadLetter: (dl: DeadLetter) => void }): Cursor {
  switch (probe.layout) {
    case 'lines':
      return new LinesCursor(probe, opts.logGroup, opts.deadLetter);
    case 'arrow':
      return new ArrowCursor(probe, opts.deadLetter);
    default:
      return new DocumentCursor(probe, opts.logGroup, opts.deadLetter);
  }
}

function readErrorLetter(probe: FileProbe, err: unknown, line?: number): DeadLetter {
  return {
    reason: isGzipError(err) ? 'bad-gzip' : 'read-error',
    detail: `${(err as Error)?.message ?? String(err)}; the rest of the file is not read`,
    position: line === undefined ? { file: probe.path } : { file: probe.path, line },
  };
}

class LinesCursor implements Cursor {
  buffer: ReplayEntry[] = [];
  index = 0;
  private readonly file: OpenedFile;
  private readonly lines: AsyncGenerator<Line[]>;
  private readonly ctx: ExtractContext;
  private readonly format: Exclude<ReplayFormat, 'arrow'>;
  private lastLine = 0;
  private done = false;

  constructor(
    readonly probe: FileProbe,
    logGroup: string | undefined,
    private readonly deadLetter: (dl: DeadLetter) => void,
  ) {
    if (!probe.format || probe.format === 'arrow') throw new Error(`${probe.path}: a lines cursor needs a JSON format`);
    this.format = probe.format;
    this.file = openFile(probe.path);
    this.lines = splitLines(this.file.chunks);
    this.ctx = { file: probe.path, logGroup, entries: [], deadLetter, lastTime: -Infinity };
  }

  async refill(): Promise<boolean> {
    this.ctx.entries = [];
    this.index = 0;
    while (!this.done && this.ctx.entries.length === 0) {
      let next: IteratorResult<Line[]>;
      try {
        next = await this.lines.next();
      } catch (err) {
        this.deadLetter(readErrorLetter(this.probe, err, this.lastLine + 1));
        this.finish();
        break;
      }
      if (next.done) {
        this.finish();
        break;
      }
      for (const line of next.value) this.parseLine(line);
    }
    this.buffer = this.ctx.entries;
    return this.buffer.length > 0;
  }

  private parseLine(l: Line): void {
    this.lastLine = l.line;
    const position = { file: this.probe.path, line: l.line };
    if (l.tooLong) {
      this.deadLetter({ reason: 'line-too-long', detail: `line of ${l.length} characters; no record is that long`, position, raw: deadLetterSample(l.text) });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(l.text);
    } catch (err) {
      this.deadLetter({ reason: 'bad-json', detail: (err as Error).message, position, raw: deadLetterSample(l.text) });
      return;
    }
    extract(this.format, doc, l.line, this.ctx, l.text);
  }

  private finish(): void {
    this.done = true;
    this.file.close();
  }

  bytesRead(): number {
    return this.done ? this.probe.size : this.file.bytesRead();
  }

  close(): void {
    this.finish();
    this.lines.return(undefined).catch(() => undefined);
  }
}

/** A whole JSON document (CloudTrail file, get-records or filter-log-events output), or a broken file. */
class DocumentCursor implements Cursor {
  buffer: ReplayEntry[] = [];
  index = 0;
  private done = false;

  constructor(
    readonly probe: FileProbe,
    private readonly logGroup: string | undefined,
    private readonly deadLetter: (dl: DeadLetter) => void,
  ) {}

  async refill(): Promise<boolean> {
    this.buffer = [];
    this.index = 0;
    if (this.done) return false;
    this.done = true;
    const probe = this.probe;
    if (probe.layout === 'broken') {
      this.deadLetter({ reason: probe.brokenBy ?? 'bad-json', detail: probe.reason, position: { file: probe.path } });
      return false;
    }
    if (probe.layout !== 'document' || !probe.format || probe.format === 'arrow') return false;
    let prepared = probe.prepared;
    probe.prepared = undefined;
    if (!prepared) {
      try {
        const text = await readWholeText(probe.path, MAX_DOCUMENT_CHARS);
        if (text === undefined) throw new Error('file grew past the document size limit since it was probed');
        const dls: DeadLetter[] = [];
        const ctx: ExtractContext = { file: probe.path, logGroup: this.logGroup, entries: [], deadLetter: (dl) => dls.push(dl), lastTime: -Infinity };
        extract(probe.format, JSON.parse(text), undefined, ctx);
        prepared = { entries: ctx.entries, deadLetters: dls };
      } catch (err) {
        this.deadLetter(err instanceof SyntaxError ? { reason: 'bad-json', detail: err.message, position: { file: probe.path } } : readErrorLetter(probe, err));
        return false;
      }
    }
    for (const dl of prepared.deadLetters) this.deadLetter(dl);
    this.buffer = prepared.entries;
    return this.buffer.length > 0;
  }

  bytesRead(): number {
    return this.done ? this.probe.size : 0;
  }

  close(): void {
    this.done = true;
    this.buffer = [];
  }
}

/** Normalized events from an Arrow file (gunzipped to a temporary file first when gzip). */
class ArrowCursor implements Cursor {
  buffer: ReplayEntry[] = [];
  index = 0;
  private iterator: AsyncIterator<FnEvent> | undefined;
  private tmp: string | undefined;
  private record = 0;
  private done = false;

  constructor(
    readonly probe: FileProbe,
    private readonly deadLetter: (dl: DeadLetter) => void,
  ) {}

  async refill(): Promise<boolean> {
    this.buffer = [];
    this.index = 0;
    if (this.done) return false;
    try {
      if (!this.iterator) this.iterator = readEventsArrow(await this.arrowPath())[Symbol.asyncIterator]();
      while (this.buffer.length < ARROW_READ_AHEAD) {
        const next = await this.iterator.next();
        if (next.done) {
          this.close();
          break;
        }
        const event = next.value;
        this.buffer.push({ kind: 'event', time: event.time, event, position: { file: this.probe.path, record: this.record++ } });
      }
    } catch (err) {
      this.deadLetter({
        reason: this.probe.gzip && !this.tmp ? 'bad-gzip' : 'bad-arrow',
        detail: `${(err as Error)?.message ?? String(err)}; the rest of the file is not read`,
        position: { file: this.probe.path, record: this.record },
      });
      this.close();
    }
    return this.buffer.length > 0;
  }

  private async arrowPath(): Promise<string> {
    if (!this.probe.gzip) return this.probe.path;
    // The Arrow reader needs a seekable file: gunzip to a temporary one, removed on close.
    const tmp = join(tmpdir(), `fnwatch-replay-${randomUUID()}.arrow`);
    try {
      await pipeline(createReadStream(this.probe.path), createGunzip(), createWriteStream(tmp));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.tmp = tmp;
    return tmp;
  }

  bytesRead(): number {
    return this.done ? this.probe.size : 0;
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.iterator?.return?.().catch(() => undefined);
    if (this.tmp) rmSync(this.tmp, { force: true });
  }
}
