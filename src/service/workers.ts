/**
 * The parallel pipeline: N worker threads, each running its own {@link Pipeline}, partitioned by
 * function so that a function's whole state (parser stream state, profile, open alerts) lives in one
 * worker and every worker sees its functions' events in source order. The alerts are then the same
 * as one pipeline's over the same items.
 *
 * Decoding happens in the workers. A subscription payload holds one log stream, so the coordinator
 * only needs its log group to route it: it inflates the first few hundred bytes of the gzip (a few
 * µs, against ~100 µs to decode and parse a 70-event payload) and hands the raw payload to the worker
 * of `/aws/lambda/<name>`. Other groups mix functions (CloudTrail, custom groups, flow and resolver
 * logs): their payloads are decoded on the coordinator and each CloudTrail record goes, still raw, to
 * the worker of its assumed-role session (the function that made the call), found by a string scan
 * of `userIdentity.arn`; parsing stays in the workers. Records that could name another function (Lambda
 * API calls: the target of UpdateFunctionCode …), other shared-group lines and anything that cannot be
 * peeked or scanned are parsed on the coordinator with its own parser, and the normalized events go to
 * the worker of `event.fn.name`. Routing by name alone keeps partial identities (no account or
 * region) in the worker of the full one, where the engine joins them.
 *
 * Work leaves in batches (one `postMessage` per worker per batch); `processBatch` resolves once
 * every worker has processed its share, with the batch's alerts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { constants as zlib, gunzipSync } from 'node:zlib';
import type { Alert } from '../core/alert.ts';
import { UsageError, type SourceItem } from '../core/contracts.ts';
import type { DeadLetter, FnEvent, LogEvent, Position } from '../core/events.ts';
import { emptyCounts, type ParseSink } from '../core/parse-sink.ts';
import type { ModelPack } from '../detectors/pack.ts';
import { ownedBase64Bytes, payloadText } from '../parsers/envelope.ts';
import { createParser, type Parser, type ParserOptions } from '../parsers/index.ts';
import { Pipeline, type PipelineCounts } from '../pipeline/pipeline.ts';
import type { BaselineSnapshot } from '../profiler/snapshot.ts';
import type { OpenAlert } from '../scorer/scorer.ts';

const LAMBDA_GROUP_PREFIX = '/aws/lambda/';
/** Compressed bytes inflated to find the log group (CloudWatch puts it in the first ~150 bytes). */
const PEEK_BYTES = [384, 4096];
/**
 * Output buffer of a peek's inflate: 384 compressed bytes give ~450 bytes of text (bench payloads).
 * zlib's default 16 KiB buffer per call made the peek ~30% slower; a larger output just takes more chunks.
 */
const PEEK_CHUNK_BYTES = 1024;
const WORKER_ROLE = 'fnwatch-pipeline-worker';
/** Load weight of a normalized event routed from the coordinator (~ its share of a payload's bytes) */
const EVENT_WEIGHT = 60;

export interface WorkerPipelineOptions {
  /** Worker threads (≥ 1) */
  workers: number;
  /** Parser options; `isKnownFunction` cannot cross threads and is rejected */
  parser?: ParserOptions;
  models?: ModelPack;
  /** Saved baselines: each worker gets its own functions' */
  baseline?: BaselineSnapshot;
  /** Saved open alerts (suppression windows, `Scorer.openAlerts()`): each worker gets its own functions' */
  openAlerts?: ReadonlyArray<readonly [string, OpenAlert]>;
  maxFunctions?: number;
  onAlert?: (alert: Alert) => void;
  onDeadLetter?: (dl: DeadLetter) => void;
}

/** What a worker pipeline has learned: baselines and open alerts, merged over the workers. */
export interface PipelineState {
  baseline: BaselineSnapshot;
  openAlerts: Array<[string, OpenAlert]>;
}

/** What a worker reports with every reply: cumulative, so a lost or reordered reply costs nothing. */
interface WorkerProgress {
  counts: PipelineCounts;
  functions: number;
  watermark: number;
}

/** What goes to a worker, in order. */
type WorkItem =
  /** `owned`: the payload's bytes are in a buffer of their own, moved to the worker (transfer list) rather than copied */
  | { t: 'item'; item: SourceItem; owned?: true }
  | { t: 'event'; event: FnEvent }
  | { t: 'advance'; time: number };

type ToWorker =
  | { type: 'batch'; id: number; work: WorkItem[] }
  | { type: 'finish'; id: number }
  | { type: 'busy'; id: number }
  | { type: 'state'; id: number }
  | { type: 'reset'; id: number };
