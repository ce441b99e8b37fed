/**
 * The recorded formats `replay` reads, recognized by their content, and the conversion of their
 * records into {@link SourceItem}s with an event time (what the merge orders by) and a position
 * (file, line, record index) that dead letters and alerts can point back at.
 *
 * A record that does not fit its file's format becomes a dead letter here; decoding a payload
 * (base64, gzip, the subscription message) is left to the parser, which dead-letters on its own.
 */
import type { SourceItem } from '../../core/contracts.ts';
import { deadLetterSample, type DeadLetter, type FnEvent, type LogEvent, type Position } from '../../core/events.ts';

/** A recorded format, as detected from a file's content. */
export type ReplayFormat =
  /** NDJSON of `aws kinesis get-records` Records[] entries */
  | 'kinesis-records'
  /** whole `aws kinesis get-records` outputs: `{Records, NextShardIterator, MillisBehindLatest}` */
  | 'kinesis-get-records'
  /** CloudTrail log files: `{"Records": [...]}` */
  | 'cloudtrail'
  /** `aws logs filter-log-events` outputs: `{events, searchedLogStreams, nextToken}` */
  | 'filter-log-events'
  /** NDJSON of `{logGroup, logStream, timestamp, message}` */
  | 'log-events'
  /** Arrow IPC files of normalized events */
  | 'arrow';

/** How each format is named in messages. */
export const FORMAT_NAMES: Readonly<Record<ReplayFormat, string>> = {
  'kinesis-records': 'Kinesis record dump (NDJSON)',
  'kinesis-get-records': 'aws kinesis get-records output',
  cloudtrail: 'CloudTrail log file',
  'filter-log-events': 'aws logs filter-log-events output',
  'log-events': 'log-event NDJSON',
  arrow: 'Arrow normalized events',
};

/** What the formats list in a "not a replay input" message. */
export const KNOWN_FORMATS =
  'Kinesis get-records dumps (NDJSON or JSON), aws logs filter-log-events JSON, CloudTrail log files, NDJSON of {logGroup, logStream, timestamp, message}, or .arrow event files; any of them gzip-compressed';

/**
 * One thing read from a file, in the order the merge hands them on: a source item, or an already
 * normalized event (Arrow files). `time` is the event time the merge orders by (epoch ms).
 */
export type ReplayEntry =
  | { kind: 'item'; time: number; item: SourceItem }
  | { kind: 'event'; time: number; event: FnEvent; position: Position };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The format of one parsed JSON value (a whole document, or one NDJSON line), or `undefined`.
 *
 * @example
 * classify({ SequenceNumber: '4959…', ApproximateArrivalTimestamp: 1704067200.1, Data: 'H4sI…' }); // → 'kinesis-records'
 * classify({ Records: [{ eventVersion: '1.08', eventTime: '2023-07-10T11:42:36Z' }] });          // → 'cloudtrail'
 */
export function classify(doc: unknown): Exclude<ReplayFormat, 'arrow'> | undefined {
  if (!isObj(doc)) return undefined;
  if (typeof doc.Data === 'string' && ('SequenceNumber' in doc || 'ApproximateArrivalTimestamp' in doc)) return 'kinesis-records';
  if (typeof doc.logGroup === 'string' && typeof doc.message === 'string' && 'timestamp' in doc) return 'log-events';
  if (Array.isArray(doc.Records)) {
    if ('NextShardIterator' in doc || 'MillisBehindLatest' in doc) return 'kinesis-get-records';
    const first: unknown = doc.Records[0];
    if (first === undefined) return 'cloudtrail';
    if (isObj(first) && 'Data' in first && 'SequenceNumber' in first) return 'kinesis-get-records';
    if (isObj(first) && ('eventVersion' in first || 'eventTime' in first || 'eventSource' in first)) return 'cloudtrail';
    return undefined;
  }
  if (Array.isArray(doc.events)) {
    const first: unknown = doc.events[0];
    if (first === undefined) return 'searchedLogStreams' in doc || 'nextToken' in doc ? 'filter-log-events' : undefined;
    if (isObj(first) && 'logStreamName' in first && 'message' in first) return 'filter-log-events';
  }
  return undefined;
}

/**
 * Where extracted entries and dead letters go, and what a file's records need from outside:
 * `logGroup` names the group of filter-log-events outputs, which do not say it themselves.
 */
