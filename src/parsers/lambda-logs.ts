/**
 * Lambda platform and application log lines, text and JSON formats, decided per log event (a function
 * can switch `LogFormat` at any time). See /work/shared/reference/lambda-logs.md.
 *
 * State kept between lines, all bounded: per log stream (one stream = one execution environment) the
 * function behind a shared log group, the version, and a pending abnormal end for a request whose
 * REPORT has not arrived yet; per function the last version seen.
 */
import type {
  FunctionRef,
  InvocationEvent,
  InvocationStatus,
  LogEvent,
  LogFormat,
  Position,
} from '../core/events.ts';
import type { ParseSink } from '../core/parse-sink.ts';
import { GenerationalMap } from './bounded.ts';
import { deadLetterLogEvent } from './dead-letter.ts';
import { EGRESS_PREFIX, EGRESS_PREFIX_ESCAPED, egressFromFields, looksLikeEgress, scanEgress, scannedEgress } from './egress.ts';

/** Per-function state, interned so events of one function share one {@link FunctionRef}. */
interface FunctionState {
  readonly ref: FunctionRef;
  lastVersion: string | undefined;
}

/** Per-log-stream state (one stream = one execution environment). */
interface StreamState {
  readonly group: string;
  /** Function name from a custom group's stream name or from `platform.initStart` */
  name: string | undefined;
  version: string | undefined;
  pendingRequestId: string | undefined;
  pendingStatus: InvocationStatus | undefined;
  pendingErrorType: string | undefined;
}

/** Platform lines are under 1 KB; one this long is corrupt, not a REPORT. */
export const MAX_PLATFORM_LINE = 64 * 1024;

const LAMBDA_GROUP_PREFIX = '/aws/lambda/';
const REPORT_PREFIX = 'REPORT RequestId: ';
const START_PREFIX = 'START RequestId: ';
const VERSION_MARK = 'Version: ';

/** End index of the last {@link readNumber} / {@link tokenEnd} scan (module state: no tuple allocation). */
let scanEnd = 0;

/**
 * Reads an unsigned decimal (`128`, `128.83`) at `i`. Sets {@link scanEnd}; returns NaN when the token
 * there is not such a number. Mantissa ÷ power of ten is correctly rounded, so values equal parseFloat's.
 */
function readNumber(s: string, i: number, inJson = false): number {
  let mantissa = 0;
  let scale = 1;
  let digits = 0;
  let c = s.charCodeAt(i);
  while (c >= 0x30 && c <= 0x39) {
    mantissa = mantissa * 10 + (c - 0x30);
    digits++;
    c = s.charCodeAt(++i);
  }
  if (c === 0x2e /* . */) {
    c = s.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      scale *= 10;
      digits++;
      c = s.charCodeAt(++i);
    }
  }
  scanEnd = i;
  // The number must end at whitespace (or `,`/`}` in JSON) or the end, and fit a double's integer range.
  const delimited = Number.isNaN(c) || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || (inJson && (c === 0x2c || c === 0x7d));
  if (digits === 0 || digits > 15 || !delimited) {
    scanEnd = tokenEnd(s, i);
    return NaN;
  }
  return scale === 1 ? mantissa : mantissa / scale;
}

/**
 * Index of the first tab or space at or after `i` (or the length), by native search: cheaper than a
 * char loop over a 36-char request id.
 */
function nextSeparator(s: string, i: number): number {
  const tab = s.indexOf('\t', i);
  const space = s.indexOf(' ', i);
  const nl = s.indexOf('\n', i);
  let end = s.length;
  if (tab !== -1) end = tab;
  if (space !== -1 && space < end) end = space;
  if (nl !== -1 && nl < end) end = nl;
  return end;
}

/**
 * The number after `key` within [from, end): undefined when the key is absent, NaN when the value is
 * not a plain non-negative decimal (the caller then falls back to JSON.parse and its validation).
 */
function jsonNumber(s: string, key: string, from: number, end: number): number | undefined {
  const at = s.indexOf(key, from);
  if (at === -1 || at > end) return undefined;
  return readNumber(s, at + key.length, true);
}

/**
 * The string value after `key` (from `from` on): undefined when the key is absent, null when the value
 * is not a plain string (not a string, or one with escapes).
 */
function jsonString(s: string, key: string, from: number): string | undefined | null {
  const at = s.indexOf(key, from);
  if (at === -1) return undefined;
  const open = at + key.length;
  if (s.charCodeAt(open) !== 0x22 /* " */) return null;
  const close = s.indexOf('"', open + 1);
  if (close === -1) return null;
  const value = s.slice(open + 1, close);
  return value.includes('\\') ? null : value;
}

/** Index of the first non-whitespace char at or after `i` (or the length). */
function skipSpace(s: string, i: number): number {
  let c = s.charCodeAt(i);
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = s.charCodeAt(++i);
  return Number.isNaN(c) ? s.length : i;
}

