/**
 * What fnwatch has learned about one function: its invocation rate (seasonal), durations, error
 * rate, egress hosts and the resources it touches, plus its learning state and deploy history.
 *
 * `observe*` methods are the profiler: pure updates driven by event time. They report what was new
 * about the event in the returned {@link Observation}; detectors read that and the profile.
 *
 * Memory: a profile is one object and one buffer (it *is* an {@link Arena}): every number below,
 * the rate model, the duration histogram and the novelty sets live in that buffer, and `rate`,
 * `durations`, `egress`, `resources` and `actions` are views made on access. That is what keeps a
 * baseline near 2 KB at typical cardinality (bench/memory.ts) against ~7 KB as objects and typed
 * arrays.
 */
import type {
  ChangeEvent,
  EgressEvent,
  FunctionRef,
  InvocationEvent,
  ResourceAccessEvent,
} from '../core/events.ts';
import { Arena } from './arena.ts';
import { HISTOGRAM_SCALARS, HistogramScale, LogHistogram } from './log-histogram.ts';
import { NoveltySet, TABLE_REGIONS, intern, tableScalars, type NoveltySetJSON, type SeenEntry, type StringHolder } from './novelty.ts';
import { RATE_REGIONS, RATE_SCALARS, RateModel, decodeNumber, encodeNumber, type RateModelJSON } from './rate.ts';

/** Tunables of the profiler (from the detector pack). */
export interface ProfilerSettings {
  learningMs: number;
  minInvocationsForDuration: number;
  relearnMs: number;
  egressCap: number;
  resourceCap: number;
  /** error-rate window */
  errorWindowMs: number;
  /** AccessDenied window */
  deniedWindowMs: number;
}

export const DEFAULT_PROFILER_SETTINGS: ProfilerSettings = {
  learningMs: 24 * 3_600_000,
  minInvocationsForDuration: 30,
  relearnMs: 60 * 60_000,
  egressCap: 64,
  resourceCap: 256,
  errorWindowMs: 10 * 60_000,
  deniedWindowMs: 10 * 60_000,
};

/** What an event changed, for the detectors. One object reused per engine to avoid allocation. */
export interface Observation {
  /** hours closed by this invocation (cost-ramp evaluates on closes) */
  closedHours: number;
  /** egress host:port or action/resource not seen before for this function */
  isNew: boolean;
  /** action never seen before for this function (resource access) */
  isNewAction: boolean;
  /** duration of this invocation exceeded the trusted baseline's p99 */
  durationExceeded: boolean;
}

/** Recent durations kept for the duration detector. */
export const RECENT_DURATIONS = 20;

const DURATION_SCALE = HistogramScale.of(56, 1, 1.3, 2000);

// Regions: the rate model's, the duration bins, the novelty table's.
const RATE_REGION = 0;
const DURATION_REGION = RATE_REGION + RATE_REGIONS;
const TABLE_REGION = DURATION_REGION + 1;
const PROFILE_REGIONS = TABLE_REGION + TABLE_REGIONS;

// Scalars (byte offsets in the scalar block): f64 unless noted. Optional numbers are NaN when unset.
const FIRST_SEEN = 0;
const LAST_SEEN = 8;
const MEMORY_MB = 16;
const TIMEOUT_MS = 24;
const BILLED_MS = 32;
const INVOCATIONS = 40;
const ERRORS = 48;
const TIMEOUTS = 56;
const COLD_STARTS = 64;
const RELEARN_UNTIL = 72;
const ERR_BASE = 80;
const N_BASE = 88;
const ERR_WINDOW_START = 96;
const DENIED_WINDOW_START = 104;
/** u32 (counts within a window) */
const ERR_WINDOW_ERRORS = 112;
const ERR_WINDOW_N = 116;
const DENIED_COUNT = 120;
/** u8 */
const RECENT_POS = 124;
/** u8 */
const RECENT_LEN = 125;
/** u8 × RECENT_DURATIONS */
const RECENT_BINS = 126;
const DURATION_HIST = RECENT_BINS + RECENT_DURATIONS;
const RATE = DURATION_HIST + HISTOGRAM_SCALARS;
const TABLE = RATE + RATE_SCALARS;
/** Set tags in the novelty table */
const EGRESS = 0;
const RESOURCES = 1;
const ACTIONS = 2;
/** `action resource` pairs of calls refused (AccessDenied and the like), counted apart */
const DENIED = 3;
const PROFILE_SCALARS = TABLE + tableScalars(4);
/** Where the scalar block starts in a profile's buffer (after the region table): fixed per layout. */
const SB = 1 + PROFILE_REGIONS * 4;

