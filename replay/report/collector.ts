/**
 * Collects what the HTML report draws while a replay runs: per function, time-bucketed
 * invocations, failures, duration quantiles and estimated cost, next to the baseline the profiler
 * held at the time; plus the alerts, and at the end what each function was learned to talk to.
 *
 * Hook it into a run with the Pipeline/Engine `observer` option and `onAlert`:
 *
 *   const report = new ReportCollector({ models: pack });
 *   const p = new Pipeline({ models: pack, observer: report.observer, onAlert: (a) => { report.onAlert(a); … } });
 *
 * Memory is bounded, by these policies:
 * - Buckets are 5 minutes to start with. When the run's time span would need more than
 *   `maxBuckets` buckets, every series is coarsened in place to the next width of 15 min, 1 h, 6 h,
 *   1 day, then doubling (merged duration quantiles are approximate: {@link addThreePoint}).
 * - At most `maxFunctions` functions get a series (about 28 bytes a bucket each: at the defaults
 *   5,000 × 1,440 buckets is ~200 MB at the very worst, a few MB for a few hundred functions).
 *   Functions are admitted in order of first sight. When the table is full and an untracked
 *   function alerts, it takes the slot of the tracked function with the fewest invocations that has
 *   not alerted, and its series starts at that alert (the report marks it as partial). Functions
 *   that alert are never displaced. Every invocation still counts in the fleet totals and series.
 * - Alerts are kept as compact rows, one per finding (updates fold into it), at most `maxAlerts`;
 *   further findings are counted in `alertsOmitted`.
 */
import type { Alert } from '../../src/core/alert.ts';
import { UsageError } from '../../src/core/contracts.ts';
import { functionKey, type FnEvent, type InvocationEvent } from '../../src/core/events.ts';
import { defaultPack, type ModelPack } from '../../src/detectors/pack.ts';
import { profilerSettings } from '../../src/pipeline/engine.ts';
import type { FunctionProfile } from '../../src/profiler/profile.ts';
import type { SeenEntry } from '../../src/profiler/novelty.ts';
import { BucketSeries, DURATION_BINS, DURATION_SCALE, NO_BIN, histQuantileBin } from './series.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Bucket widths in minutes, finest first; past the last, widths double. */
export const BUCKET_LADDER_MINUTES: readonly number[] = [1, 5, 15, 60, 360, 1440];
/** Memory Lambda assumes when no REPORT has told it */
const DEFAULT_MEMORY_MB = 128;

export interface ReportCollectorOptions {
  /** Detector pack: its price table prices invocations, its learning period is shaded (default: models/default.yaml) */
  models?: ModelPack;
  /** Initial bucket width in minutes, one of {@link BUCKET_LADDER_MINUTES} (default 5) */
  bucketMinutes?: number;
  /** Most buckets a series spans before all series are coarsened (default 1440) */
  maxBuckets?: number;
  /** Most functions with a series (default 5000) */
  maxFunctions?: number;
  /** Most findings kept for the report (default 20000) */
  maxAlerts?: number;
  /** CPU architecture for pricing (events do not carry it; default x86_64) */
  architecture?: 'x86_64' | 'arm64';
}

/** One finding as the report shows it: its first raise, highest severity and latest update. */
export interface ReportAlert {
  uid: string;
  /** First raise (ms) */
  time: number;
  /** Last update (ms) */
  last: number;
  kind: string;
  severity: number;
  title: string;
  /** The explanation (`finding_info.desc`) of the highest-severity raise */
  desc: string;
  name: string;
  account?: string;
  region?: string;
  /** `account/region/name` as in {@link functionKey} */
  key: string;
  /** OCSF Updates folded into this row */
  updates: number;
}

/** A learned item of a function (egress host:port, action, action + resource). */
export interface LearnedItem {
  item: string;
  first: number;
  last: number;
  count: number;
}

