/**
 * Format detection: what a file holds, decided from its first bytes (after gunzip when it starts
 * with the gzip magic), never from its name. The probe also finds the file's first event time, so
 * the merge can leave a file closed until the merge position reaches it.
 */
import type { DeadLetter } from '../../core/events.ts';
import { byTime, classify, extract, type ExtractContext, type ReplayEntry, type ReplayFormat } from './formats.ts';
import type { InputFile } from './inputs.ts';
import { isGzipError, readHead, readWholeText, stripBom } from './read.ts';

/** Bytes read to recognize a format. */
export const HEAD_BYTES = 64 * 1024;
/** Largest single JSON document parsed whole (characters); larger ones are read line by line. */
export const MAX_DOCUMENT_CHARS = 256 * 1024 * 1024;
/** Documents at most this long keep their parsed entries from the probe, so they are read once. */
const KEEP_DOCUMENT_CHARS = 4 * 1024 * 1024;

/**
 * How a file is laid out:
 * - `lines`: NDJSON, one record (or one whole document) per line, read a chunk at a time;
 * - `document`: one JSON document, parsed whole;
 * - `arrow`: an Arrow IPC file of normalized events;
 * - `broken`: looked like JSON but no document or line of it parses (one dead letter for the file);
 * - `empty`; `unknown`: not a replay input (a README, a manifest), with the reason.
 */
export type Layout = 'lines' | 'document' | 'arrow' | 'broken' | 'empty' | 'unknown';

export interface FileProbe extends InputFile {
  gzip: boolean;
  layout: Layout;
  format?: ReplayFormat;
  /** Event time of the file's first entry (ms); -Infinity when not known before reading */
  firstTime: number;
  /** Why a file is `unknown` or `broken` */
  reason?: string;
  /** Dead-letter reason of a `broken` file: `bad-json`, or `bad-gzip` when the gzip stream is damaged */
  brokenBy?: 'bad-json' | 'bad-gzip';
  /** A small document's entries and dead letters, kept from the probe */
  prepared?: { entries: ReplayEntry[]; deadLetters: DeadLetter[] };
}

/** Shared allowance for documents kept in memory between probe and read. */
export interface ProbeBudget {
  keptChars: number;
}

/** Total characters of probed documents kept in memory across all files. */
export const KEEP_BUDGET_CHARS = 64 * 1024 * 1024;

/**
 * Detects a file's layout and format. Never throws on content; I/O errors propagate.
 *
 * @example
 * const p = await probeFile({ path: 'trail.json.gz', size: 1234, explicit: true }, { logGroup: undefined }, { keptChars: 0 });
 * // → { layout: 'document', format: 'cloudtrail', firstTime: 1688989356000, … }
 */
export async function probeFile(input: InputFile, opts: { logGroup?: string }, budget: ProbeBudget): Promise<FileProbe> {
  const { head, complete, gzip, error: gzipError } = await readHead(input.path, HEAD_BYTES);
  const probe = (layout: Layout, rest: Partial<FileProbe> = {}): FileProbe => ({ ...input, gzip, layout, firstTime: -Infinity, ...rest });
  // A damaged gzip file is bad input, not a foreign file: read what can be read, dead-letter the rest.
  const broken = (jsonError: string): FileProbe =>
    gzipError
      ? probe('broken', { brokenBy: 'bad-gzip', reason: `damaged gzip (${gzipError.message})` })
      : probe('broken', { brokenBy: 'bad-json', reason: `not valid JSON (${jsonError})` });
  if (gzipError && head.length === 0) return broken('');

  if (isArrow(head)) return probe('arrow', { format: 'arrow' });
  const text = stripBom(head.toString('utf8'));
  const start = text.search(/\S/);
  if (start === -1) {
    if (gzipError) return broken('');
    return complete ? probe('empty') : probe('unknown', { reason: 'no content in its first 64 KiB' });
  }
  if (text[start] !== '{' && text[start] !== '[') {
    return probe('unknown', { reason: isBinary(head) ? 'not JSON (binary content)' : 'not JSON' });
  }

  const nl = text.indexOf('\n', start);
  const firstLine = nl >= 0 ? text.slice(start, nl) : complete ? text.slice(start) : undefined;
  if (firstLine !== undefined) {
    const doc = tryParse(firstLine);
    if (doc.ok) {
      const format = classify(doc.value);
      if (!format) return probe('unknown', { reason: 'JSON of a shape fnwatch does not read' });
      return probe('lines', { format, firstTime: firstTimeOf(format, doc.value, input.path, opts.logGroup) });
    }
  }

  let whole: string | undefined;
  let parseError = 'too large to parse as one document';
  try {
    whole = complete ? text : await readWholeText(input.path, MAX_DOCUMENT_CHARS);
  } catch (err) {
    if (!isGzipError(err)) throw err;
    return probe('broken', { brokenBy: 'bad-gzip', reason: `damaged gzip (${(err as Error).message})` });
  }
  if (whole !== undefined) {
    const doc = tryParse(whole);
    if (doc.ok) {
      const format = classify(doc.value);
      if (!format) return probe('unknown', { reason: 'a JSON document of a shape fnwatch does not read' });
      const prepared = prepare(format, doc.value, input.path, opts.logGroup);
      const firstTime = prepared.entries.length > 0 ? prepared.entries[0]!.time : -Infinity;
      const keep = whole.length <= KEEP_DOCUMENT_CHARS && budget.keptChars + whole.length <= KEEP_BUDGET_CHARS;
      if (keep) budget.keptChars += whole.length;
      return probe('document', { format, firstTime, prepared: keep ? prepared : undefined });
    }
    parseError = doc.error;
  }

  // Not one document: NDJSON whose first lines are damaged? Take the format of the first good line.
  let lineStart = nl + 1;
  while (nl >= 0 && lineStart < text.length) {
    const end = text.indexOf('\n', lineStart);
    if (end === -1 && !complete) break;
    const line = text.slice(lineStart, end === -1 ? undefined : end);
    const doc = tryParse(line);
    const format = doc.ok ? classify(doc.value) : undefined;
    if (doc.ok && format) return probe('lines', { format, firstTime: firstTimeOf(format, doc.value, input.path, opts.logGroup) });
    if (end === -1) break;
    lineStart = end + 1;
  }
  return broken(parseError);
}

/** Arrow IPC file magic, or the IPC stream continuation marker. */
function isArrow(head: Buffer): boolean {
  if (head.length >= 6 && head.toString('latin1', 0, 6) === 'ARROW1') return true;
  return head.length >= 4 && head.readUInt32LE(0) === 0xffffffff;
}

function isBinary(head: Buffer): boolean {
  return head.subarray(0, 512).includes(0);
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function tryParse(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function prepare(format: Exclude<ReplayFormat, 'arrow'>, doc: unknown, file: string, logGroup: string | undefined): NonNullable<FileProbe['prepared']> {
  const deadLetters: DeadLetter[] = [];
  const ctx: ExtractContext = { file, logGroup, entries: [], deadLetter: (dl) => deadLetters.push(dl), lastTime: -Infinity };
  extract(format, doc, undefined, ctx);
  return { entries: ctx.entries, deadLetters };
}

function firstTimeOf(format: Exclude<ReplayFormat, 'arrow'>, doc: unknown, file: string, logGroup: string | undefined): number {
  const entries = prepare(format, doc, file, logGroup).entries;
  if (entries.length === 0) return -Infinity;
  return entries.reduce((min, e) => (byTime(e, min) < 0 ? e : min)).time;
}