// The last view made of each kind, and whose it is. Views are stateless (a profile and offsets), so
// detectors asking `p.rate` several times for one event get the same one instead of an allocation
// each; a view held elsewhere stays valid, since a cached view is replaced, never changed.
let rateView: RateModel | undefined;
let rateOwner: FunctionProfile | undefined;
let durationsView: LogHistogram | undefined;
let durationsOwner: FunctionProfile | undefined;
// Scratch views for the profiler's own updates: rebound to the profile at each use and never handed
// out, so profiling an event allocates nothing even when events interleave across functions.
const scratchRate = new RateModel();
const scratchDurations = new LogHistogram(56, 1, 1.3, 2000);
let recentBinsView: Uint8Array | undefined;
let recentBinsOf: DataView | undefined;
const setViews: (NoveltySet | undefined)[] = [];
const setOwners: (FunctionProfile | undefined)[] = [];

/** Set `tag`'s view of profile `p` (cached as the views above). */
function setView(p: FunctionProfile, tag: number): NoveltySet {
  if (setOwners[tag] !== p) {
    setViews[tag] = new NoveltySet(p, SB + TABLE, TABLE_REGION, tag);
    setOwners[tag] = p;
  }
  return setViews[tag]!;
}

/**
 * Whether a CloudTrail `errorCode` says the call was refused for lack of permission (not a call
 * that was allowed and then failed, such as `NoSuchKey`).
 *
 * @example
 * isAccessDenied('AccessDeniedException'); // true
 * isAccessDenied('Client.UnauthorizedOperation'); // true
 * isAccessDenied('NoSuchKey'); // false
 */
export function isAccessDenied(errorCode: string | undefined): boolean {
  return !!errorCode && /AccessDenied|UnauthorizedOperation|Forbidden/i.test(errorCode);
}

/** Saved state of a {@link FunctionProfile} (`toJSON`; the entries of a baseline's `functions`). */
export interface FunctionProfileJSON {
  /** a baseline file is JSON: readers index it as a record */
  [field: string]: unknown;
  fn: FunctionRef;
  firstSeen: number;
  lastSeen: number;
  version?: string;
  lastDeploy?: { time: number; version?: string; detail?: string };
  memorySizeMB?: number;
  timeoutMs?: number;
  billedMs: number;
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  rate: RateModelJSON;
  durations: { bins: number[]; total: number; w: number };
  errBase: number;
  nBase: number;
  egress: NoveltySetJSON;
  resources: NoveltySetJSON;
  actions: NoveltySetJSON;
  /** Only when the function has had calls refused */
  denied?: NoveltySetJSON;
  // Since baseline schema 2: the state of the windows and rings, so a restored profile continues
  // exactly as the saved one would have.
  recentBins?: number[];
  recentPos?: number;
  recentLen?: number;
  relearnUntil?: number | string;
  errWindowStart?: number | string;
  errWindowErrors?: number;
  errWindowN?: number;
  deniedWindowStart?: number | string;
  deniedCount?: number;
}

/**
 * @example
 * const p = new FunctionProfile({ name: 'orders-api' }, ev.time, DEFAULT_PROFILER_SETTINGS);
 * p.observeInvocation(ev, DEFAULT_PROFILER_SETTINGS, obs);
 * p.rate.minuteCount; // 1
 */
export class FunctionProfile extends Arena implements StringHolder {
  fn: FunctionRef;
  version?: string;
  lastDeploy?: { time: number; version?: string; detail?: string };
  /**
   * Engine bookkeeping: the order in which the engine took this profile in (0 outside an engine).
   * The engine joins a partial identity to the first matching profile in this order.
   */
  order: number;
  declare localStrings?: string[];

