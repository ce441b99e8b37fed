/**
 * Normalized events ({@link FnEvent}) as an Arrow IPC file: one row per event, the shared fields
 * (kind, time, function) plus every kind's own fields as nullable columns. Written and read in
 * record batches so neither side holds the whole file in memory.
 *
 * Low-cardinality strings (kind, function, action, host, …) are dictionary-encoded: a week of
 * events repeats a few hundred distinct values millions of times.
 */
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import {
  Bool,
  Dictionary,
  Field,
  Float64,
  Int32,
  List,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  makeData,
  makeVector,
  type Data,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { FnwatchError } from '../../core/contracts.ts';
import type {
  ChangeEvent,
  ChangeType,
  EgressEvent,
  EgressVia,
  FnEvent,
  FunctionRef,
  InvocationEvent,
  InvocationStatus,
  LogFormat,
  ResourceAccessEvent,
} from '../../core/events.ts';

/** Rows per record batch: large enough for columnar compactness, small enough to bound memory. */
export const ARROW_BATCH_ROWS = 65_536;

/** Column name → Arrow type. The order is the file's column order. */
function columnTypes(): [string, DataType][] {
  // Dictionary ids are per file, numbered from 0, so the same events always give the same bytes.
  let dictionaryId = 0;
  const dict = (): Dictionary => new Dictionary(new Utf8(), new Int32(), dictionaryId++);
  return [
    ['kind', dict()],
    ['time', new TimestampMillisecond()],
    ['id', new Utf8()],
    ['fn_name', dict()],
    ['fn_account', dict()],
    ['fn_region', dict()],
    ['fn_arn', dict()],
    // invocation
    ['request_id', new Utf8()],
    ['version', dict()],
    ['duration_ms', new Float64()],
    ['billed_duration_ms', new Float64()],
    ['memory_size_mb', new Float64()],
    ['max_memory_used_mb', new Float64()],
    ['init_duration_ms', new Float64()],
    ['restore_duration_ms', new Float64()],
    ['status', dict()],
    ['error_type', dict()],
    ['format', dict()],
    // resource_access
    ['role', dict()],
    ['service', dict()],
    ['action', dict()],
    ['resources', new List(new Field('item', new Utf8(), true))],
    ['error_code', dict()],
    ['source_ip', dict()],
    ['user_agent', dict()],
    ['read_only', new Bool()],
    // egress
    ['host', dict()],
    ['port', new Int32()],
    ['protocol', dict()],
    ['via', dict()],
    ['bytes', new Float64()],
    // change
    ['change', dict()],
    ['actor', dict()],
    ['detail', dict()],
  ];
}

const COLUMN_NAMES = columnTypes().map(([name]) => name);
/** Column name → position, so rows are filled without building an object per event. */
const COL = Object.fromEntries(COLUMN_NAMES.map((name, i) => [name, i])) as Record<string, number>;

/** Fills `v` (one slot per column) with the event's values; absent fields stay undefined (null in the file). */
function fillRow(ev: FnEvent, v: unknown[]): void {
  v.fill(undefined);
  v[COL.kind!] = ev.kind;
  v[COL.time!] = ev.time;
  v[COL.id!] = ev.id;
  v[COL.fn_name!] = ev.fn.name;
  v[COL.fn_account!] = ev.fn.account;
  v[COL.fn_region!] = ev.fn.region;
  v[COL.fn_arn!] = ev.fn.arn;
  switch (ev.kind) {
    case 'invocation':
      v[COL.request_id!] = ev.requestId;
      v[COL.version!] = ev.version;
      v[COL.duration_ms!] = ev.durationMs;
      v[COL.billed_duration_ms!] = ev.billedDurationMs;
      v[COL.memory_size_mb!] = ev.memorySizeMB;
      v[COL.max_memory_used_mb!] = ev.maxMemoryUsedMB;
      v[COL.init_duration_ms!] = ev.initDurationMs;
      v[COL.restore_duration_ms!] = ev.restoreDurationMs;
      v[COL.status!] = ev.status;
      v[COL.error_type!] = ev.errorType;
      v[COL.format!] = ev.format;
      break;
    case 'resource_access':
      v[COL.role!] = ev.role;
      v[COL.service!] = ev.service;
      v[COL.action!] = ev.action;
      v[COL.resources!] = ev.resources;
      v[COL.error_code!] = ev.errorCode;
      v[COL.source_ip!] = ev.sourceIp;
      v[COL.user_agent!] = ev.userAgent;
      v[COL.read_only!] = ev.readOnly;
      break;
    case 'egress':
      v[COL.host!] = ev.host;
      v[COL.port!] = ev.port;
      v[COL.protocol!] = ev.protocol;
      v[COL.via!] = ev.via;
      v[COL.bytes!] = ev.bytes;
      break;
    case 'change':
      v[COL.change!] = ev.change;
      v[COL.version!] = ev.version;
      v[COL.actor!] = ev.actor;
      v[COL.detail!] = ev.detail;
      break;
  }
}

/** Validity bitmap (bit set = value present) and null count for a batch of values. */
function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === undefined || values[i] === null) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap: bitmap, nullCount };
}