type FromWorker =
  | { type: 'done'; id: number; worker: number; alerts: Alert[]; deadLetters: DeadLetter[]; progress: WorkerProgress }
  | { type: 'state'; id: number; worker: number; state: PipelineState; progress: WorkerProgress }
  | { type: 'reset'; id: number; worker: number; progress: WorkerProgress }
  | {
      type: 'finished';
      id: number;
      worker: number;
      alerts: Alert[];
      deadLetters: DeadLetter[];
      progress: WorkerProgress;
      state: PipelineState;
      busyMs: number;
    }
  | { type: 'busy'; id: number; worker: number; busyMs: number; cpuMs: number | undefined }
  | { type: 'failed'; id: number; message: string };

/**
 * Which worker holds which function. A function is placed on the worker with the least work routed
 * so far (bytes) and stays there, so its state never moves. A hash would be simpler, but load is
 * skewed (a few busy APIs carry most events): with 40 generated functions a hash gave one of two
 * workers 61% of the events, capping 2 workers at 1.6×; least-loaded placement evens it.
 *
 * {@link WorkerPipeline} places the functions first seen in a batch together at the end of the
 * batch, heaviest first ({@link placeAll}): placed one by one in order of appearance, the first
 * functions of a run (all of them, at a start) would be spread by the order they happen to appear
 * in, not by their load.
 *
 * @example
 * const r = new FunctionRouter(2);
 * r.route('orders-api', 5000); // → 0
 * r.route('users-api', 100);   // → 1
 * r.route('orders-api', 5000); // → 0 again
 * r.placeAll([['a', 10], ['b', 900], ['c', 50]]); // → Map { b → 1, c → 1, a → 1 } (worker 1 had 100, worker 0 had 10,000)
 */
export class FunctionRouter {
  private readonly placed = new Map<string, number>();
  /** bytes routed to each worker */
  readonly load: Float64Array;

  constructor(readonly workers: number) {
    this.load = new Float64Array(workers);
  }

  /** The worker of `name`, placing it if new, and counts `weight` against that worker. */
  route(name: string, weight: number): number {
    let w = this.placed.get(name);
    if (w === undefined) {
      w = this.leastLoaded();
      this.placed.set(name, w);
    }
    this.load[w]! += weight;
    return w;
  }

  /** The worker of `name` if placed, counting `weight` against it; undefined (nothing counted) if not. */
  routePlaced(name: string, weight: number): number | undefined {
    const w = this.placed.get(name);
    if (w !== undefined) this.load[w]! += weight;
    return w;
  }

  /**
   * Places new functions with the work seen for each (longest-processing-time first: heaviest on the
   * least-loaded worker, and so on), counting that work. Names already placed keep their worker.
   */
  placeAll(entries: Iterable<readonly [string, number]>): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, weight] of [...entries].sort((a, b) => b[1] - a[1])) out.set(name, this.route(name, weight));
    return out;
  }

  private leastLoaded(): number {
    let w = 0;
    for (let i = 1; i < this.workers; i++) if (this.load[i]! < this.load[w]!) w = i;
    return w;
  }
}

/**
 * The work waiting to be sent to each worker, in the order each must process it. Work of a function
 * not placed yet is held until the batch ends ({@link take}), when the new functions are placed
 * together by their load in the batch ({@link FunctionRouter.placeAll}).
 *
 * @example
 * const q = new WorkQueues<string>(new FunctionRouter(2));
 * q.send('orders-api', 100, 'p1');   // held: orders-api is new
 * q.sendNow('users-api', 10, 'ct1'); // placed now, on worker 0
 * q.take();                          // → [['ct1'], ['p1']]: orders-api placed on worker 1
 */
export class WorkQueues<T> {
  private queues: T[][];
  private pending = new Map<string, { weight: number; work: T[] }>();

  constructor(readonly router: FunctionRouter) {
    this.queues = Array.from({ length: router.workers }, () => []);
  }

  /** Queues `work` for the worker of function `name`, or holds it (in order) if `name` is not placed yet. */
  send(name: string, weight: number, work: T): void {
    const w = this.router.routePlaced(name, weight);
    if (w !== undefined) {
      this.queues[w]!.push(work);
      return;
    }
    const held = this.pending.get(name);
    if (held) {
      held.weight += weight;
      held.work.push(work);
    } else {
      this.pending.set(name, { weight, work: [work] });
    }
  }