  constructor(fn: FunctionRef, t: number, settings: ProfilerSettings) {
    super(PROFILE_REGIONS, PROFILE_SCALARS);
    if (this.scalars !== SB) throw new Error('profile layout: scalar block moved');
    this.fn = { ...fn };
    this.version = undefined;
    this.lastDeploy = undefined;
    this.order = 0;
    const sb = SB;
    const m = this.m;
    m.setFloat64(sb + FIRST_SEEN, t, true);
    m.setFloat64(sb + LAST_SEEN, t, true);
    m.setFloat64(sb + MEMORY_MB, NaN, true);
    m.setFloat64(sb + TIMEOUT_MS, NaN, true);
    m.setFloat64(sb + RELEARN_UNTIL, -Infinity, true);
    m.setFloat64(sb + ERR_WINDOW_START, -Infinity, true);
    m.setFloat64(sb + DENIED_WINDOW_START, -Infinity, true);
    LogHistogram.init(this, sb + DURATION_HIST);
    RateModel.init(this, sb + RATE);
    NoveltySet.init(this, sb + TABLE, [settings.egressCap, settings.resourceCap, settings.resourceCap, settings.resourceCap]);
  }

  private f64(o: number): number {
    return this.m.getFloat64(SB + o, true);
  }
  private set64(o: number, v: number): void {
    this.m.setFloat64(SB + o, v, true);
  }
  private u32(o: number): number {
    return this.m.getUint32(SB + o, true);
  }
  private setU32(o: number, v: number): void {
    this.m.setUint32(SB + o, v, true);
  }

  get firstSeen(): number {
    return this.f64(FIRST_SEEN);
  }
  set firstSeen(v: number) {
    this.set64(FIRST_SEEN, v);
  }
  get lastSeen(): number {
    return this.f64(LAST_SEEN);
  }
  set lastSeen(v: number) {
    this.set64(LAST_SEEN, v);
  }
  get memorySizeMB(): number | undefined {
    const v = this.f64(MEMORY_MB);
    return Number.isNaN(v) ? undefined : v;
  }
  set memorySizeMB(v: number | undefined) {
    this.set64(MEMORY_MB, v ?? NaN);
  }
  /** Largest duration seen on a timed-out invocation: the configured timeout */
  get timeoutMs(): number | undefined {
    const v = this.f64(TIMEOUT_MS);
    return Number.isNaN(v) ? undefined : v;
  }
  set timeoutMs(v: number | undefined) {
    this.set64(TIMEOUT_MS, v ?? NaN);
  }
  /** EWMA of billed duration (ms) */
  get billedMs(): number {
    return this.f64(BILLED_MS);
  }
  set billedMs(v: number) {
    this.set64(BILLED_MS, v);
  }
  get invocations(): number {
    return this.f64(INVOCATIONS);
  }
  set invocations(v: number) {
    this.set64(INVOCATIONS, v);
  }
  get errors(): number {
    return this.f64(ERRORS);
  }
  set errors(v: number) {
    this.set64(ERRORS, v);
  }
  get timeouts(): number {
    return this.f64(TIMEOUTS);
  }
  set timeouts(v: number) {
    this.set64(TIMEOUTS, v);
  }
  get coldStarts(): number {
    return this.f64(COLD_STARTS);
  }
  set coldStarts(v: number) {
    this.set64(COLD_STARTS, v);
  }
  /** Duration baseline is re-learning until this time (after a deploy) */
  get relearnUntil(): number {
    return this.f64(RELEARN_UNTIL);
  }
  set relearnUntil(v: number) {
    this.set64(RELEARN_UNTIL, v);
  }
  /** Error-rate baseline (decayed counts) and the current window */
  get errBase(): number {
    return this.f64(ERR_BASE);
  }
  set errBase(v: number) {
    this.set64(ERR_BASE, v);
  }
  get nBase(): number {
    return this.f64(N_BASE);
  }
  set nBase(v: number) {
    this.set64(N_BASE, v);
  }
  get errWindowStart(): number {
    return this.f64(ERR_WINDOW_START);
  }
  set errWindowStart(v: number) {
    this.set64(ERR_WINDOW_START, v);
  }
  get errWindowErrors(): number {
    return this.u32(ERR_WINDOW_ERRORS);
  }
  set errWindowErrors(v: number) {
    this.setU32(ERR_WINDOW_ERRORS, v);
  }
  get errWindowN(): number {
    return this.u32(ERR_WINDOW_N);
  }
  set errWindowN(v: number) {
    this.setU32(ERR_WINDOW_N, v);
  }
  get deniedWindowStart(): number {
    return this.f64(DENIED_WINDOW_START);
  }
  set deniedWindowStart(v: number) {
    this.set64(DENIED_WINDOW_START, v);
  }
  get deniedCount(): number {
    return this.u32(DENIED_COUNT);
  }
  set deniedCount(v: number) {
    this.setU32(DENIED_COUNT, v);
  }
  /** Next write position in the ring of recent duration bins */
  get recentPos(): number {
    return this.m.getUint8(SB + RECENT_POS);
  }
  set recentPos(v: number) {
    this.m.setUint8(SB + RECENT_POS, v);
  }
  /** Recent duration bins held (≤ {@link RECENT_DURATIONS}) */
  get recentLen(): number {
    return this.m.getUint8(SB + RECENT_LEN);
  }
  set recentLen(v: number) {
    this.m.setUint8(SB + RECENT_LEN, v);
  }
  /**
   * Bins of the most recent durations (ring): a live view of this profile's state, valid until the
   * profile's next update (which may move its buffer).
   */
  get recentBins(): Uint8Array {
    if (recentBinsOf !== this.m) {
      recentBinsView = new Uint8Array(this.m.buffer, this.m.byteOffset + SB + RECENT_BINS, RECENT_DURATIONS);
      recentBinsOf = this.m;
    }
    return recentBinsView!;
  }
  /** Entry `i` of {@link recentBins}, without the copy. */
  recentBin(i: number): number {
    return this.m.getUint8(SB + RECENT_BINS + i);
  }