/** UTF-8 bytes and offsets of strings (absent ones are empty). */
function utf8Parts(values: readonly (string | undefined)[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const valueOffsets = new Int32Array(values.length + 1);
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v) bytes += Buffer.byteLength(v, 'utf8');
    valueOffsets[i + 1] = bytes;
  }
  const data = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v) data.write(v, valueOffsets[i]!, 'utf8');
  }
  return { valueOffsets, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function utf8Data(values: readonly (string | undefined)[]): Data<Utf8> {
  return makeData({ type: new Utf8(), length: values.length, ...validity(values), ...utf8Parts(values) });
}

/**
 * One column's values for the current batch. Building the Arrow buffers directly from plain arrays
 * is several times cheaper than Arrow's row-wise builders, which dominated generation time.
 */
class ColumnBuffer {
  values: unknown[] = [];
  /** Dictionary columns: string → index, strings in index order, and the vector written so far */
  private readonly index = new Map<string, number>();
  private readonly strings: string[] = [];
  private dictionary: Vector<Utf8> | undefined;

  constructor(readonly type: DataType) {}

  flush(): Data {
    const values = this.values;
    this.values = [];
    const length = values.length;
    const type = this.type;
    if (type instanceof Dictionary) {
      const written = this.dictionary?.length ?? 0;
      const indices = new Int32Array(length);
      for (let i = 0; i < length; i++) {
        const v = values[i] as string | undefined;
        if (v === undefined || v === null) continue;
        let at = this.index.get(v);
        if (at === undefined) {
          at = this.strings.length;
          this.index.set(v, at);
          this.strings.push(v);
        }
        indices[i] = at;
      }
      if (this.dictionary === undefined || this.strings.length > written) {
        // New entries go out as a delta chunk sharing the earlier ones, as the IPC format allows.
        const chunk = makeVector(utf8Data(this.strings.slice(written)));
        this.dictionary = this.dictionary ? this.dictionary.concat(chunk) : chunk;
      }
      return makeData({ type, length, ...validity(values), data: indices, dictionary: this.dictionary });
    }
    if (type instanceof Utf8) return utf8Data(values as (string | undefined)[]);
    if (type instanceof Float64) return makeData({ type, length, ...validity(values), data: Float64Array.from(values, (v) => (v as number) ?? 0) });
    if (type instanceof Int32) return makeData({ type, length, ...validity(values), data: Int32Array.from(values, (v) => (v as number) ?? 0) });
    if (type instanceof TimestampMillisecond) {
      return makeData({ type, length, ...validity(values), data: BigInt64Array.from(values, (v) => BigInt((v as number) ?? 0)) });
    }
    if (type instanceof Bool) {
      const bits = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) if (values[i] === true) bits[i >> 3]! |= 1 << (i & 7);
      return makeData({ type, length, ...validity(values), data: bits });
    }
    if (type instanceof List) {
      const lists = values as (string[] | undefined)[];
      const valueOffsets = new Int32Array(length + 1);
      const items: string[] = [];
      for (let i = 0; i < length; i++) {
        const l = lists[i];
        if (l) for (const item of l) items.push(item);
        valueOffsets[i + 1] = items.length;
      }
      return makeData({ type, length, ...validity(values), valueOffsets, child: utf8Data(items) });
    }
    throw new Error(`no column writer for Arrow type ${String(type)}`);
  }
}