/** Index of the first whitespace at or after `i` (or the length). */
function tokenEnd(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) break;
    i++;
  }
  return i;
}

/** `<ts> <requestId> Task timed out after …`, `RequestId: <id> Process exited before completing request`, … */
const RUNTIME_FAILURE =
  /^(?:RequestId: |\S+[ \t]+)(\S+)[ \t]+(?:Error: )?(Task timed out after|Process exited before completing request|Runtime exited)/;

const REPORT_NONE = 0;
const REPORT_DURATION = 1;
const REPORT_BILLED = 2;
const REPORT_MEMORY = 3;
const REPORT_MAX_MEMORY = 4;
const REPORT_INIT = 5;
const REPORT_RESTORE = 6;
const REPORT_SKIP_NUMBER = 7;
const REPORT_STATUS = 8;
const REPORT_ERROR_TYPE = 9;
const REPORT_FIELD_NAMES = ['', 'Duration', 'Billed Duration', 'Memory Size', 'Max Memory Used', 'Init Duration', 'Restore Duration', 'Billed Restore Duration', 'Status', 'Error Type'];

const STATUS_RANK: Record<InvocationStatus, number> = { success: 0, error: 1, crash: 2, timeout: 3 };

/**
 * Platform `status` / text `Status:` → {@link InvocationStatus}. `failure`, `error` and any value not
 * known yet are abnormal ends, so they map to `error`.
 *
 * @example
 * mapStatus('timeout'); // → 'timeout'
 * mapStatus('failure'); // → 'error'
 */
