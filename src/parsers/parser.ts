/**
 * The telemetry parser: subscription payloads, log events and CloudTrail records in, normalized
 * events out through a {@link ParseSink}. Pure (no I/O, no clock); state is bounded.
 *
 * Every input ends in sink calls that account for it: a payload is a dead letter, a control message,
 * or one `logEvent`/dead letter per entry; every log event then ends in one or more events, or in
 * exactly one `ignored` or dead letter.
 */
import { deadLetterSample, type LogEvent, type Position } from '../core/events.ts';
import type { ParseSink } from '../core/parse-sink.ts';
import { UsageError } from '../core/contracts.ts';
import type { Parser, ParserOptions } from './index.ts';
import { RecentIds, StreamIdWindow } from './bounded.ts';
import { payloadText } from './envelope.ts';
import { CloudTrailParser } from './cloudtrail.ts';
import { LambdaLogParser } from './lambda-logs.ts';
import { NetworkParser, type NetworkOutcome } from './network.ts';
import { deadLetterLogEvent, sampleOf } from './dead-letter.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** CloudWatch ids shorter than this (moto's 0, 1, 2 …) are only unique within a stream. */
const GLOBAL_ID_MIN_LENGTH = 20;

/**
 * A real CloudWatch event id is a 56-digit decimal of roughly `timestamp × 2^144 + low bits`
 * (1432826855000 × 2^144 ≈ the documented example id). Two distinct ids of one timestamp share their
 * last 24 digits only if they differ by a multiple of 10^24, which binary fields do not line up with;
 * so the dedupe key is those 24 digits plus the event timestamp, at half the hashing cost of the id.
 */
const CLOUDWATCH_ID_LENGTH = 56;
const CLOUDWATCH_ID_SUFFIX = 24;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Default dedupe window (delivery ids remembered). */
export const DEFAULT_DEDUPE_IDS = 200_000;

/**
 * Implementation of {@link Parser}; construct through `createParser`.
 *
 * @example
 * const parser = new TelemetryParser({ region: 'us-east-1' });
 * parser.payload(kinesisRecord.Data, { shard: 'shardId-000000000000', sequence: '4959…' }, sink);
 */
export class TelemetryParser implements Parser {
  private readonly ids: RecentIds | undefined;
  private readonly streamIds: StreamIdWindow | undefined;
  private readonly region: string | undefined;
  private readonly cloudTrailGroups: ReadonlySet<string>;
  private readonly flowGroups: ReadonlySet<string>;
  private readonly resolverGroups: ReadonlySet<string>;
  /** Whether any group was named in the options (skips three set lookups per event otherwise) */
  private readonly namedGroups: boolean;
  private readonly lambda: LambdaLogParser;
  private readonly trail: CloudTrailParser;
  private readonly network: NetworkParser;

  constructor(opts: ParserOptions = {}) {
    const dedupe = opts.dedupeIds ?? DEFAULT_DEDUPE_IDS;
    if (!Number.isInteger(dedupe) || dedupe < 0) throw new UsageError(`parser dedupeIds must be a non-negative integer, got ${dedupe}`);
    this.ids = dedupe > 0 ? new RecentIds(dedupe) : undefined;
    this.streamIds = dedupe > 0 ? new StreamIdWindow(dedupe) : undefined;
    this.region = opts.region;
    this.cloudTrailGroups = new Set(opts.cloudTrailLogGroups ?? []);
    this.flowGroups = new Set(opts.flowLogGroups ?? []);
    this.resolverGroups = new Set(opts.resolverLogGroups ?? []);
    this.namedGroups = this.cloudTrailGroups.size + this.flowGroups.size + this.resolverGroups.size > 0;
    this.lambda = new LambdaLogParser({ region: opts.region });
    this.trail = new CloudTrailParser({ isKnownFunction: opts.isKnownFunction });
    try {
      this.network = new NetworkParser(opts.networkMap, opts.flowLogFormat, opts.region);
    } catch (err) {
      throw new UsageError(`parser flowLogFormat: ${(err as Error).message}`);
    }
  }