/**
 * Push-style writer of an Arrow events file: `append` events as they are produced, `finish` once.
 * For producers that cannot be wrapped in an iterator cheaply (one `await` per event adds up).
 *
 * @example
 * const w = new ArrowEventWriter('out/events.arrow');
 * w.append(ev);
 * const n = await w.finish();
 */
export class ArrowEventWriter {
  private readonly schema: Schema;
  private readonly structType: Struct;
  private readonly columns: ColumnBuffer[];
  private readonly row: unknown[] = new Array(COLUMN_NAMES.length);
  private readonly writer = new RecordBatchFileWriter();
  private readonly finished: Promise<unknown>;
  private readonly failed: Promise<never>;
  private rows = 0;
  private total = 0;

  constructor(
    readonly path: string,
    private readonly batchRows: number = ARROW_BATCH_ROWS,
  ) {
    const types = columnTypes();
    this.schema = new Schema(types.map(([name, type]) => new Field(name, type, name !== 'kind' && name !== 'time')));
    this.structType = new Struct(this.schema.fields);
    this.columns = types.map(([, type]) => new ColumnBuffer(type));
    const out = createWriteStream(path);
    this.finished = once(out, 'finish');
    // A write error (disk full, bad path) must reject, not crash the process on an unhandled 'error'.
    this.failed = new Promise<never>((_, reject) => out.once('error', reject));
    this.failed.catch(() => undefined);
    this.writer.toNodeStream().pipe(out);
  }

  append(ev: FnEvent): void {
    const { columns, row } = this;
    fillRow(ev, row);
    for (let i = 0; i < columns.length; i++) columns[i]!.values.push(row[i]);
    this.rows++;
    this.total++;
    if (this.rows >= this.batchRows) this.flush();
  }

  private flush(): void {
    if (this.rows === 0 && this.total > 0) return;
    const children = this.columns.map((c) => c.flush());
    this.writer.write(new RecordBatch(this.schema, makeData({ type: this.structType, length: this.rows, nullCount: 0, children })));
    this.rows = 0;
  }

  /** Writes the last batch and the footer; resolves with the number of events once the file is on disk. */
  async finish(): Promise<number> {
    this.flush();
    this.writer.finish();
    await Promise.race([this.finished, this.failed]);
    return this.total;
  }
}

/**
 * Writes events to an Arrow IPC file at `path`, in batches of `batchRows` rows. Resolves with the
 * number of events written once the file is complete on disk.
 *
 * @example
 * const n = await writeEventsArrow('out/events.arrow', events);
 */
export async function writeEventsArrow(
  path: string,
  events: AsyncIterable<FnEvent> | Iterable<FnEvent>,
  batchRows: number = ARROW_BATCH_ROWS,
): Promise<number> {
  const writer = new ArrowEventWriter(path, batchRows);
  for await (const ev of events as AsyncIterable<FnEvent>) writer.append(ev);
  return writer.finish();
}

const EVENT_KINDS = new Set(['invocation', 'resource_access', 'egress', 'change']);

/**
 * Reads events written by {@link writeEventsArrow}, batch by batch. Fields that were absent when
 * written are absent (not `undefined`-valued) on the objects read back.
 *
 * @example
 * for await (const ev of readEventsArrow('datasets/demo/events.arrow')) if (ev.kind === 'egress') console.log(ev.host);
 */