  /** Invocation-rate model (a view of this profile's state) */
  get rate(): RateModel {
    if (rateOwner !== this) {
      rateView = new RateModel(this, SB + RATE, RATE_REGION);
      rateOwner = this;
    }
    return rateView!;
  }
  /** Duration histogram (a view of this profile's state) */
  get durations(): LogHistogram {
    if (durationsOwner !== this) {
      durationsView = new LogHistogram(DURATION_SCALE, this, SB + DURATION_HIST, DURATION_REGION);
      durationsOwner = this;
    }
    return durationsView!;
  }
  /** Egress host:port seen (a view) */
  get egress(): NoveltySet {
    return setView(this, EGRESS);
  }
  /** `action resource` pairs seen (a view) */
  get resources(): NoveltySet {
    return setView(this, RESOURCES);
  }
  /** API actions seen (a view) */
  get actions(): NoveltySet {
    return setView(this, ACTIONS);
  }

  /**
   * Calls refused for lack of permission, by `action resource` (as {@link resources}); undefined
   * until the first one, so a function never denied keeps no denial state in its baseline.
   */
  get denied(): NoveltySet | undefined {
    const set = setView(this, DENIED);
    return set.total > 0 ? set : undefined;
  }

  /** Learning state of a behaviour: trusted once the function has been seen long enough. */
  isTrusted(t: number, s: ProfilerSettings): boolean {
    return t - this.firstSeen >= s.learningMs;
  }

  /** Rate baselines are trusted after a full learning period of closed hours. */
  rateTrusted(t: number, s: ProfilerSettings): boolean {
    return this.isTrusted(t, s) && this.rate.hoursObserved >= s.learningMs / 3_600_000;
  }

  durationTrusted(s: ProfilerSettings): boolean {
    return this.durations.count >= s.minInvocationsForDuration;
  }

  relearning(t: number): boolean {
    return t < this.relearnUntil;
  }

  private touch(ev: { time: number; fn: FunctionRef }): void {
    if (ev.time > this.lastSeen) this.lastSeen = ev.time;
    if (ev.time < this.firstSeen) this.firstSeen = ev.time;
    if (!this.fn.arn && ev.fn.arn) this.fn.arn = ev.fn.arn;
  }