/** A charted function: its series (aligned on the report's bucket grid) and what was learned. */
export interface ReportFunction {
  key: string;
  name: string;
  account?: string;
  region?: string;
  arn?: string;
  /** Bucket index (in the report grid) of the first element of the series arrays */
  offset: number;
  inv: number[];
  /** Invocations that did not succeed (timeouts included) */
  err: number[];
  /** Estimated USD (3 significant digits) */
  cost: number[];
  /** Duration p50/p95 in the bucket, as bins of {@link ReportData.durationScale} (compact JSON) */
  p50: (number | null)[];
  p95: (number | null)[];
  /** Expected invocations in the bucket at its close */
  exp: (number | null)[];
  /** Baseline duration p50/p99 at the bucket's close, as bins of {@link ReportData.durationScale} */
  b50: (number | null)[];
  b99: (number | null)[];
  /** Index of dispersion of minute counts: the band is exp ± 2·sqrt(exp·dispersion) */
  dispersion: number;
  firstSeen: number;
  lastSeen: number;
  learningEnd: number;
  /** Set when the series starts late (the function was admitted when it alerted) */
  trackedSince?: number;
  /** False when the function alerted but has no series in the report */
  charted: boolean;
  /** Why not: no series was kept (the collector's function cap), or over the report's chart cap */
  unchartedReason?: 'not-tracked' | 'chart-cap';
  memoryMB?: number;
  version?: string;
  lastDeploy?: { time: number; version?: string; detail?: string };
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  costUsd: number;
  /** Mean estimated cost per invocation over the run (prices the baseline band of the cost chart) */
  usdPerInvocation: number;
  egress: LearnedItem[];
  egressOverflow: number;
  actions: LearnedItem[];
  resources: LearnedItem[];
  resourcesOverflow: number;
  /** Indices into {@link ReportData.alerts} */
  alerts: number[];
  maxSeverity: number;
}

/** One row of the biggest-spenders table. */
export interface FunctionSummaryRow {
  name: string;
  key: string;
  invocations: number;
  errors: number;
  costUsd: number;
  alerts: number;
}

/** Everything the page draws, embedded in it as JSON. */
export interface ReportData {
  bucketMs: number;
  /** Time (ms) at which bucket 0 of the grid starts */
  start: number;
  buckets: number;
  /** First and last event times (ms); null when no event was seen */
  firstEvent: number | null;
  lastEvent: number | null;
  learningMs: number;
  /** Prices used for the estimates (the client prices the cost chart's baseline with them) */
  pricing: { perRequestUsd: number; perGbSecondUsd: number };
  /** Duration bins: bin 0 is below `base` ms, bin i ≥ 1 spans base·factor^(i-1) … base·factor^i */
  durationScale: { base: number; factor: number };
  fleet: { inv: number[]; err: number[]; tmo: number[]; cost: number[] };
  functions: ReportFunction[];
  alerts: ReportAlert[];
  topFunctions: FunctionSummaryRow[];
  totals: {
    /** Functions seen (distinct profiles; a function evicted from the engine and seen again counts twice) */
    functions: number;
    functionsTracked: number;
    /** Tracked functions whose series was dropped to make room for an alerting one */
    functionsDisplaced: number;
    events: Record<FnEvent['kind'], number>;
    invocations: number;
    errors: number;
    timeouts: number;
    costUsd: number;
    /** Alerts received (Creates and Updates) */
    alertsReceived: number;
    findings: number;
    /** Findings beyond `maxAlerts`, not in `alerts` */
    alertsOmitted: number;
    /** Events with a non-finite time: profiled by the engine but not placed on the time axis */
    eventsWithoutTime: number;
  };
}

class Tracked {
  readonly series: BucketSeries;
  /** Bucket still collecting durations (absolute number); -Infinity before the first invocation */
  openB = -Infinity;
  readonly hist = new Float64Array(DURATION_BINS);
  histW = 0;
  alerted = false;
  costUsd = 0;
  constructor(
    readonly profile: FunctionProfile,
    readonly trackedSince: number | undefined,
    maxBuckets: number,
  ) {
    this.series = new BucketSeries(maxBuckets);
  }
}

/**
 * Compacts alerts into one row per finding.
 *
 * @example
 * const rows = new AlertRows(20_000);
 * for (const a of alerts) rows.add(a);
 * rows.list(); // sorted by first raise
 */
export class AlertRows {
  private readonly rows = new Map<string, ReportAlert>();
  received = 0;
  omitted = 0;
  constructor(readonly max: number) {}