export async function* readEventsArrow(path: string): AsyncIterable<FnEvent> {
  checkArrowMagic(path);
  let reader: AsyncIterable<RecordBatch>;
  try {
    reader = (await RecordBatchReader.from(createReadStream(path))) as unknown as AsyncIterable<RecordBatch>;
  } catch (err) {
    throw new FnwatchError(`${path}: unreadable Arrow IPC file (${(err as Error).message})`);
  }
  for await (const batch of reader) {
    const col = (name: string): Vector | null => batch.getChild(name);
    const cols = Object.fromEntries(COLUMN_NAMES.map((name) => [name, col(name)])) as Record<string, Vector | null>;
    if (!cols.kind || !cols.time || !cols.fn_name) throw new FnwatchError(`${path}: Arrow file lacks kind/time/fn_name columns`);
    const get = (name: string, i: number): unknown => {
      const v = cols[name]?.get(i);
      return v === null ? undefined : v;
    };
    for (let i = 0; i < batch.numRows; i++) {
      const kind = get('kind', i) as string;
      if (!EVENT_KINDS.has(kind)) throw new FnwatchError(`${path}: row ${i} has unknown kind ${JSON.stringify(kind)}`);
      const fn: FunctionRef = { name: get('fn_name', i) as string };
      assign(fn, 'account', get('fn_account', i));
      assign(fn, 'region', get('fn_region', i));
      assign(fn, 'arn', get('fn_arn', i));
      const base = { time: get('time', i) as number, fn } as { time: number; fn: FunctionRef; id?: string };
      assign(base, 'id', get('id', i));
      yield rowToEvent(kind, base, (name) => get(name, i));
    }
  }
}

/**
 * Arrow's reader trusts length prefixes, so junk input can make it try a gigabyte allocation:
 * check the IPC file magic (`ARROW1`) or the stream continuation marker first.
 */
function checkArrowMagic(path: string): void {
  const head = Buffer.alloc(6);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new FnwatchError(`${path}: ${(err as Error).message}`);
  }
  try {
    readSync(fd, head, 0, 6, 0);
  } finally {
    closeSync(fd);
  }
  const isFile = head.toString('latin1') === 'ARROW1';
  const isStream = head.readUInt32LE(0) === 0xffffffff;
  if (!isFile && !isStream) throw new FnwatchError(`${path}: not an Arrow IPC file (no ARROW1 magic)`);
}

function assign<T extends object>(target: T, key: string, value: unknown): void {
  if (value !== undefined) (target as Record<string, unknown>)[key] = value;
}

function rowToEvent(kind: string, base: { time: number; fn: FunctionRef; id?: string }, get: (name: string) => unknown): FnEvent {
  switch (kind) {
    case 'invocation': {
      const ev: InvocationEvent = { kind, ...base, status: get('status') as InvocationStatus, format: get('format') as LogFormat };
      assign(ev, 'requestId', get('request_id'));
      assign(ev, 'version', get('version'));
      assign(ev, 'durationMs', get('duration_ms'));
      assign(ev, 'billedDurationMs', get('billed_duration_ms'));
      assign(ev, 'memorySizeMB', get('memory_size_mb'));
      assign(ev, 'maxMemoryUsedMB', get('max_memory_used_mb'));
      assign(ev, 'initDurationMs', get('init_duration_ms'));
      assign(ev, 'restoreDurationMs', get('restore_duration_ms'));
      assign(ev, 'errorType', get('error_type'));
      return ev;
    }
    case 'resource_access': {
      const list = get('resources') as Vector | undefined;
      const ev: ResourceAccessEvent = {
        kind,
        ...base,
        service: get('service') as string,
        action: get('action') as string,
        resources: list ? (list.toArray() as string[]) : [],
      };
      assign(ev, 'role', get('role'));
      assign(ev, 'errorCode', get('error_code'));
      assign(ev, 'sourceIp', get('source_ip'));
      assign(ev, 'userAgent', get('user_agent'));
      assign(ev, 'readOnly', get('read_only'));
      return ev;
    }
    case 'egress': {
      const ev: EgressEvent = { kind, ...base, host: get('host') as string, via: get('via') as EgressVia };
      assign(ev, 'port', get('port'));
      assign(ev, 'protocol', get('protocol'));
      assign(ev, 'bytes', get('bytes'));
      return ev;
    }
    default: {
      const ev: ChangeEvent = { kind: 'change', ...base, change: get('change') as ChangeType };
      assign(ev, 'version', get('version'));
      assign(ev, 'actor', get('actor'));
      assign(ev, 'detail', get('detail'));
      return ev;
    }
  }
}