  /**
   * Queues `work` for the worker of function `name`, placing the function now if it is new or held
   * (its held work first). For the records of a shared log stream (CloudTrail): holding some of them
   * until the batch ends would queue them behind later records of the same stream, and a worker's
   * duplicate check, which expects a stream's ids in order, would then look every id up (it builds a
   * hash index of its whole window for that: 2-3× the cost of the check for the rest of the pass).
   */
  sendNow(name: string, weight: number, work: T): void {
    let w = this.router.routePlaced(name, weight);
    if (w === undefined) {
      const held = this.pending.get(name);
      this.pending.delete(name);
      w = this.router.route(name, weight + (held?.weight ?? 0));
      if (held) for (const h of held.work) this.queues[w]!.push(h);
    }
    this.queues[w]!.push(work);
  }

  /** Queues `work` for worker `w` (work that belongs to no function). */
  toWorker(w: number, work: T): void {
    this.queues[w]!.push(work);
  }

  /** Queues `work` for every worker, after all work sent so far (held work is placed first). */
  toAll(work: T): void {
    this.placePending();
    for (const q of this.queues) q.push(work);
  }

  /** Places the held functions and hands over every worker's queue (index = worker), leaving them empty. */
  take(): T[][] {
    this.placePending();
    const out = this.queues;
    this.queues = out.map(() => []);
    return out;
  }

  private placePending(): void {
    if (this.pending.size === 0) return;
    const held = this.pending;
    this.pending = new Map();
    const placed = this.router.placeAll([...held].map(([name, h]) => [name, h.weight] as const));
    for (const [name, h] of held) {
      const q = this.queues[placed.get(name)!]!;
      for (const work of h.work) q.push(work);
    }
  }
}

/** The JSON string value of `"key":"…"` in `text`, or undefined (absent, cut off, or escaped). */
function jsonStringField(text: string, key: string): string | undefined {
  const i = text.indexOf(`"${key}":"`);
  if (i < 0) return undefined;
  const start = i + key.length + 4;
  const end = text.indexOf('"', start);
  if (end < 0) return undefined;
  const value = text.slice(start, end);
  return value.includes('\\') ? undefined : value;
}

/** Base64 of the gzip magic and method (1f 8b 08): how every subscription payload's text starts. */
const GZIP_BASE64_PREFIX = 'H4sI';

/**
 * A gzip payload's bytes in a buffer of their own, to move to a worker instead of copying them:
 * structured cloning copied each payload out of the coordinator and again into the worker (~20 ms
 * each side per 20 MB of base64 on the bench; a transfer costs neither), and a Uint8Array from the
 * SDK may be a view of a larger buffer, all of which a clone would copy. Undefined for anything else
 * (JSON text, bad base64): that goes as it is and the parser explains what is wrong with it.
 */
function ownedGzipBytes(data: Uint8Array | string): Uint8Array | undefined {
  if (typeof data === 'string') return data.startsWith(GZIP_BASE64_PREFIX) ? ownedBase64Bytes(data) : undefined;
  if (!(data instanceof Uint8Array) || data[0] !== 0x1f || data[1] !== 0x8b) return undefined;
  const copy = Buffer.allocUnsafeSlow(data.length);
  copy.set(data);
  return copy;
}

/** CloudTrail's assumed-role session ARN, as the CloudTrail parser matches it. */
const ASSUMED_ROLE_ARN = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/]+\/([^/]+)$/;

/**
 * Where a shared-group log event goes without parsing it: the assumed-role session of a CloudTrail
 * record (`session`), `other` for a line that names no function the parser could attribute (not a
 * record with an assumed-role caller), or `parse` when only the parser can tell (a Lambda API call may
 * name a target function; an unusual layout).
 *
 * @example
 * cloudTrailOwner('{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/r/orders-api"},"eventSource":"s3.amazonaws.com"}');
 * // → { session: 'orders-api' }
 */
export function cloudTrailOwner(message: string): { session: string } | 'other' | 'parse' {
  if (message.charCodeAt(0) !== 0x7b || !message.includes('"eventSource":"')) return 'parse';
  if (message.includes('"eventSource":"lambda.amazonaws.com"')) return 'parse';
  const ui = message.indexOf('"userIdentity":{');
  if (ui < 0) return 'parse';
  const arn = jsonStringField(message.slice(ui, ui + 600), 'arn');
  if (arn === undefined) return 'parse';
  const m = ASSUMED_ROLE_ARN.exec(arn);
  return m ? { session: m[1]! } : 'other';
}