  add(a: Alert): ReportAlert | undefined {
    this.received++;
    const uid = a.finding_info.uid;
    const prior = this.rows.get(uid);
    if (prior) {
      prior.updates++;
      if (a.time < prior.time) prior.time = a.time;
      if (a.time > prior.last) prior.last = a.time;
      if (a.severity_id > prior.severity) {
        prior.severity = a.severity_id;
        prior.desc = a.finding_info.desc;
      }
      return prior;
    }
    if (this.rows.size >= this.max) {
      this.omitted++;
      return undefined;
    }
    const r = a.resources[0];
    const account = r?.owner?.account?.uid;
    const region = r?.region;
    const name = r?.name ?? a.finding_info.analytic?.name ?? '?';
    const row: ReportAlert = {
      uid,
      time: a.time,
      last: a.time,
      kind: a.finding_info.types[0] ?? 'unknown',
      severity: a.severity_id,
      title: a.finding_info.title ?? '',
      desc: a.finding_info.desc ?? '',
      name,
      ...(account ? { account } : {}),
      ...(region ? { region } : {}),
      key: functionKey({ name, account, region }),
      updates: 0,
    };
    this.rows.set(uid, row);
    return row;
  }

  list(): ReportAlert[] {
    return [...this.rows.values()].sort((x, y) => x.time - y.time || x.key.localeCompare(y.key));
  }
}

/**
 * Aggregates a run for the HTML report. Pass {@link observer} as the Engine/Pipeline `observer`
 * and call {@link onAlert} for every alert; then hand the collector to `writeHtmlReport`.
 *
 * @example
 * const report = new ReportCollector();
 * const pipeline = new Pipeline({ observer: report.observer, onAlert: report.onAlert });
 * for (const item of items) pipeline.process(item);
 * pipeline.finish();
 * await writeHtmlReport('report.html', { title: 'replay', collector: report });
 */
export class ReportCollector {
  readonly maxBuckets: number;
  readonly maxFunctions: number;
  readonly learningMs: number;
  /** Current bucket width (ms); grows when the span outgrows `maxBuckets` */
  bucketMs: number;
  readonly fleet: BucketSeries;
  readonly alertRows: AlertRows;
  readonly events: Record<FnEvent['kind'], number> = { invocation: 0, resource_access: 0, egress: 0, change: 0 };
  eventsWithoutTime = 0;
  functionsSeen = 0;
  functionsDisplaced = 0;
  firstEvent = Infinity;
  lastEvent = -Infinity;

  private readonly tracked = new Map<FunctionProfile, Tracked>();
  private readonly untracked = new WeakSet<FunctionProfile>();
  /** Keys of functions that alerted since the last observer call (the engine alerts, then observes) */
  private readonly pendingAlertKeys: string[] = [];
  private minB = Infinity;
  private maxB = -Infinity;
  private readonly perRequestUsd: number;
  private readonly perGbSecondUsd: number;

  constructor(opts: ReportCollectorOptions = {}) {
    const pack = opts.models ?? defaultPack();
    const minutes = opts.bucketMinutes ?? 5;
    if (!BUCKET_LADDER_MINUTES.includes(minutes)) {
      throw new UsageError(`report bucket width must be one of ${BUCKET_LADDER_MINUTES.join(', ')} minutes, not ${minutes}`);
    }
    this.bucketMs = minutes * MINUTE;
    this.maxBuckets = Math.max(16, opts.maxBuckets ?? 1440);
    this.fleet = new BucketSeries(this.maxBuckets);
    this.maxFunctions = Math.max(1, opts.maxFunctions ?? 5000);
    this.alertRows = new AlertRows(Math.max(1, opts.maxAlerts ?? 20_000));
    this.learningMs = profilerSettings(pack).learningMs;
    this.perRequestUsd = pack.pricing.perMillionRequests / 1e6;
    this.perGbSecondUsd = pack.pricing.perGbSecond[opts.architecture ?? 'x86_64'];
  }