  payload(data: Uint8Array | string, pos: Position, out: ParseSink): void {
    const text = payloadText(data);
    if (typeof text !== 'string') {
      const raw = typeof data === 'string' || data instanceof Uint8Array ? data : sampleOf(data);
      out.deadLetter({ reason: text.reason, detail: text.detail, position: pos, raw: deadLetterSample(raw) });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      out.deadLetter({ reason: 'bad-json', detail: `payload is not valid JSON: ${(err as Error).message}`, position: pos, raw: deadLetterSample(text) });
      return;
    }
    if (!isObj(doc)) {
      out.deadLetter({ reason: 'bad-payload', detail: 'payload JSON is not an object', position: pos, raw: deadLetterSample(text) });
      return;
    }
    const type = doc.messageType;
    if (type === 'CONTROL_MESSAGE') {
      out.control();
      return;
    }
    if (type === 'DATA_MESSAGE' || (type === undefined && doc.logEvents !== undefined)) {
      this.dataMessage(doc, text, pos, out);
      return;
    }
    if (type === undefined && Array.isArray(doc.Records)) {
      // A CloudTrail log file's content delivered as one payload.
      for (const rec of doc.Records) this.cloudTrailRecord(rec, pos, out);
      return;
    }
    if (type === undefined && isObj(doc.detail) && typeof doc.detail.eventSource === 'string') {
      // EventBridge "AWS API Call via CloudTrail": the record is `detail`.
      this.cloudTrailRecord(doc.detail, pos, out);
      return;
    }
    const what = type === undefined ? 'no messageType' : `messageType ${JSON.stringify(type).slice(0, 60)}`;
    out.deadLetter({ reason: 'bad-payload', detail: `payload has ${what}`, position: pos, raw: deadLetterSample(text) });
  }