export interface ExtractContext {
  file: string;
  logGroup?: string;
  entries: ReplayEntry[];
  deadLetter(dl: DeadLetter): void;
  /**
   * Time of the previous record of the file: a record without a usable time takes it, so it keeps
   * its place in the file's order.
   */
  lastTime: number;
}

/**
 * Converts one parsed value of a file of `format` (a whole document, or an NDJSON line when `line`
 * is given) into entries, dead-lettering what does not fit. Entries of one document are sorted by
 * time (CloudTrail files are not), keeping file order among equal times.
 *
 * @example
 * const ctx: ExtractContext = { file: 'trail.json', entries: [], deadLetter: (dl) => dls.push(dl), lastTime: -Infinity };
 * extract('cloudtrail', JSON.parse(text), undefined, ctx);
 */
export function extract(format: Exclude<ReplayFormat, 'arrow'>, doc: unknown, line: number | undefined, ctx: ExtractContext, raw?: string): void {
  switch (format) {
    case 'kinesis-records':
      kinesisRecord(doc, position(ctx.file, line), ctx, raw);
      return;
    case 'log-events':
      logEventLine(doc, position(ctx.file, line), ctx, raw);
      return;
    case 'kinesis-get-records':
    case 'cloudtrail':
    case 'filter-log-events':
      extractDocument(format, doc, line, ctx, raw);
      return;
  }
}

function position(file: string, line: number | undefined, record?: number): Position {
  const pos: Position = { file };
  if (line !== undefined) pos.line = line;
  if (record !== undefined) pos.record = record;
  return pos;
}

function extractDocument(
  format: 'kinesis-get-records' | 'cloudtrail' | 'filter-log-events',
  doc: unknown,
  line: number | undefined,
  ctx: ExtractContext,
  raw: string | undefined,
): void {
  const key = format === 'filter-log-events' ? 'events' : 'Records';
  const list = isObj(doc) ? doc[key] : undefined;
  if (!Array.isArray(list)) {
    ctx.deadLetter({
      reason: 'bad-shape',
      detail: `expected a ${FORMAT_NAMES[format]} (an object with a ${key} array), like the rest of the file`,
      position: position(ctx.file, line),
      raw: deadLetterSample(raw ?? safeStringify(doc)),
    });
    return;
  }
  const start = ctx.entries.length;
  for (let i = 0; i < list.length; i++) {
    const pos = position(ctx.file, line, i);
    const rec: unknown = list[i];
    if (format === 'kinesis-get-records') kinesisRecord(rec, pos, ctx, undefined);
    else if (format === 'cloudtrail') cloudTrailRecord(rec, pos, ctx);
    else filterLogEvent(rec, pos, ctx);
  }
  sortByTime(ctx.entries, start);
}

/** Orders entries by time; written out because `a - b` is NaN for two infinite times. */
export function byTime(a: ReplayEntry, b: ReplayEntry): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
}

/** Stable sort of `entries[start..]` by time; a no-op (one pass) when already ordered. */
function sortByTime(entries: ReplayEntry[], start: number): void {
  let ordered = true;
  for (let i = start + 1; i < entries.length; i++) {
    if (entries[i]!.time < entries[i - 1]!.time) {
      ordered = false;
      break;
    }
  }
  if (ordered) return;
  const tail = entries.splice(start).sort(byTime);
  for (const e of tail) entries.push(e);
}

function badRecord(ctx: ExtractContext, pos: Position, reason: string, detail: string, rec: unknown, raw?: string): void {
  ctx.deadLetter({ reason, detail, position: pos, raw: deadLetterSample(raw ?? safeStringify(rec)) });
}

function safeStringify(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function timeOr(ctx: ExtractContext, t: number): number {
  if (Number.isFinite(t)) {
    ctx.lastTime = t;
    return t;
  }
  return ctx.lastTime;
}

/**
 * A Kinesis `ApproximateArrivalTimestamp` in epoch ms: the AWS CLI prints epoch seconds with a
 * fraction (v1, and v2 with `cli_timestamp_format = none`) or ISO-8601 (v2's default); SDK dumps
 * hold epoch ms or an ISO string.
 *
 * @example
 * arrivalTime(1704067200.123);                         // → 1704067200123
 * arrivalTime('2024-01-01T00:00:00.123000+00:00');    // → 1704067200123
 */
export function arrivalTime(v: unknown): number {
  if (typeof v === 'number') return v < 1e11 ? Math.round(v * 1000) : v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n < 1e11 ? Math.round(n * 1000) : n;
    return Date.parse(v);
  }
  return NaN;
}