export function mapStatus(status: string | undefined): InvocationStatus {
  if (status === undefined || status === 'success') return 'success';
  if (status === 'timeout') return 'timeout';
  return 'error';
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `YYYY/MM/DD/` prefix of a Lambda log stream name. */
function hasDatePrefix(stream: string): boolean {
  return stream.length > 12 && stream.charCodeAt(4) === 0x2f && stream.charCodeAt(7) === 0x2f && stream.charCodeAt(10) === 0x2f;
}

/** `"errorType":"X"` inside an `Invoke Error` payload, without parsing the (possibly large) JSON. */
function errorTypeIn(s: string, from: number): string | undefined {
  const at = s.indexOf('"errorType":"', from);
  if (at === -1) return undefined;
  const start = at + 13;
  const end = s.indexOf('"', start);
  return end === -1 || end - start > 200 ? undefined : s.slice(start, end);
}

/** What a REPORT line or `platform.report` record says, however it was read (text scan, JSON search, JSON.parse). */
interface ReportFields {
  requestId: string | undefined;
  durationMs: number | undefined;
  billedDurationMs: number | undefined;
  memorySizeMB: number | undefined;
  maxMemoryUsedMB: number | undefined;
  initDurationMs: number | undefined;
  restoreDurationMs: number | undefined;
  status: string | undefined;
  errorType: string | undefined;
}

/** The one scratch {@link ReportFields}: refilled per report and copied into the event, so reading allocates nothing. */
const scratchReport: ReportFields = {
  requestId: undefined,
  durationMs: undefined,
  billedDurationMs: undefined,
  memorySizeMB: undefined,
  maxMemoryUsedMB: undefined,
  initDurationMs: undefined,
  restoreDurationMs: undefined,
  status: undefined,
  errorType: undefined,
};

/** {@link scratchReport}, emptied for the next report. */
function clearReport(): ReportFields {
  const r = scratchReport;
  r.requestId = undefined;
  r.durationMs = undefined;
  r.billedDurationMs = undefined;
  r.memorySizeMB = undefined;
  r.maxMemoryUsedMB = undefined;
  r.initDurationMs = undefined;
  r.restoreDurationMs = undefined;
  r.status = undefined;
  r.errorType = undefined;
  return r;
}

/**
 * Index of the `"` closing a JSON string body that starts at `i`, or -1 when the body has a backslash
 * or a control character before it (its raw text is then not its value) or does not end.
 */
function plainStringEnd(m: string, i: number): number {
  const n = m.length;
  for (; i < n; i++) {
    const c = m.charCodeAt(i);
    if (c === 0x22 /* " */) return i;
    if (c < 0x20 || c === 0x5c /* \ */) return -1;
  }
  return -1;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Options of {@link LambdaLogParser}. */
export interface LambdaLogOptions {
  /** Default region when the log event does not say */
  region?: string;
  /** Caps on remembered streams and functions (defaults 50 000 / 100 000, per generation) */
  maxStreams?: number;
  maxFunctions?: number;
}

/**
 * Parses Lambda log events (platform and application lines) into invocation, change and egress events.
 *
 * @example
 * const lambda = new LambdaLogParser({ region: 'us-east-1' });
 * lambda.text(logEvent, position, sink);            // START/END/REPORT/app lines
 * lambda.json(JSON.parse(msg), logEvent, position, sink); // platform.* records and JSON app records
 */
export class LambdaLogParser {
  private readonly functions: GenerationalMap<string, FunctionState>;
  private readonly streams: GenerationalMap<string, StreamState>;
  /** Fast path for `/aws/lambda/<name>` groups: group → function state, skips building the key string. */
  private readonly byGroup: GenerationalMap<string, FunctionState>;
  private readonly region: string | undefined;

  constructor(opts: LambdaLogOptions = {}) {
    this.region = opts.region;
    this.functions = new GenerationalMap(opts.maxFunctions ?? 100_000);
    this.byGroup = new GenerationalMap(opts.maxFunctions ?? 100_000);
    this.streams = new GenerationalMap(opts.maxStreams ?? 50_000);
  }

  // ---------------------------------------------------------------- text format

  /** One text-format log event (anything not starting with `{`). */
  text(le: LogEvent, pos: Position, out: ParseSink): void {
    const m = le.message;
    switch (m.charCodeAt(0)) {
      case 0x52 /* R */:
        if (m.startsWith(REPORT_PREFIX)) return this.textReport(le, pos, out);
        if (m.startsWith('RequestId: ')) return this.runtimeFailureLine(le, out);
        if (m.startsWith('RESTORE_')) return out.ignored('platform');
        break;
      case 0x53 /* S */:
        if (m.startsWith(START_PREFIX)) return this.textStart(le, pos, out);
        break;
      case 0x45 /* E */:
        if (m.startsWith('END RequestId: ') || m.startsWith('EXTENSION')) return out.ignored('platform');
        break;
      case 0x49 /* I */:
        if (m.startsWith('INIT_')) return out.ignored('platform');
        break;
      case 0x54 /* T */:
        if (m.startsWith('TELEMETRY')) return out.ignored('platform');
        break;
      default:
        if (isDigit(m.charCodeAt(0))) return this.textAppLine(le, pos, out);
    }
    out.ignored('app');
  }

  private textStart(le: LogEvent, pos: Position, out: ParseSink): void {
    const m = le.message;
    if (m.length > MAX_PLATFORM_LINE) return deadLetterLogEvent(out, pos, le, 'oversize-line', `START line of ${m.length} chars`);
    const at = m.indexOf(VERSION_MARK, START_PREFIX.length);
    const fs = this.functionFor(le);
    if (at === -1 || fs === undefined) return out.ignored(fs === undefined ? 'lambda-unattributed' : 'platform');
    const from = at + VERSION_MARK.length;
    const end = tokenEnd(m, from);
    if (end === from) return out.ignored('platform');
    const s = this.stream(le);
    // Every START of an environment repeats its version: reuse the string instead of slicing a new one.
    const known = s.version;
    const version = known !== undefined && end - from === known.length && m.startsWith(known, from) ? known : m.slice(from, end);
    s.version = version;
    if (!this.noteVersion(fs, version, le, 'START Version', out)) out.ignored('platform');
  }

  private textReport(le: LogEvent, pos: Position, out: ParseSink): void {
    const m = le.message;
    if (m.length > MAX_PLATFORM_LINE) return deadLetterLogEvent(out, pos, le, 'oversize-line', `REPORT line of ${m.length} chars`);
    const fs = this.functionFor(le);
    if (fs === undefined) return out.ignored('lambda-unattributed');
    const idEnd = nextSeparator(m, REPORT_PREFIX.length);
    const r = clearReport();
    r.requestId = m.slice(REPORT_PREFIX.length, idEnd);
    // Token by token: separators vary (tab, space, space before tab), so only `Key: value` is relied
    // on. A key is recognised only at a token start, and a matched key's value is consumed with it,
    // so `Duration` is never read out of `Billed Duration`, `Init Duration` or `Restore Duration`.
    const n = m.length;
    let i = skipSpace(m, idEnd);
    // Fast path for the usual head `Duration … Billed Duration … Memory Size … Max Memory Used …`:
    // keys checked where they are expected, so only the digits are walked in JS. Any surprise hands
    // over to the general scan below from where the fast path stopped.
    if (m.startsWith('Duration: ', i)) {
      const v = readNumber(m, i + 10);
      if (v >= 0 && m.startsWith(' ms', scanEnd)) {
        r.durationMs = v;
        i = skipSpace(m, scanEnd + 3);
        if (m.startsWith('Billed Duration: ', i)) {
          const b = readNumber(m, i + 17);
          if (b >= 0 && m.startsWith(' ms', scanEnd)) {
            r.billedDurationMs = b;
            i = skipSpace(m, scanEnd + 3);
            if (m.startsWith('Memory Size: ', i)) {
              const mem = readNumber(m, i + 13);
              if (mem >= 0 && m.startsWith(' MB', scanEnd)) {
                r.memorySizeMB = mem;
                i = skipSpace(m, scanEnd + 3);
                if (m.startsWith('Max Memory Used: ', i)) {
                  const max = readNumber(m, i + 17);
                  if (max >= 0 && m.startsWith(' MB', scanEnd)) {
                    r.maxMemoryUsedMB = max;
                    i = skipSpace(m, scanEnd + 3);
                  }
                }
              }
            }
          }
        }
      }
    }
    while (i < n) {
      const c = m.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        i++;
        continue;
      }
      let field = REPORT_NONE;
      let at = i;
      switch (c) {
        case 0x44 /* D */:
          if (m.startsWith('Duration: ', i)) (field = REPORT_DURATION), (at = i + 10);
          break;
        case 0x42 /* B */:
          if (m.startsWith('Billed Duration: ', i)) (field = REPORT_BILLED), (at = i + 17);
          else if (m.startsWith('Billed Restore Duration: ', i)) (field = REPORT_SKIP_NUMBER), (at = i + 25);
          break;
        case 0x4d /* M */:
          if (m.startsWith('Memory Size: ', i)) (field = REPORT_MEMORY), (at = i + 13);
          else if (m.startsWith('Max Memory Used: ', i)) (field = REPORT_MAX_MEMORY), (at = i + 17);
          break;
        case 0x49 /* I */:
          if (m.startsWith('Init Duration: ', i)) (field = REPORT_INIT), (at = i + 15);
          break;
        case 0x52 /* R */:
          if (m.startsWith('Restore Duration: ', i)) (field = REPORT_RESTORE), (at = i + 18);
          break;
        case 0x53 /* S */:
          if (m.startsWith('Status: ', i)) (field = REPORT_STATUS), (at = i + 8);
          break;
        case 0x45 /* E */:
          if (m.startsWith('Error Type: ', i)) (field = REPORT_ERROR_TYPE), (at = i + 12);
          break;
      }
      if (field === REPORT_NONE) {
        // X-Ray fields close the line: nothing fnwatch reads follows them.
        if (c === 0x58 /* X */ && m.startsWith('XRAY ', i)) break;
        i = tokenEnd(m, i);
        continue;
      }
      while (m.charCodeAt(at) === 0x20) at++;
      if (field === REPORT_STATUS || field === REPORT_ERROR_TYPE) {
        i = tokenEnd(m, at);
        if (field === REPORT_STATUS) r.status = m.slice(at, i);
        else r.errorType = m.slice(at, i);
        continue;
      }
      const v = readNumber(m, at);
      if (Number.isNaN(v)) {
        return deadLetterLogEvent(out, pos, le, 'bad-field', `REPORT ${REPORT_FIELD_NAMES[field]} ${JSON.stringify(m.slice(at, Math.min(scanEnd, at + 40)))} is not a number`);
      }
      i = scanEnd;
      switch (field) {
        case REPORT_DURATION:
          r.durationMs = v;
          break;
        case REPORT_BILLED:
          r.billedDurationMs = v;
          break;
        case REPORT_MEMORY:
          r.memorySizeMB = v;
          break;
        case REPORT_MAX_MEMORY:
          r.maxMemoryUsedMB = v;
          break;
        case REPORT_INIT:
          r.initDurationMs = v;
          break;
        case REPORT_RESTORE:
          r.restoreDurationMs = v;
          break;
        // REPORT_SKIP_NUMBER: Billed Restore Duration has no field in the event model
      }
    }
    this.emitInvocation(le, fs, r, 'text', out);
  }

  /** Node.js app line `<ts>\t<requestId>\t<LEVEL>\t<message>`, or a free-form runtime line. */
  private textAppLine(le: LogEvent, pos: Position, out: ParseSink): void {
    const m = le.message;
    const t1 = m.indexOf('\t');
    if (t1 === -1 || t1 > 40) return this.runtimeFailureLine(le, out);
    const t2 = m.indexOf('\t', t1 + 1);
    if (t2 === -1) return this.runtimeFailureLine(le, out);
    const t3 = m.indexOf('\t', t2 + 1);
    if (t3 === -1 || t3 - t2 > 8) {
      if (m.startsWith('Task timed out after', t2 + 1)) return this.markFailure(le, m.slice(t1 + 1, t2), 'timeout', undefined, out);
      return out.ignored('app');
    }
    const body = t3 + 1;
    if (m.charCodeAt(body) === 0x7b /* { */ && looksLikeEgress(m, body)) {
      // The hook's exact form is scanned in place; anything else is parsed (the reference).
      if (scanEgress(m, body, false) && skipSpace(m, scannedEgress.end) === m.length) {
        return this.emitEgress(le, pos, scannedEgress.host, scannedEgress.port, scannedEgress.proto, out);
      }
      return this.egressText(le, pos, m.slice(body), out);
    }
    if (m.startsWith('ERROR', t2 + 1) && m.startsWith('Invoke Error', body)) {
      return this.markFailure(le, m.slice(t1 + 1, t2), 'error', errorTypeIn(m, body), out);
    }
    out.ignored('app');
  }

  private runtimeFailureLine(le: LogEvent, out: ParseSink): void {
    const m = le.message;
    const f = m.length <= MAX_PLATFORM_LINE ? RUNTIME_FAILURE.exec(m) : null;
    if (f === null) return out.ignored('app');
    const kind = f[2];
    const status: InvocationStatus = kind === 'Task timed out after' ? 'timeout' : 'crash';
    this.markFailure(le, f[1], status, kind === 'Runtime exited' ? 'Runtime.ExitError' : undefined, out);
  }

  /** Remembers an abnormal end for `requestId` until its REPORT arrives on the same stream. */
  private markFailure(
    le: LogEvent,
    requestId: string,
    status: InvocationStatus,
    errorType: string | undefined,
    out: ParseSink,
  ): void {
    const s = this.stream(le);
    if (s.pendingRequestId !== requestId || s.pendingStatus === undefined) {
      s.pendingRequestId = requestId;
      s.pendingStatus = status;
      s.pendingErrorType = errorType;
    } else if (STATUS_RANK[status] > STATUS_RANK[s.pendingStatus]) {
      s.pendingStatus = status;
      s.pendingErrorType = errorType ?? s.pendingErrorType;
    } else if (s.pendingErrorType === undefined) {
      s.pendingErrorType = errorType;
    }
    out.ignored('invocation-failure-line');
  }

  private egressText(le: LogEvent, pos: Position, json: string, out: ParseSink): void {
    let rec: unknown;
    try {
      rec = JSON.parse(json);
    } catch {
      return out.ignored('app');
    }
    if (!isObj(rec) || rec.fnwatch !== 'egress') return out.ignored('app');
    this.egress(rec, le, pos, out);
  }

  /** An instrumentation egress record (already parsed), from either log format. */
  egress(rec: Obj, le: LogEvent, pos: Position, out: ParseSink): void {
    this.emitEgress(le, pos, rec.host, rec.port, rec.proto, out);
  }

  /** An egress record's fields, parsed or scanned: the event, or a dead letter saying which field is wrong. */
  private emitEgress(le: LogEvent, pos: Position, host: unknown, port: unknown, proto: unknown, out: ParseSink): void {
    const fs = this.functionFor(le);
    if (fs === undefined) return out.ignored('egress-unattributed');
    const r = egressFromFields(host, port, proto, fs.ref, le.timestamp, le.id);
    if (r.ok) out.event(r.event);
    else deadLetterLogEvent(out, pos, le, 'bad-egress', r.detail);
  }

  // ---------------------------------------------------------------- JSON format

  /**
   * One parsed JSON log event that is not CloudTrail or network telemetry: a `platform.*` record, a
   * Telemetry-API `function`/`extension` record, or a bare JSON app record.
   */
  json(obj: Obj, le: LogEvent, pos: Position, out: ParseSink): void {
    const type = obj.type;
    if (typeof type === 'string') {
      if (type.startsWith('platform.')) return this.platform(type, obj.record, le, pos, out);
      if (type === 'function' || type === 'extension') {
        const r = obj.record;
        if (typeof r === 'string') return this.appMessage(r, undefined, undefined, le, pos, out);
        if (isObj(r)) return this.appRecord(r, le, pos, out);
        return out.ignored('app');
      }
    }
    if (obj.fnwatch === 'egress') return this.egress(obj, le, pos, out);
    if (obj.level !== undefined && obj.message !== undefined) return this.appRecord(obj, le, pos, out);
    out.ignored('app');
  }

  /** Bare JSON app record `{timestamp, level, requestId, message, …}`. */
  private appRecord(rec: Obj, le: LogEvent, pos: Position, out: ParseSink): void {
    const msg = rec.message;
    if (isObj(msg)) {
      if (msg.fnwatch === 'egress') return this.egress(msg, le, pos, out);
      return out.ignored('app');
    }
    if (typeof msg !== 'string') return out.ignored('app');
    this.appMessage(msg, rec.level, rec, le, pos, out);
  }

  private appMessage(msg: string, level: unknown, rec: Obj | undefined, le: LogEvent, pos: Position, out: ParseSink): void {
    if (looksLikeEgress(msg, 0)) return this.egressText(le, pos, msg, out);
    if (level === 'ERROR' && msg.startsWith('Invoke Error') && typeof rec?.requestId === 'string') {
      const errorType = typeof rec.errorType === 'string' ? rec.errorType : errorTypeIn(msg, 12);
      return this.markFailure(le, rec.requestId, 'error', errorType, out);
    }
    out.ignored('app');
  }

  /**
   * The JSON-format lines whose shape Lambda fixes, handled without JSON.parse (which would cost
   * more than decoding the whole payload did): classified once by their leading keys
   * (`{"time":…,"type":"platform.…"`, `{"timestamp":…,"level":…`), then platform records fnwatch does
   * not read and app records that are neither an egress record nor an `Invoke Error` are counted,
   * `platform.report` / `platform.start` are read by targeted search, and egress records in the hook's
   * exact form are scanned. Returns false, having emitted nothing, whenever the line is not exactly
   * the expected shape; the caller then parses it, and that path stays the reference (it validates
   * and dead-letters). Key patterns such as `"status":"` cannot occur inside a JSON string, where
   * quotes are escaped. Skipped platform types are counted, not validated.
   *
   * @example
   * lambda.jsonWithoutParsing(logEvent, position, sink); // → true for '{"time":"…","type":"platform.runtimeDone","record":{}}'
   */
  jsonWithoutParsing(le: LogEvent, pos: Position, out: ParseSink): boolean {
    const m = le.message;
    if (m.startsWith('{"time":"')) {
      const t = m.indexOf('"type":"', 9);
      if (t === -1 || t > 80 || !m.startsWith('platform.', t + 8)) return false;
      const name = t + 17;
      switch (m.charCodeAt(name)) {
        case 0x72 /* r */:
          if (m.startsWith('report"', name)) return this.platformRecordWithoutParsing(le, m, name, true, out);
          break;
        case 0x73 /* s */:
          if (m.startsWith('start"', name)) return this.platformRecordWithoutParsing(le, m, name, false, out);
          break;
        case 0x69 /* i */:
          if (m.startsWith('initStart"', name)) return false;
          break;
        case 0x6c /* l */:
          if (m.startsWith('logsDropped"', name)) {
            out.ignored('logs-dropped');
            return true;
          }
          break;
      }
      out.ignored('platform');
      return true;
    }
    if (m.startsWith('{"timestamp":"')) {
      const level = m.indexOf('"level":"', 14);
      if (level === -1 || level > 80) return false;
      const key = m.indexOf('"message":', level);
      if (key === -1) return false;
      const value = key + 10;
      if (m.startsWith(EGRESS_PREFIX_ESCAPED, value)) return this.jsonEgressWithoutParsing(le, pos, m, out);
      if (m.startsWith(EGRESS_PREFIX, value)) return false;
      if (m.startsWith('ERROR"', level + 9) && m.startsWith('"Invoke Error', value)) return false;
      out.ignored('app');
      return true;
    }
    return false;
  }

  /** `platform.report` / `platform.start` (`name` is where the type's name starts) by targeted search. */
  private platformRecordWithoutParsing(le: LogEvent, m: string, name: number, isReport: boolean, out: ParseSink): boolean {
    if (m.length > MAX_PLATFORM_LINE) return false;
    let last = m.length - 1;
    while (last > 0 && m.charCodeAt(last) <= 0x20) last--;
    if (m.charCodeAt(last) !== 0x7d /* } */) return false; // truncated: let JSON.parse say so
    const record = m.indexOf('"record":{', name);
    if (record === -1) return false;
    if (isReport) return this.reportWithoutParsing(le, m, record + 10, out);
    const version = jsonString(m, '"version":', record);
    if (version === null) return false;
    this.started(le, version, out);
    return true;
  }

  private reportWithoutParsing(le: LogEvent, m: string, record: number, out: ParseSink): boolean {
    const metrics = m.indexOf('"metrics":{', record);
    if (metrics === -1) return false;
    const end = m.indexOf('}', metrics + 11); // metrics is flat: its first `}` closes it
    if (end === -1) return false;
    const r = clearReport();
    r.durationMs = jsonNumber(m, '"durationMs":', metrics, end);
    r.billedDurationMs = jsonNumber(m, '"billedDurationMs":', metrics, end);
    r.memorySizeMB = jsonNumber(m, '"memorySizeMB":', metrics, end);
    r.maxMemoryUsedMB = jsonNumber(m, '"maxMemoryUsedMB":', metrics, end);
    r.initDurationMs = jsonNumber(m, '"initDurationMs":', metrics, end);
    r.restoreDurationMs = jsonNumber(m, '"restoreDurationMs":', metrics, end);
    if (
      Number.isNaN(r.durationMs) ||
      Number.isNaN(r.billedDurationMs) ||
      Number.isNaN(r.memorySizeMB) ||
      Number.isNaN(r.maxMemoryUsedMB) ||
      Number.isNaN(r.initDurationMs) ||
      Number.isNaN(r.restoreDurationMs)
    ) {
      return false;
    }
    const requestId = jsonString(m, '"requestId":', record);
    const status = jsonString(m, '"status":', record);
    const errorType = jsonString(m, '"errorType":', record);
    if (requestId === null || status === null || errorType === null) return false;
    r.requestId = requestId;
    r.status = status;
    r.errorType = errorType;
    const fs = this.functionFor(le);
    if (fs === undefined) out.ignored('lambda-unattributed');
    else this.emitInvocation(le, fs, r, 'json', out);
    return true;
  }

  /**
   * A JSON app record `{"timestamp":"…","level":"…","requestId":"…","message":"<egress record>"}` as
   * the Node.js runtime writes it, every string plain (no escapes): the egress record is scanned in
   * place. False for any other form, which JSON.parse then reads.
   */
  private jsonEgressWithoutParsing(le: LogEvent, pos: Position, m: string, out: ParseSink): boolean {
    let i = plainStringEnd(m, 14); // after `{"timestamp":"`
    if (i === -1 || !m.startsWith('","level":"', i)) return false;
    i = plainStringEnd(m, i + 11);
    if (i === -1 || !m.startsWith('","requestId":"', i)) return false;
    i = plainStringEnd(m, i + 15);
    if (i === -1 || !m.startsWith('","message":', i)) return false;
    if (!scanEgress(m, i + 12, true)) return false;
    const close = scannedEgress.end;
    if (m.charCodeAt(close) !== 0x7d /* } */ || skipSpace(m, close + 1) !== m.length) return false;
    this.emitEgress(le, pos, scannedEgress.host, scannedEgress.port, scannedEgress.proto, out);
    return true;
  }

  private platform(type: string, record: unknown, le: LogEvent, pos: Position, out: ParseSink): void {
    if (le.message.length > MAX_PLATFORM_LINE) {
      return deadLetterLogEvent(out, pos, le, 'oversize-line', `${type} record of ${le.message.length} chars`);
    }
    switch (type) {
      case 'platform.report':
        return this.jsonReport(record, le, pos, out);
      case 'platform.start': {
        if (!isObj(record)) return deadLetterLogEvent(out, pos, le, 'bad-record', 'platform.start record is not an object');
        const version = record.version;
        if (version !== undefined && typeof version !== 'string') {
          return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.start version is not a string');
        }
        return this.started(le, version, out);
      }
      case 'platform.initStart': {
        if (!isObj(record)) return deadLetterLogEvent(out, pos, le, 'bad-record', 'platform.initStart record is not an object');
        const { functionName, functionVersion } = record;
        if (functionName !== undefined && typeof functionName !== 'string') {
          return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.initStart functionName is not a string');
        }
        if (functionVersion !== undefined && typeof functionVersion !== 'string') {
          return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.initStart functionVersion is not a string');
        }
        // Cold starts are read from initDurationMs on the report, not from initStart: a
        // provisioned-concurrency initStart is a pre-warm that no caller waits for.
        const s = this.stream(le);
        if (functionName && !le.logGroup.startsWith(LAMBDA_GROUP_PREFIX)) s.name = functionName;
        const fs = this.functionFor(le);
        if (fs === undefined || !functionVersion) return out.ignored(fs === undefined ? 'lambda-unattributed' : 'platform');
        s.version = functionVersion;
        if (!this.noteVersion(fs, functionVersion, le, 'platform.initStart functionVersion', out)) out.ignored('platform');
        return;
      }
      case 'platform.logsDropped':
        return out.ignored('logs-dropped');
      default:
        return out.ignored('platform');
    }
  }

  /** `platform.start` (searched or parsed): the stream's version, and a version change when it differs. */
  private started(le: LogEvent, version: string | undefined, out: ParseSink): void {
    const fs = this.functionFor(le);
    if (fs === undefined) return out.ignored('lambda-unattributed');
    if (version === undefined || version === '') return out.ignored('platform');
    this.stream(le).version = version;
    if (!this.noteVersion(fs, version, le, 'START Version', out)) out.ignored('platform');
  }

  private jsonReport(record: unknown, le: LogEvent, pos: Position, out: ParseSink): void {
    if (!isObj(record)) return deadLetterLogEvent(out, pos, le, 'bad-record', 'platform.report record is not an object');
    const { requestId, status, errorType, metrics } = record;
    if (requestId !== undefined && typeof requestId !== 'string') {
      return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.report requestId is not a string');
    }
    if (status !== undefined && typeof status !== 'string') {
      return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.report status is not a string');
    }
    if (errorType !== undefined && typeof errorType !== 'string') {
      return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.report errorType is not a string');
    }
    if (metrics !== undefined && !isObj(metrics)) {
      return deadLetterLogEvent(out, pos, le, 'bad-field', 'platform.report metrics is not an object');
    }
    const fs = this.functionFor(le);
    if (fs === undefined) return out.ignored('lambda-unattributed');
    const r = clearReport();
    r.requestId = requestId;
    r.status = status;
    r.errorType = errorType;
    if (metrics !== undefined) {
      const bad =
        badMetric(metrics.durationMs) ??
        badMetric(metrics.billedDurationMs) ??
        badMetric(metrics.memorySizeMB) ??
        badMetric(metrics.maxMemoryUsedMB) ??
        badMetric(metrics.initDurationMs) ??
        badMetric(metrics.restoreDurationMs);
      if (bad !== undefined) return deadLetterLogEvent(out, pos, le, 'bad-field', `platform.report metric ${bad}`);
      r.durationMs = metrics.durationMs as number | undefined;
      r.billedDurationMs = metrics.billedDurationMs as number | undefined;
      r.memorySizeMB = metrics.memorySizeMB as number | undefined;
      r.maxMemoryUsedMB = metrics.maxMemoryUsedMB as number | undefined;
      r.initDurationMs = metrics.initDurationMs as number | undefined;
      r.restoreDurationMs = metrics.restoreDurationMs as number | undefined;
    }
    this.emitInvocation(le, fs, r, 'json', out);
  }

  // ---------------------------------------------------------------- shared

  /** One invocation from a REPORT line or `platform.report` record, however it was read. */
  private emitInvocation(le: LogEvent, fs: FunctionState, r: ReportFields, format: LogFormat, out: ParseSink): void {
    const s = this.stream(le);
    const requestId = r.requestId;
    const rawStatus = r.status;
    let errorType = r.errorType;
    let status = mapStatus(rawStatus);
    if (s.pendingRequestId !== undefined && s.pendingRequestId === requestId) {
      if (rawStatus === undefined && s.pendingStatus !== undefined) status = s.pendingStatus;
      errorType ??= s.pendingErrorType;
      s.pendingRequestId = undefined;
      s.pendingStatus = undefined;
      s.pendingErrorType = undefined;
    }
    const memorySizeMB = r.memorySizeMB;
    const maxMemoryUsedMB = r.maxMemoryUsedMB;
    // An OOM kill logs its `Process exited` line after the REPORT, so the REPORT itself has to tell:
    // the environment's peak above the configured memory only happens when the runtime was killed.
    if (rawStatus === undefined && status === 'success' && maxMemoryUsedMB !== undefined && memorySizeMB !== undefined && maxMemoryUsedMB > memorySizeMB) {
      status = 'crash';
      errorType ??= 'Runtime.OutOfMemory';
    }
    const version = s.version;
    if (version !== undefined) this.noteVersion(fs, version, le, 'log stream version', out);
    const ev: InvocationEvent = {
      kind: 'invocation',
      time: le.timestamp,
      fn: fs.ref,
      id: le.id,
      requestId,
      version,
      durationMs: r.durationMs,
      billedDurationMs: r.billedDurationMs,
      memorySizeMB,
      maxMemoryUsedMB,
      initDurationMs: r.initDurationMs,
      restoreDurationMs: r.restoreDurationMs,
      status,
      errorType,
      format,
    };
    out.event(ev);
  }

  /** Emits a version change when `version` differs from the last one seen for the function (not on first sighting). */
  private noteVersion(fs: FunctionState, version: string, le: LogEvent, detail: string, out: ParseSink): boolean {
    const last = fs.lastVersion;
    fs.lastVersion = version;
    if (last === undefined || last === version) return false;
    out.event({ kind: 'change', time: le.timestamp, fn: fs.ref, id: le.id, change: 'version', version, detail });
    return true;
  }

  /** The stream's state, created on first use with what the stream name tells. */
  private stream(le: LogEvent): StreamState {
    let s = this.streams.get(le.logStream);
    if (s === undefined || s.group !== le.logGroup) {
      s = {
        group: le.logGroup,
        name: undefined,
        version: undefined,
        pendingRequestId: undefined,
        pendingStatus: undefined,
        pendingErrorType: undefined,
      };
      // `YYYY/MM/DD/[<version>]<guid>` by default, `YYYY/MM/DD/<function>[<version>]<guid>` in custom groups.
      const name = le.logStream;
      if (hasDatePrefix(name)) {
        const open = name.indexOf('[', 11);
        const close = open === -1 ? -1 : name.indexOf(']', open + 1);
        if (close > open + 1) {
          s.version = name.slice(open + 1, close);
          if (open > 11) s.name = name.slice(11, open);
        }
      }
      this.streams.set(le.logStream, s);
    }
    return s;
  }

  /** The function a log event belongs to: from `/aws/lambda/<name>`, else from the stream. */
  private functionFor(le: LogEvent): FunctionState | undefined {
    const region = le.region ?? this.region;
    const group = le.logGroup;
    if (group.startsWith(LAMBDA_GROUP_PREFIX)) {
      const cached = this.byGroup.get(group);
      if (cached !== undefined && cached.ref.account === le.owner && cached.ref.region === region) return cached;
      const fs = this.functionState(group.slice(LAMBDA_GROUP_PREFIX.length), le.owner, region);
      this.byGroup.set(group, fs);
      return fs;
    }
    const name = this.stream(le).name;
    return name === undefined ? undefined : this.functionState(name, le.owner, region);
  }

  private functionState(name: string, account: string | undefined, region: string | undefined): FunctionState {
    const key = `${account ?? '-'}/${region ?? '-'}/${name}`;
    let fs = this.functions.get(key);
    if (fs === undefined) {
      const ref: FunctionRef = { name, account, region };
      if (account !== undefined && region !== undefined) ref.arn = `arn:${partitionOf(region)}:lambda:${region}:${account}:function:${name}`;
      fs = { ref, lastVersion: undefined };
      this.functions.set(key, fs);
    }
    return fs;
  }
}

/**
 * The ARN partition of a region.
 *
 * @example
 * partitionOf('cn-north-1'); // → 'aws-cn'
 */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function badMetric(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' && v >= 0 && Number.isFinite(v) ? undefined : `${JSON.stringify(v)?.slice(0, 40)} is not a non-negative number`;
}