  private dataMessage(doc: Obj, text: string, pos: Position, out: ParseSink): void {
    const { logGroup, logStream, owner, logEvents } = doc;
    let problem: string | undefined;
    if (typeof logGroup !== 'string' || logGroup.length === 0) problem = 'logGroup is not a non-empty string';
    else if (typeof logStream !== 'string') problem = 'logStream is not a string';
    else if (owner !== undefined && typeof owner !== 'string') problem = 'owner is not a string';
    else if (!Array.isArray(logEvents)) problem = 'logEvents is not an array';
    if (problem !== undefined) {
      out.deadLetter({ reason: 'bad-payload', detail: `DATA_MESSAGE ${problem}`, position: pos, raw: deadLetterSample(text) });
      return;
    }
    const group = logGroup as string;
    const stream = logStream as string;
    const account = owner as string | undefined;
    const events = logEvents as unknown[];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (!isObj(e)) {
        this.badEntry(out, pos, group, undefined, `logEvents[${i}] is not an object`, e);
        continue;
      }
      const { id, timestamp, message } = e;
      let eventId: string | undefined;
      if (typeof id === 'string') eventId = id;
      else if (typeof id === 'number' && Number.isSafeInteger(id)) eventId = String(id);
      else if (id !== undefined && id !== null) {
        this.badEntry(out, pos, group, undefined, `logEvents[${i}].id is ${typeof id}, expected a string`, e);
        continue;
      }
      if (typeof message !== 'string') {
        this.badEntry(out, pos, group, eventId, `logEvents[${i}].message is ${message === null ? 'null' : typeof message}, expected a string`, e);
        continue;
      }
      if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
        this.badEntry(out, pos, group, eventId, `logEvents[${i}].timestamp is ${typeof timestamp}, expected epoch ms`, e);
        continue;
      }
      const le: LogEvent = {
        logGroup: group,
        logStream: stream,
        owner: account,
        region: this.region,
        id: eventId,
        timestamp,
        message,
      };
      out.logEvent?.(le);
      this.handle(le, pos, out);
    }
  }

  private badEntry(out: ParseSink, pos: Position, logGroup: string, id: string | undefined, detail: string, entry: unknown): void {
    const position: Position = { ...pos, logGroup };
    if (id !== undefined) position.logEventId = id;
    const raw = isObj(entry) && typeof entry.message === 'string' ? entry.message : sampleOf(entry);
    out.deadLetter({ reason: 'bad-field', detail, position, raw: deadLetterSample(raw) });
  }

  logEvent(le: LogEvent, pos: Position, out: ParseSink): void {
    let problem: string | undefined;
    if (!isObj(le)) problem = 'log event is not an object';
    else if (typeof le.message !== 'string') problem = 'message is not a string';
    else if (typeof le.timestamp !== 'number' || !Number.isFinite(le.timestamp)) problem = 'timestamp is not epoch ms';
    else if (typeof le.logGroup !== 'string') problem = 'logGroup is not a string';
    else if (typeof le.logStream !== 'string') problem = 'logStream is not a string';
    else if (le.id !== undefined && typeof le.id !== 'string') problem = 'id is not a string';
    if (problem !== undefined) {
      const position: Position = { ...pos };
      if (isObj(le) && typeof le.logGroup === 'string') position.logGroup = le.logGroup;
      out.deadLetter({ reason: 'bad-field', detail: `log event ${problem}`, position, raw: deadLetterSample(sampleOf(le)) });
      return;
    }
    out.logEvent?.(le);
    this.handle(le, pos, out);
  }

  cloudTrailRecord(rec: unknown, pos: Position, out: ParseSink): void {
    this.cloudTrail(rec, pos, undefined, out);
  }

  /** One validated log event. */
  private handle(le: LogEvent, pos: Position, out: ParseSink): void {
    if (this.ids !== undefined && le.id !== undefined) {
      const id = le.id;
      const seen =
        id.length === CLOUDWATCH_ID_LENGTH
          ? this.streamIds!.seen(le.logGroup, le.logStream, id, CLOUDWATCH_ID_SUFFIX, le.timestamp)
          : id.length >= GLOBAL_ID_MIN_LENGTH
            ? this.ids.seen(id)
            : this.ids.seen(id, le.logGroup, le.logStream);
      if (seen) {
        out.ignored('duplicate');
        return;
      }
    }
    const group = le.logGroup;
    const m = le.message;
    if (this.namedGroups && this.namedGroup(le, pos, out)) return;
    const c = m.charCodeAt(0);
    if (c === 0x7b /* { */) return this.jsonMessage(le, pos, out);
    if (isDigit(c) && (m.charCodeAt(1) === 0x20 || (isDigit(m.charCodeAt(1)) && m.charCodeAt(2) === 0x20)) && this.network.looksLikeFlow(m)) {
      return this.networkOutcome(this.network.flow(m, this.lineContext(le)), le, pos, out);
    }
    this.lambda.text(le, pos, out);
  }

  /** Log events of groups named in the options (CloudTrail, flow, resolver); false when `le` is in none. */
  private namedGroup(le: LogEvent, pos: Position, out: ParseSink): boolean {
    const group = le.logGroup;
    const m = le.message;
    if (this.cloudTrailGroups.has(group)) {
      const rec = this.parseJsonMessage(le, pos, out, 'CloudTrail log group message');
      if (rec !== undefined) this.cloudTrail(rec, pos, le, out);
      return true;
    }
    if (this.flowGroups.has(group)) {
      this.networkOutcome(this.network.flow(m, this.lineContext(le)), le, pos, out);
      return true;
    }
    if (this.resolverGroups.has(group)) {
      const rec = this.parseJsonMessage(le, pos, out, 'resolver query log message');
      if (rec === undefined) return true;
      if (!isObj(rec)) deadLetterLogEvent(out, pos, le, 'bad-record', 'resolver query log message is not a JSON object');
      else this.networkOutcome(this.network.resolver(rec, this.lineContext(le)), le, pos, out);
      return true;
    }
    return false;
  }

  /** A JSON message in a group whose messages must be JSON; dead-letters and returns undefined otherwise. */
  private parseJsonMessage(le: LogEvent, pos: Position, out: ParseSink, what: string): unknown {
    try {
      return JSON.parse(le.message);
    } catch (err) {
      deadLetterLogEvent(out, pos, le, 'bad-json', `${what} is not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** A `{`-message in a Lambda (or unknown) group: platform record, app record, or telemetry detected by content. */
  private jsonMessage(le: LogEvent, pos: Position, out: ParseSink): void {
    const m = le.message;
    if (this.lambda.jsonWithoutParsing(le, pos, out)) return;
    let obj: unknown;
    try {
      obj = JSON.parse(m);
    } catch (err) {
      // Apps print brace-led text that is not JSON; only a would-be platform record is a parse failure.
      if (m.startsWith('{"time"') || m.lastIndexOf('"type":"platform.', 200) !== -1) {
        return deadLetterLogEvent(out, pos, le, 'bad-json', `platform record is not valid JSON: ${(err as Error).message}`);
      }
      return out.ignored('app');
    }
    if (!isObj(obj)) return out.ignored('app');
    if (typeof obj.eventVersion === 'string' && typeof obj.eventSource === 'string') return this.cloudTrail(obj, pos, le, out);
    if (typeof obj.query_name === 'string' && obj.srcaddr !== undefined && obj.type === undefined) {
      return this.networkOutcome(this.network.resolver(obj, this.lineContext(le)), le, pos, out);
    }
    this.lambda.json(obj, le, pos, out);
  }

  private cloudTrail(rec: unknown, pos: Position, le: LogEvent | undefined, out: ParseSink): void {
    if (this.ids !== undefined && isObj(rec) && typeof rec.eventID === 'string' && rec.eventID.length > 0) {
      if (this.ids.seen(rec.eventID)) {
        out.ignored('duplicate');
        return;
      }
    }
    const r = this.trail.parse(rec);
    if (!r.ok) {
      if (le !== undefined) return deadLetterLogEvent(out, pos, le, r.reason, r.detail);
      out.deadLetter({ reason: r.reason, detail: r.detail, position: pos, raw: deadLetterSample(sampleOf(rec)) });
      return;
    }
    if (r.events === undefined) return out.ignored(r.ignored);
    for (const ev of r.events) out.event(ev);
  }

  private lineContext(le: LogEvent): { time: number; owner?: string; region?: string; id?: string } {
    return { time: le.timestamp, owner: le.owner, region: le.region ?? this.region, id: le.id };
  }

  private networkOutcome(r: NetworkOutcome, le: LogEvent, pos: Position, out: ParseSink): void {
    if (!r.ok) return deadLetterLogEvent(out, pos, le, r.reason, r.detail);
    if (r.events === undefined) return out.ignored(r.ignored);
    for (const ev of r.events) out.event(ev);
  }
}