/**
 * The log group of a subscription payload without decoding it all: base64 and gunzip of a prefix
 * only. Undefined when the payload is not gzip, base64 of gzip or JSON text, or the group is not in
 * the prefix; the caller then decodes it fully.
 *
 * @example
 * peekLogGroup(gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', logGroup: '/aws/lambda/f' }))); // → '/aws/lambda/f'
 */
export function peekLogGroup(data: Uint8Array | string): string | undefined {
  if (typeof data === 'string') {
    const c = data.charCodeAt(0);
    if (c === 0x7b) return jsonStringField(data.slice(0, PEEK_BYTES[1]!), 'logGroup');
  } else if (!(data instanceof Uint8Array)) {
    return undefined;
  }
  for (const n of PEEK_BYTES) {
    let bytes: Uint8Array;
    if (typeof data === 'string') {
      bytes = Buffer.from(data.slice(0, Math.ceil(n / 3) * 4), 'base64');
    } else {
      bytes = data.subarray(0, n);
    }
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
      if (bytes[0] === 0x7b) return jsonStringField(Buffer.from(bytes).toString('utf8'), 'logGroup');
      return undefined;
    }
    let text: string;
    try {
      text = gunzipSync(bytes, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength: 1 << 20, chunkSize: PEEK_CHUNK_BYTES }).toString('latin1');
    } catch {
      return undefined;
    }
    const group = jsonStringField(text, 'logGroup');
    if (group !== undefined) return group;
    const whole = typeof data === 'string' ? data.length <= Math.ceil(n / 3) * 4 : data.length <= n;
    if (whole) return undefined;
  }
  return undefined;
}

/**
 * Runs the pipeline on worker threads.
 *
 * @example
 * const wp = await WorkerPipeline.start({ workers: 2, onAlert: (a) => sink.write([a]) });
 * const alerts = await wp.processBatch(batch.items);
 * await wp.finish();
 */