  /** The Engine/Pipeline `observer`: called after each event is profiled and scored. */
  readonly observer = (ev: FnEvent, profile: FunctionProfile): void => {
    this.events[ev.kind]++;
    let f = this.tracked.get(profile);
    if (f === undefined && !this.untracked.has(profile)) f = this.admit(profile);
    if (this.pendingAlertKeys.length > 0) f = this.claimAlerts(profile, f, ev.time);
    const t = ev.time;
    if (!Number.isFinite(t)) {
      this.eventsWithoutTime++;
      return;
    }
    if (t < this.firstEvent) this.firstEvent = t;
    if (t > this.lastEvent) this.lastEvent = t;
    let b = Math.floor(t / this.bucketMs);
    if (b < this.minB || b > this.maxB) b = this.widen(b, t);
    if (ev.kind !== 'invocation') return;

    const cost = this.costOf(ev, profile);
    const failed = ev.status !== 'success';
    const timeout = ev.status === 'timeout';
    const fleet = this.fleet;
    const fi = fleet.index(b);
    fleet.inv[fi]!++;
    fleet.cost[fi]! += cost;
    if (failed) fleet.err[fi]!++;
    if (timeout) fleet.tmo[fi]!++;
    if (f === undefined) return;

    f.costUsd += cost;
    const s = f.series;
    if (b > f.openB) {
      if (f.openB !== -Infinity) {
        s.index(b); // extend first so the gap's slots exist
        this.close(f);
        this.fillBaseline(f, f.openB + 1, b - 1);
      }
      f.openB = b;
      f.hist.fill(0);
      f.histW = 0;
    }
    const i = s.index(b);
    s.inv[i]!++;
    s.cost[i]! += cost;
    if (failed) s.err[i]!++;
    if (timeout) s.tmo[i]!++;
    // Late events (earlier buckets) count, but their bucket's quantiles are already closed.
    if (b === f.openB && ev.durationMs !== undefined) {
      f.hist[DURATION_SCALE.binOf(ev.durationMs)]!++;
      f.histW++;
    }
  };

  /** Takes an alert (call it from the Pipeline's `onAlert`). */
  readonly onAlert = (alert: Alert): void => {
    this.alertRows.add(alert);
    const r = alert.resources[0];
    // Without an observer nothing claims these; keep the list from growing in an alerts-only report.
    if (this.pendingAlertKeys.length >= 256) this.pendingAlertKeys.length = 0;
    if (r) this.pendingAlertKeys.push(functionKey({ name: r.name, account: r.owner?.account?.uid, region: r.region }));
  };

  /** Estimated USD of one invocation: requests + billed GB-seconds, as the cost detectors price it. */
  private costOf(ev: InvocationEvent, p: FunctionProfile): number {
    const billedMs = ev.billedDurationMs ?? ev.durationMs ?? p.billedMs;
    const memoryMB = ev.memorySizeMB ?? p.memorySizeMB ?? DEFAULT_MEMORY_MB;
    return this.perRequestUsd + (billedMs / 1000) * (memoryMB / 1024) * this.perGbSecondUsd;
  }

  private admit(p: FunctionProfile): Tracked | undefined {
    this.functionsSeen++;
    if (this.tracked.size >= this.maxFunctions) {
      this.untracked.add(p);
      return undefined;
    }
    const f = new Tracked(p, undefined, this.maxBuckets);
    this.tracked.set(p, f);
    return f;
  }

  /** Marks the function the pending alerts are about, promoting it to a series if it has none. */
  private claimAlerts(p: FunctionProfile, f: Tracked | undefined, t: number): Tracked | undefined {
    const key = functionKey(p.fn);
    const mine = this.pendingAlertKeys.includes(key);
    this.pendingAlertKeys.length = 0;
    if (!mine) return f;
    if (f) {
      f.alerted = true;
      return f;
    }
    let victim: Tracked | undefined;
    for (const g of this.tracked.values()) {
      if (!g.alerted && (victim === undefined || g.profile.invocations < victim.profile.invocations)) victim = g;
    }
    if (victim === undefined) return undefined;
    this.tracked.delete(victim.profile);
    this.untracked.add(victim.profile);
    this.functionsDisplaced++;
    const promoted = new Tracked(p, Number.isFinite(t) ? t : undefined, this.maxBuckets);
    promoted.alerted = true;
    this.tracked.set(p, promoted);
    return promoted;
  }

