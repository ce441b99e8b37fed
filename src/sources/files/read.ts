/**
 * Reading recorded files: gzip detected by its magic bytes (never by the name), then either the
 * first bytes (to sniff the format), the whole text (one JSON document), or line by line with
 * bounded memory (NDJSON).
 */
import { closeSync, createReadStream, openSync, readSync, type ReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** First bytes of every gzip member (RFC 1952). */
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Longest NDJSON line kept (decompressed). A Kinesis record is at most 10 MiB, 13.4 MiB in base64;
 * anything much longer is not a record and would only exhaust memory.
 */
export const MAX_LINE_CHARS = 32 * 1024 * 1024;

/**
 * Whether the file starts with the gzip magic bytes.
 *
 * @example
 * isGzipFile('dump.ndjson.gz'); // → true when it really is gzip, whatever its name
 */
export function isGzipFile(path: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
  } finally {
    closeSync(fd);
  }
}

/** A file's decompressed content as a stream of chunks, with how far into the file it has read. */
export interface OpenedFile {
  chunks: AsyncIterable<Buffer>;
  gzip: boolean;
  /** Bytes of the file itself (compressed, when gzip) read so far */
  bytesRead(): number;
  close(): void;
}

/**
 * Opens a file for reading, gunzipping it (every member of a multi-member file) when it is gzip.
 *
 * @example
 * const f = openFile('shard-000.ndjson.gz');
 * for await (const chunk of f.chunks) total += chunk.length;
 */
export function openFile(path: string, highWaterMark = 256 * 1024): OpenedFile {
  const gzip = isGzipFile(path);
  const raw: ReadStream = createReadStream(path, { highWaterMark });
  if (!gzip) return { chunks: raw, gzip, bytesRead: () => raw.bytesRead, close: () => raw.destroy() };
  const gunzip = createGunzip({ chunkSize: highWaterMark });
  // pipe() does not forward the source's errors; a read error must end the gunzip iteration too.
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  return {
    chunks: gunzip,
    gzip,
    bytesRead: () => raw.bytesRead,
    close: () => {
      raw.destroy();
      gunzip.destroy();
    },
  };
}

/** The start of a file; `complete` when nothing follows `head` (the end, or a gzip error in `error`). */
export interface FileHead {
  head: Buffer;
  complete: boolean;
  gzip: boolean;
  /** A damaged or truncated gzip stream stopped the read after `head` */
  error?: Error;
}

/**
 * The first `max` decompressed bytes of a file, and whether that is all of it. A gzip error is
 * returned with what was read before it; other I/O errors throw.
 *
 * @example
 * const { head, complete } = await readHead('trail.json.gz', 64 * 1024);
 */
export async function readHead(path: string, max: number): Promise<FileHead> {
  const f = openFile(path, Math.min(max, 64 * 1024));
  const parts: Buffer[] = [];
  let size = 0;
  let complete = true;
  let error: Error | undefined;
  try {
    for await (const chunk of f.chunks) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) {
        complete = false;
        break;
      }
    }
  } catch (err) {
    if (!isGzipError(err)) throw err;
    error = err as Error;
  } finally {
    f.close();
  }
  const all = Buffer.concat(parts, size);
  if (all.length > max) return { head: all.subarray(0, max), complete: false, gzip: f.gzip };
  return error ? { head: all, complete, gzip: f.gzip, error } : { head: all, complete, gzip: f.gzip };
}

/**
 * Whether an error comes from zlib: a damaged or truncated gzip stream.
 *
 * @example
 * isGzipError(Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' })); // → true
 */
export function isGzipError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * The whole decompressed text of a file, or `undefined` when it is longer than `maxChars`
 * (the caller then reads it line by line instead).
 *
 * @example
 * const text = await readWholeText('CloudTrail/111_CloudTrail_us-east-1_20230710T1145Z_x.json.gz', 256 << 20);
 */
export async function readWholeText(path: string, maxChars: number): Promise<string | undefined> {
  const f = openFile(path);
  const decoder = new StringDecoder('utf8');
  const parts: string[] = [];
  let size = 0;
  try {
    for await (const chunk of f.chunks) {
      const s = decoder.write(chunk);
      size += s.length;
      if (size > maxChars) return undefined;
      parts.push(s);
    }
  } finally {
    f.close();
  }
  parts.push(decoder.end());
  return stripBom(parts.join(''));
}

/** Strips a leading UTF-8 byte-order mark (editors on Windows add one). */
export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** One line of a text file; `tooLong` lines carry only their first characters in `text`. */
export interface Line {
  /** 1-based line number */
  line: number;
  text: string;
  tooLong?: boolean;
  /** Length of an over-long line (characters) */
  length?: number;
}

/**
 * Splits decompressed chunks into lines, one array of lines per chunk so the caller can work a
 * chunk at a time. `\r\n` endings are accepted; blank lines are skipped (they are not records).
 * A line longer than {@link MAX_LINE_CHARS} is reported with `tooLong` and its first 4 KiB only.
 *
 * @example
 * for await (const lines of splitLines(openFile('dump.ndjson').chunks)) for (const l of lines) handle(l.line, l.text);
 */
export async function* splitLines(chunks: AsyncIterable<Buffer>, maxLine = MAX_LINE_CHARS): AsyncGenerator<Line[]> {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  let skipping: Line | undefined;
  let lineNo = 0;
  let first = true;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      text = stripBom(text);
      first = false;
    }
    const out: Line[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      lineNo++;
      if (skipping) {
        skipping.length! += nl - start;
        out.push(skipping);
        skipping = undefined;
      } else {
        const line = partial.length > 0 ? partial + text.slice(start, nl) : text.slice(start, nl);
        partial = '';
        if (line.length > maxLine) out.push({ line: lineNo, text: line.slice(0, 4096), tooLong: true, length: line.length });
        else pushLine(out, lineNo, line);
      }
      start = nl + 1;
    }
    if (skipping) skipping.length! += text.length - start;
    else {
      partial = partial.length > 0 ? partial + text.slice(start) : text.slice(start);
      if (partial.length > maxLine) {
        skipping = { line: lineNo + 1, text: partial.slice(0, 4096), tooLong: true, length: partial.length };
        partial = '';
      }
    }
    if (out.length > 0) yield out;
  }
  const rest = partial + decoder.end();
  if (skipping) yield [skipping];
  else if (rest.length > 0) {
    const out: Line[] = [];
    pushLine(out, lineNo + 1, rest);
    if (out.length > 0) yield out;
  }
}

const NON_BLANK = /\S/;

function pushLine(out: Line[], line: number, text: string): void {
  const end = text.endsWith('\r') ? text.length - 1 : text.length;
  const t = end === text.length ? text : text.slice(0, end);
  if (NON_BLANK.test(t)) out.push({ line, text: t });
}