export class WorkerPipeline {
  /** What the coordinator parsed itself (shared-group lines it could not route raw) */
  private own: PipelineCounts = { ...emptyCounts(), alerts: 0 };
  /** Per worker, its last reported progress */
  private readonly progress: WorkerProgress[];
  /** Items routed raw to a worker vs parsed on the coordinator (for the bench and metrics). */
  readonly routing = { raw: 0, coordinator: 0 };
  /** Per worker, ms spent processing batches (complete after {@link finish}): the balance of the partition. */
  readonly busyMs: number[] = [];
  private work: WorkQueues<WorkItem>;
  private parser: Parser;
  private readonly sink: ParseSink;
  private nextId = 1;
  private readonly waiting = new Map<number, { left: number; alerts: Alert[]; resolve: () => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private finalStates: PipelineState[] | undefined;
  private readonly busyReplies = new Map<number, { busyMs: number; cpuMs: number | undefined }[]>();
  private readonly stateReplies = new Map<number, PipelineState[]>();

  private constructor(
    private readonly workers: Worker[],
    router: FunctionRouter,
    private readonly opts: WorkerPipelineOptions,
    progress: WorkerProgress[],
  ) {
    this.work = new WorkQueues(router);
    this.progress = progress;
    this.parser = createParser(opts.parser);
    const own = (): PipelineCounts => this.own;
    const send = (name: string, weight: number, work: WorkItem): void => this.work.send(name, weight, work);
    this.sink = {
      event(ev) {
        send(ev.fn.name, EVENT_WEIGHT, { t: 'event', event: ev });
      },
      deadLetter(dl) {
        own().dead_letter++;
        opts.onDeadLetter?.(dl);
      },
      ignored() {
        own().ignored++;
      },
      control() {
        own().control_messages++;
      },
      logEvent() {
        own().log_events++;
      },
    };
    workers.forEach((w, i) => {
      w.on('message', (m: FromWorker) => this.onMessage(m));
      w.on('error', (err) => this.fail(new Error(`pipeline worker ${i} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`pipeline worker ${i} exited with code ${code}`));
      });
    });
  }

  /** Starts the workers; resolves once each has built its pipeline. Throws `UsageError` on bad options. */
  static async start(opts: WorkerPipelineOptions): Promise<WorkerPipeline> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UsageError(`workers must be a positive integer, got ${opts.workers}`);
    if (opts.parser?.isKnownFunction) throw new UsageError('parser isKnownFunction cannot be used with worker threads (a function cannot be sent to a thread)');
    const n = opts.workers;
    const router = new FunctionRouter(n);
    const baselines: (BaselineSnapshot | undefined)[] = Array.from({ length: n }, () => undefined);
    if (opts.baseline) {
      for (let i = 0; i < n; i++) baselines[i] = { ...opts.baseline, functions: [] };
      for (const f of opts.baseline.functions) {
        const j = f as { fn?: { name?: unknown }; invocations?: unknown };
        // Placed by learned volume, so the busy functions of a restored baseline spread out too.
        const weight = typeof j.invocations === 'number' ? j.invocations : 1;
        baselines[typeof j.fn?.name === 'string' ? router.route(j.fn.name, weight) : 0]!.functions.push(f);
      }
    }
    const openAlerts: [string, OpenAlert][][] = Array.from({ length: n }, () => []);
    for (const entry of opts.openAlerts ?? []) {
      // Keys are `account/region/name|kind|object` (the scorer's): the name routes it with its function.
      const name = typeof entry[0] === 'string' ? /^[^|]*\/([^/|]+)\|/.exec(entry[0])?.[1] : undefined;
      openAlerts[name !== undefined ? router.route(name, 0) : 0]!.push([entry[0], entry[1]]);
    }
    const workers: Worker[] = [];
    const ready: Promise<WorkerProgress>[] = [];
    for (let i = 0; i < n; i++) {
      const w = new Worker(workerBootstrap(), {
        eval: true,
        workerData: { role: WORKER_ROLE, index: i, parser: opts.parser, models: opts.models, baseline: baselines[i], openAlerts: openAlerts[i], maxFunctions: opts.maxFunctions },
      });
      workers.push(w);
      ready.push(
        new Promise((resolve, reject) => {
          w.once('message', (m: { type: string; message?: string; progress?: WorkerProgress }) =>
            m.type === 'ready' ? resolve(m.progress!) : reject(new Error(`pipeline worker ${i}: ${m.message}`)),
          );
          w.once('error', reject);
        }),
      );
    }
    let progress: WorkerProgress[];
    try {
      progress = await Promise.all(ready);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new WorkerPipeline(workers, router, opts, progress);
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Counts of all workers and the coordinator's own parsing, as of the last batch each worker
   * finished (complete after {@link finish}).
   */
  get counts(): PipelineCounts {
    const sum: PipelineCounts = { ...this.own, events: { ...this.own.events } };
    for (const p of this.progress) addCounts(sum, p.counts);
    return sum;
  }

  /** Functions with a profile, over all workers (as of their last batch). */
  get functions(): number {
    let n = 0;
    for (const p of this.progress) n += p.functions;
    return n;
  }

  /** The highest event time seen by any worker (-Infinity before the first event). */
  get watermark(): number {
    let w = -Infinity;
    for (const p of this.progress) if (p.watermark > w) w = p.watermark;
    return w;
  }

  /** Routes one item to its worker's queue (sent on the next {@link flush} or {@link processBatch}). */
  process(item: SourceItem): void {
    if (item.type === 'payload') {
      const bytes = ownedGzipBytes(item.data);
      const group = peekLogGroup(bytes ?? item.data);
      if (group !== undefined && group.startsWith(LAMBDA_GROUP_PREFIX) && group.length > LAMBDA_GROUP_PREFIX.length) {
        this.routing.raw++;
        const work: WorkItem = bytes ? { t: 'item', item: { ...item, data: bytes }, owned: true } : { t: 'item', item };
        this.work.send(group.slice(LAMBDA_GROUP_PREFIX.length), item.data.length, work);
        return;
      }
      if (group !== undefined && this.sharedPayload(item.data, item.position)) return;
      this.routing.coordinator++;
      this.own.records++;
      this.parser.payload(item.data, item.position, this.sink);
    } else if (item.type === 'log-event') {
      const group = item.event?.logGroup;
      if (typeof group === 'string' && group.startsWith(LAMBDA_GROUP_PREFIX) && group.length > LAMBDA_GROUP_PREFIX.length) {
        this.routing.raw++;
        this.work.send(group.slice(LAMBDA_GROUP_PREFIX.length), item.event.message.length, { t: 'item', item });
        return;
      }
      this.routing.coordinator++;
      this.parser.logEvent(item.event, item.position, this.sink);
    } else {
      this.routing.coordinator++;
      this.own.records++;
      this.parser.cloudTrailRecord(item.record, item.position, this.sink);
    }
  }

  /**
   * Routes one normalized event (from a columnar file, or parsed elsewhere) to its function's worker.
   *
   * @example
   * wp.processEvent({ kind: 'invocation', fn: { name: 'orders-api' }, time: 1700000000000, durationMs: 120 } as FnEvent);
   */
  processEvent(event: FnEvent): void {
    this.sink.event(event);
  }

  /**
   * A shared-group payload split into log events on the coordinator, each routed raw to the worker
   * of the function it belongs to. False (nothing done) when the payload is not a well-formed
   * DATA_MESSAGE: the coordinator's parser then reads it and dead-letters what is wrong.
   */
  private sharedPayload(data: Uint8Array | string, position: Position): boolean {
    const text = payloadText(data);
    if (typeof text !== 'string') return false;
    let doc: { messageType?: unknown; owner?: unknown; logGroup?: unknown; logStream?: unknown; logEvents?: unknown };
    try {
      doc = JSON.parse(text);
    } catch {
      return false;
    }
    const { messageType, owner, logGroup, logStream, logEvents } = doc ?? {};
    if (messageType !== 'DATA_MESSAGE' || typeof logGroup !== 'string' || logGroup === '' || typeof logStream !== 'string') return false;
    if ((owner !== undefined && typeof owner !== 'string') || !Array.isArray(logEvents)) return false;
    for (const e of logEvents as { id?: unknown; timestamp?: unknown; message?: unknown }[]) {
      if (typeof e !== 'object' || e === null || typeof e.message !== 'string' || typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) return false;
      if (e.id !== undefined && e.id !== null && typeof e.id !== 'string') return false;
    }
    this.own.records++;
    for (const e of logEvents as { id?: string | null; timestamp: number; message: string }[]) {
      const le: LogEvent = { logGroup, logStream, owner: owner as string | undefined, region: this.opts.parser?.region, id: e.id ?? undefined, timestamp: e.timestamp, message: e.message };
      const who = cloudTrailOwner(e.message);
      if (who === 'parse') {
        this.routing.coordinator++;
        this.parser.logEvent(le, position, this.sink);
      } else {
        this.routing.raw++;
        const work: WorkItem = { t: 'item', item: { type: 'log-event', event: le, position } };
        if (who === 'other') this.work.toWorker(0, work);
        else this.work.sendNow(who.session, e.message.length, work);
      }
    }
    return true;
  }

  /** Event time has advanced to `time` with no events (every worker is told, in order). */
  advance(time: number): void {
    this.work.toAll({ t: 'advance', time });
  }

  /** Sends what is queued; resolves with the alerts it raised once every worker has processed it. */
  flush(): Promise<Alert[]> {
    if (this.failure) return Promise.reject(this.failure);
    const queues = this.work.take();
    const id = this.nextId++;
    const alerts: Alert[] = [];
    let left = 0;
    const promise = new Promise<void>((resolve, reject) => {
      queues.forEach((q, i) => {
        if (q.length === 0) return;
        left++;
        const transfer: ArrayBuffer[] = [];
        for (const w of q) if (w.t === 'item' && w.owned && w.item.type === 'payload') transfer.push((w.item.data as Uint8Array).buffer as ArrayBuffer);
        this.workers[i]!.postMessage({ type: 'batch', id, work: q } satisfies ToWorker, transfer);
      });
      if (left === 0) resolve();
      else this.waiting.set(id, { left, alerts, resolve, reject });
    });
    return promise.then(() => alerts);
  }

  /** Processes a batch and returns its alerts (in addition to `onAlert`). */
  processBatch(items: readonly SourceItem[]): Promise<Alert[]> {
    for (const item of items) this.process(item);
    return this.flush();
  }

  /**
   * End of input: flushes, finishes every worker's pipeline, collects counts, baselines and open
   * alerts, and stops the threads. The pipeline cannot process anything afterwards.
   */
  async finish(): Promise<PipelineCounts> {
    await this.flush();
    const id = this.nextId++;
    const states: PipelineState[] = [];
    this.stateReplies.set(id, states);
    await new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { left: this.workers.length, alerts: [], resolve, reject });
      for (const w of this.workers) w.postMessage({ type: 'finish', id } satisfies ToWorker);
    });
    this.stateReplies.delete(id);
    this.finalStates = states;
    await this.close();
    return this.counts;
  }

  /** The learned baselines of all workers, merged (available after {@link finish}). */
  snapshot(): BaselineSnapshot | undefined {
    return this.finalStates ? mergeStates(this.finalStates).baseline : undefined;
  }

  /**
   * Baselines and open alerts of every worker, merged: after {@link finish}, the final ones; before,
   * as of all the work sent so far (what is queued is sent first). For the service's snapshots,
   * taken between batches.
   *
   * @example
   * const { baseline, openAlerts } = await wp.state();
   * saveState(dir, baseline, positions, openAlerts);
   */
  async state(): Promise<PipelineState> {
    if (this.finalStates) return mergeStates(this.finalStates);
    await this.flush();
    const id = this.nextId++;
    const states: PipelineState[] = [];
    this.stateReplies.set(id, states);
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiting.set(id, { left: this.workers.length, alerts: [], resolve, reject });
        for (const w of this.workers) w.postMessage({ type: 'state', id } satisfies ToWorker);
      });
    } finally {
      this.stateReplies.delete(id);
    }
    return mergeStates(states);
  }

  /**
   * Forgets everything learned, keeping the threads: once the work sent so far is done, every worker
   * starts a fresh pipeline (no baseline, no open alerts) and the coordinator a fresh parser, function
   * placement and counts. What stays is the threads' compiled code, so a benchmark can time passes over
   * the same data on warm threads (a second pass through one pipeline would be all duplicates), as a
   * long-running service runs.
   *
   * @example
   * await wp.processBatch(items); // warm-up pass
   * await wp.reset();
   * await wp.processBatch(items); // same alerts as the first pass, on warm threads
   */
  async reset(): Promise<void> {
    await this.flush();
    const id = this.nextId++;
    await new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { left: this.workers.length, alerts: [], resolve, reject });
      for (const w of this.workers) w.postMessage({ type: 'reset', id } satisfies ToWorker);
    });
    this.work = new WorkQueues(new FunctionRouter(this.workers.length));
    this.parser = createParser(this.opts.parser);
    this.own = { ...emptyCounts(), alerts: 0 };
    this.routing.raw = 0;
    this.routing.coordinator = 0;
  }

  /** Stops the threads without finishing (pending work is dropped). */
  async close(): Promise<void> {
    this.failure ??= new Error('worker pipeline is closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Ms each worker has spent processing so far (after the work sent before the call is done): the
   * balance of the partition, and with wall time, how busy the threads are.
   */
  async busy(): Promise<number[]> {
    return (await this.usage()).map((u) => u.busyMs);
  }

  /**
   * Per worker: ms spent processing (wall) and the thread's CPU time so far (Linux
   * /proc/thread-self; undefined elsewhere). On a machine shared with other work, CPU time shows what
   * the threads would take on idle cores, where wall time also counts waiting for a core.
   */
  async usage(): Promise<{ busyMs: number; cpuMs: number | undefined }[]> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const out: { busyMs: number; cpuMs: number | undefined }[] = this.workers.map(() => ({ busyMs: 0, cpuMs: undefined }));
    this.busyReplies.set(id, out);
    await new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { left: this.workers.length, alerts: [], resolve, reject });
      this.workers.forEach((w) => w.postMessage({ type: 'busy', id } satisfies ToWorker));
    });
    this.busyReplies.delete(id);
    return out;
  }

  private onMessage(m: FromWorker): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    if (m.type === 'busy') {
      this.busyReplies.get(m.id)![m.worker] = { busyMs: m.busyMs, cpuMs: m.cpuMs };
      if (--w.left === 0) {
        this.waiting.delete(m.id);
        w.resolve();
      }
      return;
    }
    if (m.type === 'failed') {
      this.waiting.delete(m.id);
      this.fail(new Error(`pipeline worker failed: ${m.message}`));
      w.reject(this.failure!);
      return;
    }
    this.progress[m.worker] = m.progress;
    if (m.type === 'state') {
      this.stateReplies.get(m.id)![m.worker] = m.state;
    } else if (m.type !== 'reset') {
      for (const dl of m.deadLetters) this.opts.onDeadLetter?.(dl);
      for (const a of m.alerts) {
        w.alerts.push(a);
        this.opts.onAlert?.(a);
      }
    }
    if (m.type === 'finished') {
      this.stateReplies.get(m.id)![m.worker] = m.state;
      this.busyMs[m.worker] = m.busyMs;
    }
    if (--w.left === 0) {
      this.waiting.delete(m.id);
      w.resolve();
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(err);
    }
  }
}

/**
 * The worker's entry: registers tsx (the sources are TypeScript, run without a build step, as
 * bin/fnwatch.js does) and imports this module, which then runs {@link runWorker}.
 */
function workerBootstrap(): string {
  // `require.resolve` finds the CommonJS build of the API; the worker needs its ES module twin.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
}

function mergeStates(states: readonly PipelineState[]): PipelineState {
  const [first] = states;
  // Each worker's fleet section covers only its own functions: the merged one needs them all, in
  // the order one engine writes (by function key, then destination).
  const fleets = states.flatMap((s) => (s.baseline.fleet ? [s.baseline.fleet] : []));
  const lateEgress = fleets.flatMap((f) => f.lateEgress).sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return {
    baseline: {
      ...first!.baseline,
      watermark: Math.max(...states.map((s) => s.baseline.watermark)),
      functions: states.flatMap((s) => s.baseline.functions),
      ...(fleets.length > 0 ? { fleet: { lateEgress } } : {}),
    },
    openAlerts: states.flatMap((s) => s.openAlerts),
  };
}

function addCounts(into: PipelineCounts, c: PipelineCounts): void {
  into.records += c.records;
  into.log_events += c.log_events;
  into.control_messages += c.control_messages;
  into.dead_letter += c.dead_letter;
  into.ignored += c.ignored;
  into.alerts += c.alerts;
  for (const k of Object.keys(c.events) as (keyof PipelineCounts['events'])[]) into.events[k] += c.events[k];
}

/**
 * CPU time (user + system) of the calling thread in ms, from /proc/thread-self/stat (10 ms steps);
 * undefined off Linux.
 *
 * @example
 * const before = threadCpuMs();
 */
export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the `(comm)` field: state is 3rd; utime and stime are the 14th and 15th, in 1/100 s.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The worker side: one pipeline, fed batches in order; alerts and dead letters go back per batch. */
function runWorker(): void {
  const port = parentPort!;
  const data = workerData as {
    index: number;
    parser?: ParserOptions;
    models?: ModelPack;
    baseline?: BaselineSnapshot;
    openAlerts?: [string, OpenAlert][];
    maxFunctions?: number;
  };
  let alerts: Alert[] = [];
  let deadLetters: DeadLetter[] = [];
  let busyMs = 0;
  let pipeline: Pipeline;
  const build = (baseline: BaselineSnapshot | undefined, openAlerts: [string, OpenAlert][] | undefined): Pipeline => {
    const p = new Pipeline({
      parser: data.parser,
      models: data.models,
      baseline,
      maxFunctions: data.maxFunctions,
      onAlert: (a) => alerts.push(a),
      onDeadLetter: (dl) => deadLetters.push(dl),
    });
    if (openAlerts?.length) p.engine.scorer.restoreOpenAlerts(openAlerts);
    return p;
  };
  try {
    pipeline = build(data.baseline, data.openAlerts);
  } catch (err) {
    port.postMessage({ type: 'failed', id: 0, message: (err as Error).message });
    return;
  }
  const progress = (): WorkerProgress => ({ counts: pipeline.counts, functions: pipeline.engine.profiles.size, watermark: pipeline.engine.watermark });
  const state = (): PipelineState => ({ baseline: pipeline.snapshot(), openAlerts: pipeline.engine.scorer.openAlerts() });
  port.postMessage({ type: 'ready', progress: progress() });
  port.on('message', (m: ToWorker) => {
    try {
      if (m.type === 'batch') {
        const t0 = performance.now();
        for (const w of m.work) {
          if (w.t === 'item') pipeline.process(w.item);
          else if (w.t === 'event') pipeline.processEvent(w.event);
          else pipeline.advance(w.time);
        }
        busyMs += performance.now() - t0;
        port.postMessage({ type: 'done', id: m.id, worker: data.index, alerts, deadLetters, progress: progress() } satisfies FromWorker);
        alerts = [];
        deadLetters = [];
      } else if (m.type === 'busy') {
        port.postMessage({ type: 'busy', id: m.id, worker: data.index, busyMs, cpuMs: threadCpuMs() } satisfies FromWorker);
      } else if (m.type === 'reset') {
        pipeline = build(undefined, undefined);
        alerts = [];
        deadLetters = [];
        port.postMessage({ type: 'reset', id: m.id, worker: data.index, progress: progress() } satisfies FromWorker);
      } else if (m.type === 'state') {
        port.postMessage({ type: 'state', id: m.id, worker: data.index, state: state(), progress: progress() } satisfies FromWorker);
      } else {
        pipeline.finish();
        port.postMessage({ type: 'finished', id: m.id, worker: data.index, alerts, deadLetters, progress: progress(), state: state(), busyMs } satisfies FromWorker);
        alerts = [];
        deadLetters = [];
      }
    } catch (err) {
      port.postMessage({ type: 'failed', id: m.id, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
    }
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE) runWorker();