  observeInvocation(ev: InvocationEvent, s: ProfilerSettings, out: Observation): void {
    this.touch(ev);
    const invocations = this.invocations + 1;
    this.invocations = invocations;
    out.closedHours = scratchRate.bind(this, SB + RATE, RATE_REGION).observe(ev.time);
    if (ev.memorySizeMB !== undefined) this.memorySizeMB = ev.memorySizeMB;
    if (ev.initDurationMs !== undefined || ev.restoreDurationMs !== undefined) this.coldStarts++;
    if (ev.version !== undefined && ev.version !== this.version) {
      // A version seen in START lines is a deploy even without the CloudTrail event.
      if (this.version !== undefined) this.noteDeploy(ev.time, ev.version, 'START Version', s);
      this.version = ev.version;
    }
    const billed = ev.billedDurationMs ?? ev.durationMs;
    if (billed !== undefined) {
      const billedMs = this.billedMs;
      this.billedMs = billedMs + (billed - billedMs) * (invocations === 1 ? 1 : 0.01);
    }

    const failed = ev.status !== 'success';
    if (failed) this.errors++;
    if (ev.status === 'timeout') {
      this.timeouts++;
      const timeoutMs = this.timeoutMs;
      if (ev.durationMs !== undefined && (timeoutMs === undefined || ev.durationMs > timeoutMs)) {
        this.timeoutMs = ev.durationMs;
      }
    }
    this.observeErrorWindow(ev.time, failed, s);

    out.durationExceeded = false;
    if (ev.durationMs !== undefined) {
      const d = ev.durationMs;
      const durations = scratchDurations.bind(this, SB + DURATION_HIST, DURATION_REGION);
      const bin = durations.binOf(d);
      const pos = this.recentPos;
      this.m.setUint8(SB + RECENT_BINS + pos, bin);
      this.recentPos = (pos + 1) % RECENT_DURATIONS;
      if (this.recentLen < RECENT_DURATIONS) this.recentLen++;
      if (this.relearning(ev.time)) {
        // Re-learn fast after a deploy: new samples outweigh the old version's.
        durations.add(d, 10);
      } else if (durations.count >= s.minInvocationsForDuration) {
        const p99 = durations.quantileBin(0.99);
        out.durationExceeded = bin > p99;
        // Poisoning guard: far-out samples teach the baseline only a little.
        durations.add(d, bin > p99 + 3 ? 0.05 : 1);
      } else {
        durations.add(d, 1);
      }
    }
  }

  private observeErrorWindow(t: number, failed: boolean, s: ProfilerSettings): void {
    if (t - this.errWindowStart >= s.errorWindowMs) {
      const errWindowN = this.errWindowN;
      if (errWindowN > 0) {
        // Winsorised so a burst does not become the new normal.
        let errBase = this.errBase;
        let nBase = this.nBase;
        const baseRate = (errBase + 1) / (nBase + 100);
        const cap = Math.max(3 * baseRate, 0.05) * errWindowN;
        errBase += Math.min(this.errWindowErrors, cap);
        nBase += errWindowN;
        if (nBase > 5000) {
          const k = 5000 / nBase;
          errBase *= k;
          nBase *= k;
        }
        this.errBase = errBase;
        this.nBase = nBase;
      }
      this.errWindowStart = t - (t % s.errorWindowMs);
      this.errWindowErrors = 0;
      this.errWindowN = 0;
    }
    this.errWindowN++;
    if (failed) this.errWindowErrors++;
  }

  /** Baseline error rate, smoothed towards 1% while little has been seen. */
  baselineErrorRate(): number {
    return (this.errBase + 1) / (this.nBase + 100);
  }

  observeEgress(ev: EgressEvent, out: Observation): void {
    this.touch(ev);
    const key = ev.port !== undefined ? `${ev.host}:${ev.port}` : ev.host;
    out.isNew = this.egress.observe(key, ev.time);
    out.isNewAction = false;
  }

  observeResource(ev: ResourceAccessEvent, s: ProfilerSettings, out: Observation): void {
    this.touch(ev);
    out.isNewAction = this.actions.observe(ev.action, ev.time);
    const resource = ev.resources.length > 0 ? ev.resources[0]! : '*';
    const key = `${ev.action} ${resource}`;
    out.isNew = this.resources.observe(key, ev.time);
    if (isAccessDenied(ev.errorCode)) {
      setView(this, DENIED).observe(key, ev.time);
      if (ev.time - this.deniedWindowStart >= s.deniedWindowMs) {
        this.deniedWindowStart = ev.time;
        this.deniedCount = 0;
      }
      this.deniedCount++;
    }
  }

  observeChange(ev: ChangeEvent, s: ProfilerSettings): void {
    this.touch(ev);
    if (ev.change === 'code' || ev.change === 'config' || ev.change === 'publish' || ev.change === 'version' || ev.change === 'create') {
      this.noteDeploy(ev.time, ev.version, ev.detail ?? ev.change, s);
      if (ev.version !== undefined && ev.change !== 'publish') this.version = ev.version;
    }
  }

