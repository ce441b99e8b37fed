/**
 * What fnwatch has learned about one function: its invocation rate (seasonal), durations, error
 * rate, egress hosts and the resources it touches, plus its learning state and deploy history.
 *
 * `observe*` methods are the profiler: pure updates driven by event time. They report what was new
 * about the event in the returned {@link Observation}; detectors read that and the profile.
 */
import type {
  ChangeEvent,
  EgressEvent,
  FunctionRef,
  InvocationEvent,
  ResourceAccessEvent,
} from '../core/events.ts';
import { LogHistogram } from './log-histogram.ts';
import { NoveltySet, intern, type SeenEntry } from './novelty.ts';
import { RateModel } from './rate.ts';

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

export class FunctionProfile {
  fn: FunctionRef;
  firstSeen: number;
  lastSeen: number;
  version?: string;
  lastDeploy?: { time: number; version?: string; detail?: string };
  memorySizeMB?: number;
  /** Largest duration seen on a timed-out invocation: the configured timeout */
  timeoutMs?: number;
  /** EWMA of billed duration (ms) */
  billedMs = 0;

  invocations = 0;
  errors = 0;
  timeouts = 0;
  coldStarts = 0;

  readonly rate = new RateModel();
  readonly durations = new LogHistogram(56, 1, 1.3, 2000);
  /** Bins of the most recent durations (ring) */
  readonly recentBins = new Uint8Array(RECENT_DURATIONS);
  recentPos = 0;
  recentLen = 0;
  /** Duration baseline is re-learning until this time (after a deploy) */
  relearnUntil = -Infinity;

  /** Error-rate baseline (decayed counts) and the current window */
  errBase = 0;
  nBase = 0;
  errWindowStart = -Infinity;
  errWindowErrors = 0;
  errWindowN = 0;

  readonly egress: NoveltySet;
  readonly resources: NoveltySet;
  readonly actions: NoveltySet;
  deniedWindowStart = -Infinity;
  deniedCount = 0;

  constructor(fn: FunctionRef, t: number, settings: ProfilerSettings) {
    this.fn = { ...fn };
    this.firstSeen = t;
    this.lastSeen = t;
    this.egress = new NoveltySet(settings.egressCap);
    this.resources = new NoveltySet(settings.resourceCap);
    this.actions = new NoveltySet(settings.resourceCap);
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
    this.invocations++;
    out.closedHours = this.rate.observe(ev.time);
    if (ev.memorySizeMB !== undefined) this.memorySizeMB = ev.memorySizeMB;
    if (ev.initDurationMs !== undefined || ev.restoreDurationMs !== undefined) this.coldStarts++;
    if (ev.version !== undefined && ev.version !== this.version) {
      // A version seen in START lines is a deploy even without the CloudTrail event.
      if (this.version !== undefined) this.noteDeploy(ev.time, ev.version, 'START Version', s);
      this.version = ev.version;
    }
    const billed = ev.billedDurationMs ?? ev.durationMs;
    if (billed !== undefined) this.billedMs += (billed - this.billedMs) * (this.invocations === 1 ? 1 : 0.01);

    const failed = ev.status !== 'success';
    if (failed) this.errors++;
    if (ev.status === 'timeout') {
      this.timeouts++;
      if (ev.durationMs !== undefined && (this.timeoutMs === undefined || ev.durationMs > this.timeoutMs)) {
        this.timeoutMs = ev.durationMs;
      }
    }
    this.observeErrorWindow(ev.time, failed, s);

    out.durationExceeded = false;
    if (ev.durationMs !== undefined) {
      const d = ev.durationMs;
      const bin = this.durations.binOf(d);
      this.recentBins[this.recentPos] = bin;
      this.recentPos = (this.recentPos + 1) % RECENT_DURATIONS;
      if (this.recentLen < RECENT_DURATIONS) this.recentLen++;
      if (this.relearning(ev.time)) {
        // Re-learn fast after a deploy: new samples outweigh the old version's.
        this.durations.add(d, 10);
      } else if (this.durationTrusted(s)) {
        const p99 = this.durations.quantileBin(0.99);
        out.durationExceeded = bin > p99;
        // Poisoning guard: far-out samples teach the baseline only a little.
        this.durations.add(d, bin > p99 + 3 ? 0.05 : 1);
      } else {
        this.durations.add(d, 1);
      }
    }
  }

  private observeErrorWindow(t: number, failed: boolean, s: ProfilerSettings): void {
    if (t - this.errWindowStart >= s.errorWindowMs) {
      if (this.errWindowN > 0) {
        // Winsorised so a burst does not become the new normal.
        const baseRate = (this.errBase + 1) / (this.nBase + 100);
        const cap = Math.max(3 * baseRate, 0.05) * this.errWindowN;
        this.errBase += Math.min(this.errWindowErrors, cap);
        this.nBase += this.errWindowN;
        if (this.nBase > 5000) {
          const k = 5000 / this.nBase;
          this.errBase *= k;
          this.nBase *= k;
        }
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
    out.isNew = this.resources.observe(`${ev.action} ${resource}`, ev.time);
    if (ev.errorCode && /AccessDenied|UnauthorizedOperation|Forbidden/i.test(ev.errorCode)) {
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
    for (let i = 0; i < n; i++) a.push(this.recentBins[(this.recentPos - 1 - i + RECENT_DURATIONS) % RECENT_DURATIONS]!);
    a.sort((x, y) => x - y);
    return a[Math.floor(n / 2)]!;
  }

  toJSON(): Record<string, unknown> {
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
    };
  }

  static fromJSON(j: any, s: ProfilerSettings): FunctionProfile {
    const p = new FunctionProfile(j.fn, j.firstSeen, s);
    p.lastSeen = j.lastSeen;
    p.version = j.version;
    p.lastDeploy = j.lastDeploy;
    p.memorySizeMB = j.memorySizeMB;
    p.timeoutMs = j.timeoutMs;
    p.billedMs = j.billedMs;
    p.invocations = j.invocations;
    p.errors = j.errors;
    p.timeouts = j.timeouts;
    p.coldStarts = j.coldStarts;
    const rate = RateModel.fromJSON(j.rate);
    Object.assign(p, { rate });
    p.durations.load(j.durations);
    p.errBase = j.errBase;
    p.nBase = j.nBase;
    Object.assign(p, {
      egress: NoveltySet.fromJSON(j.egress, s.egressCap),
      resources: NoveltySet.fromJSON(j.resources, s.resourceCap),
      actions: NoveltySet.fromJSON(j.actions, s.resourceCap),
    });
    return p;
  }
}

export { intern, type SeenEntry };