  /** Extends the covered span to bucket `b`, coarsening everything while it is too wide. */
  private widen(b: number, t: number): number {
    if (b < this.minB) this.minB = b;
    if (b > this.maxB) this.maxB = b;
    while (this.maxB - this.minB + 1 > this.maxBuckets) {
      const minutes = this.bucketMs / MINUTE;
      const next = BUCKET_LADDER_MINUTES.find((m) => m > minutes && m % minutes === 0) ?? minutes * 2;
      const k = next / minutes;
      this.fleet.coarsen(k);
      for (const f of this.tracked.values()) {
        f.histW += f.series.coarsen(k, f.openB, f.hist);
        if (f.openB !== -Infinity) f.openB = Math.floor(f.openB / k);
      }
      this.minB = Math.floor(this.minB / k);
      this.maxB = Math.floor(this.maxB / k);
      this.bucketMs = next * MINUTE;
    }
    return Math.floor(t / this.bucketMs);
  }

  /** Records the open bucket's duration quantiles and the baseline as it stands now. Idempotent. */
  private close(f: Tracked): void {
    const s = f.series;
    const i = s.slotOf(f.openB);
    if (i < 0) return;
    if (f.histW > 0) {
      s.p50[i] = histQuantileBin(f.hist, f.histW, 0.5);
      s.p95[i] = histQuantileBin(f.hist, f.histW, 0.95);
    }
    this.writeBaseline(f, f.openB, f.openB);
  }

  /** Baseline for empty buckets `from..to` (a silence), as the profile holds it now. */
  private fillBaseline(f: Tracked, from: number, to: number): void {
    if (to >= from) this.writeBaseline(f, from, to);
  }

  private writeBaseline(f: Tracked, from: number, to: number): void {
    const p = f.profile;
    const s = f.series;
    const haveRate = p.rate.hoursObserved > 0;
    const haveDur = p.durations.count > 0;
    // through values, so the bins are the report's even if the profiler's histogram changes shape
    const b50 = haveDur ? DURATION_SCALE.binOf(p.durations.quantile(0.5)) : NO_BIN;
    const b99 = haveDur ? DURATION_SCALE.binOf(p.durations.quantile(0.99)) : NO_BIN;
    for (let b = from; b <= to; b++) {
      const i = s.slotOf(b);
      if (i < 0) continue;
      s.exp[i] = haveRate ? this.expectedIn(p, b) : NaN;
      s.b50[i] = b50;
      s.b99[i] = b99;
    }
  }

  /** Expected invocations in bucket `b` from the seasonal rate model. */
  private expectedIn(p: FunctionProfile, b: number): number {
    const t0 = b * this.bucketMs;
    if (this.bucketMs <= HOUR) return (p.rate.expectedForHour(Math.floor(t0 / HOUR)) * this.bucketMs) / HOUR;
    let sum = 0;
    const h0 = Math.floor(t0 / HOUR);
    const h1 = Math.floor((t0 + this.bucketMs) / HOUR);
    for (let h = h0; h < h1; h++) sum += p.rate.expectedForHour(h);
    return sum;
  }

  /** Bytes held by the series and open-bucket histograms (not counting object overheads). */
  memoryBytes(): number {
    let n = this.fleet.bytes;
    for (const f of this.tracked.values()) n += f.series.bytes + f.hist.byteLength;
    return n;
  }

  /** Functions that currently have a series. */
  get trackedFunctions(): number {
    return this.tracked.size;
  }