function kinesisRecord(rec: unknown, pos: Position, ctx: ExtractContext, raw: string | undefined): void {
  if (!isObj(rec) || typeof rec.Data !== 'string' || rec.Data.length === 0) {
    badRecord(ctx, pos, 'bad-shape', 'a Kinesis record needs Data (the base64 payload) as a non-empty string', rec, raw);
    return;
  }
  if (typeof rec.SequenceNumber === 'string') pos.sequence = rec.SequenceNumber;
  const arrival = arrivalTime(rec.ApproximateArrivalTimestamp);
  const time = timeOr(ctx, arrival);
  const item: SourceItem = Number.isFinite(arrival)
    ? { type: 'payload', data: rec.Data, position: pos, arrival }
    : { type: 'payload', data: rec.Data, position: pos };
  ctx.entries.push({ kind: 'item', time, item });
}

/** Epoch ms from a number or a numeric string; NaN otherwise. */
function epochMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function idOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function logEventLine(rec: unknown, pos: Position, ctx: ExtractContext, raw: string | undefined): void {
  if (!isObj(rec)) {
    badRecord(ctx, pos, 'bad-shape', 'expected a {logGroup, logStream, timestamp, message} object', rec, raw);
    return;
  }
  const timestamp = epochMs(rec.timestamp);
  const problem =
    typeof rec.logGroup !== 'string' || rec.logGroup.length === 0
      ? 'logGroup must be a non-empty string'
      : typeof rec.message !== 'string'
        ? 'message must be a string'
        : !Number.isFinite(timestamp)
          ? 'timestamp must be epoch milliseconds'
          : rec.logStream !== undefined && typeof rec.logStream !== 'string'
            ? 'logStream must be a string'
            : undefined;
  if (problem) {
    badRecord(ctx, pos, 'bad-field', problem, rec, raw);
    return;
  }
  const event: LogEvent = {
    logGroup: rec.logGroup as string,
    logStream: (rec.logStream as string | undefined) ?? '',
    timestamp,
    message: rec.message as string,
  };
  if (typeof rec.owner === 'string') event.owner = rec.owner;
  if (typeof rec.region === 'string') event.region = rec.region;
  const id = idOf(rec.id);
  if (id !== undefined) event.id = id;
  pos.logGroup = event.logGroup;
  if (id !== undefined) pos.logEventId = id;
  ctx.entries.push({ kind: 'item', time: timeOr(ctx, timestamp), item: { type: 'log-event', event, position: pos } });
}

function filterLogEvent(rec: unknown, pos: Position, ctx: ExtractContext): void {
  const timestamp = isObj(rec) ? epochMs(rec.timestamp) : NaN;
  if (!isObj(rec) || typeof rec.message !== 'string' || !Number.isFinite(timestamp)) {
    badRecord(ctx, pos, 'bad-field', 'a filter-log-events event needs message (string) and timestamp (epoch ms)', rec);
    return;
  }
  const logGroup = ctx.logGroup ?? '';
  const event: LogEvent = {
    logGroup,
    logStream: typeof rec.logStreamName === 'string' ? rec.logStreamName : '',
    timestamp,
    message: rec.message,
  };
  const id = idOf(rec.eventId);
  if (id !== undefined) event.id = id;
  pos.logGroup = logGroup;
  if (id !== undefined) pos.logEventId = id;
  ctx.entries.push({ kind: 'item', time: timeOr(ctx, timestamp), item: { type: 'log-event', event, position: pos } });
}

function cloudTrailRecord(rec: unknown, pos: Position, ctx: ExtractContext): void {
  if (!isObj(rec)) {
    badRecord(ctx, pos, 'bad-shape', 'a CloudTrail record must be a JSON object', rec);
    return;
  }
  const time = typeof rec.eventTime === 'string' ? Date.parse(rec.eventTime) : NaN;
  ctx.entries.push({ kind: 'item', time: timeOr(ctx, time), item: { type: 'cloudtrail', record: rec, position: pos } });
}