  private noteDeploy(t: number, version: string | undefined, detail: string, s: ProfilerSettings): void {
    this.lastDeploy = { time: t, version, detail };
    this.relearnUntil = Math.max(this.relearnUntil, t + s.relearnMs);
  }

  /** Median bin of the `n` most recent durations. */
  recentMedianBinOf(n: number): number {
    n = Math.min(n, this.recentLen);
    if (n === 0) return 0;
    const a: number[] = [];
    const pos = this.recentPos;
    for (let i = 0; i < n; i++) a.push(this.recentBin((pos - 1 - i + RECENT_DURATIONS) % RECENT_DURATIONS));
    a.sort((x, y) => x - y);
    return a[Math.floor(n / 2)]!;
  }

  toJSON(): FunctionProfileJSON {
    const denied = this.denied;
    return {
      fn: this.fn,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      version: this.version,
      lastDeploy: this.lastDeploy,
      memorySizeMB: this.memorySizeMB,
      timeoutMs: this.timeoutMs,
      billedMs: this.billedMs,
      invocations: this.invocations,
      errors: this.errors,
      timeouts: this.timeouts,
      coldStarts: this.coldStarts,
      rate: this.rate.toJSON(),
      durations: this.durations.toJSON(),
      errBase: this.errBase,
      nBase: this.nBase,
      egress: this.egress.toJSON(),
      resources: this.resources.toJSON(),
      actions: this.actions.toJSON(),
      ...(denied ? { denied: denied.toJSON() } : {}),
      recentBins: Array.from(this.recentBins),
      recentPos: this.recentPos,
      recentLen: this.recentLen,
      relearnUntil: encodeNumber(this.relearnUntil),
      errWindowStart: encodeNumber(this.errWindowStart),
      errWindowErrors: this.errWindowErrors,
      errWindowN: this.errWindowN,
      deniedWindowStart: encodeNumber(this.deniedWindowStart),
      deniedCount: this.deniedCount,
    };
  }

  /**
   * A profile from its saved state (baseline schema 1 or 2). Schema 1 did not save the windows and
   * rings: a profile restored from it starts them empty, as it always did.
   */
  static fromJSON(saved: FunctionProfileJSON | Record<string, unknown>, s: ProfilerSettings): FunctionProfile {
    const j = saved as FunctionProfileJSON;
    for (const field of ['fn', 'rate', 'durations', 'egress', 'resources', 'actions'] as const) {
      if (typeof j?.[field] !== 'object' || j[field] === null) throw new Error(`field "${field}" is missing`);
    }
    const p = new FunctionProfile(j.fn, j.firstSeen, s);
    p.lastSeen = j.lastSeen;
    p.version = j.version;
    p.lastDeploy = j.lastDeploy;
    p.memorySizeMB = j.memorySizeMB ?? undefined;
    p.timeoutMs = j.timeoutMs ?? undefined;
    p.billedMs = j.billedMs;
    p.invocations = j.invocations;
    p.errors = j.errors;
    p.timeouts = j.timeouts;
    p.coldStarts = j.coldStarts;
    p.rate.load(j.rate);
    p.durations.load(j.durations);
    p.errBase = j.errBase;
    p.nBase = j.nBase;
    p.egress.load(j.egress);
    p.resources.load(j.resources);
    p.actions.load(j.actions);
    if (j.denied) setView(p, DENIED).load(j.denied);
    if (j.recentBins) {
      for (let i = 0; i < RECENT_DURATIONS; i++) p.m.setUint8(SB + RECENT_BINS + i, j.recentBins[i] ?? 0);
      p.recentPos = j.recentPos ?? 0;
      p.recentLen = j.recentLen ?? 0;
    }
    p.relearnUntil = decodeNumber(j.relearnUntil, -Infinity);
    p.errWindowStart = decodeNumber(j.errWindowStart, -Infinity);
    p.errWindowErrors = j.errWindowErrors ?? 0;
    p.errWindowN = j.errWindowN ?? 0;
    p.deniedWindowStart = decodeNumber(j.deniedWindowStart, -Infinity);
    p.deniedCount = j.deniedCount ?? 0;
    return p;
  }
}

export { intern, type SeenEntry };