  /**
   * What the page draws. Closes the open buckets (with the profiles as they are now); more events
   * may follow and a later call sees them. `alerts` replaces the alerts the collector received
   * (e.g. read back from an alerts file); `maxFunctions` caps the functions embedded with series.
   */
  build(opts: { alerts?: readonly Alert[]; maxFunctions?: number } = {}): ReportData {
    for (const f of this.tracked.values()) if (f.openB !== -Infinity) this.close(f);
    let rows = this.alertRows;
    if (opts.alerts) {
      rows = new AlertRows(this.alertRows.max);
      for (const a of opts.alerts) rows.add(a);
    }
    const alerts = rows.list();
    const gridStart = Number.isFinite(this.minB) ? this.minB : 0;
    const buckets = Number.isFinite(this.minB) ? this.maxB - this.minB + 1 : 0;

    const byKey = new Map<string, Tracked>();
    const byName = new Map<string, Tracked[]>();
    for (const f of this.tracked.values()) {
      byKey.set(functionKey(f.profile.fn), f);
      const list = byName.get(f.profile.fn.name);
      if (list) list.push(f);
      else byName.set(f.profile.fn.name, [f]);
    }
    // Alerts name the function as it was known then; a partial identity may have been completed since.
    const trackOf = (a: ReportAlert): Tracked | undefined =>
      byKey.get(a.key) ??
      byName.get(a.name)?.find((f) => (!a.account || f.profile.fn.account === a.account) && (!a.region || f.profile.fn.region === a.region));

    const groups = new Map<string, { track?: Tracked; alerts: number[]; max: number; sample: ReportAlert }>();
    alerts.forEach((a, idx) => {
      const track = trackOf(a);
      const key = track ? functionKey(track.profile.fn) : a.key;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { track, alerts: [], max: 0, sample: a }));
      g.alerts.push(idx);
      if (a.severity > g.max) g.max = a.severity;
    });
    const ordered = [...groups.entries()].sort(
      (x, y) => y[1].max - x[1].max || y[1].alerts.length - x[1].alerts.length || x[0].localeCompare(y[0]),
    );
    const maxCharted = opts.maxFunctions ?? Infinity;
    const functions: ReportFunction[] = ordered.map(([key, g], n) =>
      g.track && n < maxCharted
        ? this.functionData(g.track, gridStart, g.alerts, g.max)
        : uncharted(key, g.sample, g.alerts, g.max, g.track ? 'chart-cap' : 'not-tracked'),
    );

    const alertCount = new Map<string, number>();
    for (const [key, g] of groups) alertCount.set(key, g.alerts.length);
    const top = [...this.tracked.values()]
      .sort((x, y) => y.costUsd - x.costUsd || y.profile.invocations - x.profile.invocations)
      .slice(0, 100)
      .map((f) => {
        const key = functionKey(f.profile.fn);
        return { name: f.profile.fn.name, key, invocations: f.profile.invocations, errors: f.profile.errors, costUsd: round(f.costUsd), alerts: alertCount.get(key) ?? 0 };
      });

    const fleet = this.fleet;
    const fo = fleet.start - gridStart;
    const fleetCol = (a: ArrayLike<number>, r: (x: number) => number = (x) => x) => {
      const out = new Array<number>(buckets).fill(0);
      for (let i = 0; i < fleet.len; i++) out[fo + i] = r(a[i]!);
      return out;
    };
    let invocations = 0;
    let errors = 0;
    let timeouts = 0;
    let costUsd = 0;
    for (let i = 0; i < fleet.len; i++) {
      invocations += fleet.inv[i]!;
      errors += fleet.err[i]!;
      timeouts += fleet.tmo[i]!;
      costUsd += fleet.cost[i]!;
    }
    return {
      bucketMs: this.bucketMs,
      start: gridStart * this.bucketMs,
      buckets,
      firstEvent: Number.isFinite(this.firstEvent) ? this.firstEvent : null,
      lastEvent: Number.isFinite(this.lastEvent) ? this.lastEvent : null,
      learningMs: this.learningMs,
      pricing: { perRequestUsd: this.perRequestUsd, perGbSecondUsd: this.perGbSecondUsd },
      durationScale: { base: DURATION_SCALE.base, factor: DURATION_SCALE.factor },
      fleet: { inv: fleetCol(fleet.inv), err: fleetCol(fleet.err), tmo: fleetCol(fleet.tmo), cost: fleetCol(fleet.cost, round) },
      functions,
      alerts,
      topFunctions: top,
      totals: {
        functions: this.functionsSeen,
        functionsTracked: this.tracked.size,
        functionsDisplaced: this.functionsDisplaced,
        events: { ...this.events },
        invocations,
        errors,
        timeouts,
        costUsd: round(costUsd),
        alertsReceived: rows.received,
        findings: alerts.length + rows.omitted,
        alertsOmitted: rows.omitted,
        eventsWithoutTime: this.eventsWithoutTime,
      },
    };
  }

  private functionData(f: Tracked, gridStart: number, alerts: number[], maxSeverity: number): ReportFunction {
    const p = f.profile;
    const s = f.series;
    const n = s.len;
    const inv: number[] = new Array(n);
    const err: number[] = new Array(n);
    const cost: number[] = new Array(n);
    const p50: (number | null)[] = new Array(n);
    const p95: (number | null)[] = new Array(n);
    const exp: (number | null)[] = new Array(n);
    const b50: (number | null)[] = new Array(n);
    const b99: (number | null)[] = new Array(n);
    const trackedInvocations = sum(s.inv);
    const bin = (b: number) => (b === NO_BIN ? null : b);
    for (let i = 0; i < n; i++) {
      inv[i] = s.inv[i]!;
      err[i] = s.err[i]!;
      cost[i] = round(s.cost[i]!, 3);
      p50[i] = bin(s.p50[i]!);
      p95[i] = bin(s.p95[i]!);
      const e = s.exp[i]!;
      exp[i] = e === e ? round(e, 3) : null;
      b50[i] = bin(s.b50[i]!);
      b99[i] = bin(s.b99[i]!);
    }
    return {
      key: functionKey(p.fn),
      name: p.fn.name,
      ...(p.fn.account ? { account: p.fn.account } : {}),
      ...(p.fn.region ? { region: p.fn.region } : {}),
      ...(p.fn.arn ? { arn: p.fn.arn } : {}),
      offset: s.start - gridStart,
      inv,
      err,
      cost,
      p50,
      p95,
      exp,
      b50,
      b99,
      dispersion: round(p.rate.dispersion, 3),
      firstSeen: p.firstSeen,
      lastSeen: p.lastSeen,
      learningEnd: p.firstSeen + this.learningMs,
      ...(f.trackedSince !== undefined ? { trackedSince: f.trackedSince } : {}),
      charted: true,
      ...(p.memorySizeMB !== undefined ? { memoryMB: p.memorySizeMB } : {}),
      ...(p.version !== undefined ? { version: p.version } : {}),
      ...(p.lastDeploy ? { lastDeploy: p.lastDeploy } : {}),
      invocations: p.invocations,
      errors: p.errors,
      timeouts: p.timeouts,
      coldStarts: p.coldStarts,
      costUsd: round(f.costUsd),
      usdPerInvocation: trackedInvocations > 0 ? round(f.costUsd / trackedInvocations, 4) : 0,
      egress: learned(p.egress.items),
      egressOverflow: p.egress.overflow,
      actions: learned(p.actions.items),
      resources: learned(p.resources.items),
      resourcesOverflow: p.resources.overflow,
      alerts,
      maxSeverity,
    };
  }
}

function uncharted(key: string, a: ReportAlert, alerts: number[], maxSeverity: number, reason: 'not-tracked' | 'chart-cap'): ReportFunction {
  return {
    key,
    name: a.name,
    ...(a.account ? { account: a.account } : {}),
    ...(a.region ? { region: a.region } : {}),
    offset: 0,
    inv: [],
    err: [],
    cost: [],
    p50: [],
    p95: [],
    exp: [],
    b50: [],
    b99: [],
    dispersion: 1,
    firstSeen: a.time,
    lastSeen: a.last,
    learningEnd: a.time,
    charted: false,
    unchartedReason: reason,
    invocations: 0,
    errors: 0,
    timeouts: 0,
    coldStarts: 0,
    costUsd: 0,
    usdPerInvocation: 0,
    egress: [],
    egressOverflow: 0,
    actions: [],
    resources: [],
    resourcesOverflow: 0,
    alerts,
    maxSeverity,
  };
}

function learned(items: ReadonlyMap<string, readonly [first: number, last: number, count: number]>): LearnedItem[] {
  const out: LearnedItem[] = [];
  for (const [item, [first, last, count]] of items) out.push({ item, first, last, count });
  return out.sort((x, y) => x.first - y.first || x.item.localeCompare(y.item));
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** Rounds to `digits` significant digits, keeping JSON short. */
function round(x: number, digits = 6): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}
