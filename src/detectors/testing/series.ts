/**
 * Crafted event series for detector tests: invocations from a rate function (per-minute expected
 * count, Poisson-sampled), durations from a lognormal, with a seeded PRNG so every test is
 * reproducible. Small and explicit on purpose; the scenario generator in datasets/ is the
 * realistic, wire-format counterpart.
 */
import type { Alert } from '../../core/alert.ts';
import type { FnEvent, FunctionRef, InvocationEvent, InvocationStatus } from '../../core/events.ts';
import { Engine } from '../../pipeline/engine.ts';

/** mulberry32: a tiny, good-enough seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function poisson(rand: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss(rand)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rand();
  } while (p > l);
  return k - 1;
}

export function gauss(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export const T0 = Date.UTC(2024, 0, 1); // a Monday, 00:00 UTC
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface SeriesSpec {
  fn?: FunctionRef;
  start?: number;
  minutes: number;
  /** expected invocations in minute `m` (absolute time `t` of its start) */
  rate: (t: number, m: number) => number;
  /** median duration in ms at time t */
  durationMs?: (t: number) => number;
  sigma?: number;
  /** probability an invocation fails at time t */
  errorRate?: (t: number) => number;
  status?: InvocationStatus;
  version?: (t: number) => string;
  memorySizeMB?: number;
  seed?: number;
}

/** Generates invocation events minute by minute, in time order. */
export function* invocations(spec: SeriesSpec): Generator<InvocationEvent> {
  const rand = prng(spec.seed ?? 1);
  const fn = spec.fn ?? { name: 'fn', account: '111111111111', region: 'us-east-1' };
  const start = spec.start ?? T0;
  for (let m = 0; m < spec.minutes; m++) {
    const t0 = start + m * MIN;
    const n = poisson(rand, spec.rate(t0, m));
    for (let i = 0; i < n; i++) {
      const t = t0 + Math.floor(((i + rand()) / n) * MIN);
      const med = spec.durationMs?.(t) ?? 100;
      const d = med * Math.exp((spec.sigma ?? 0.3) * gauss(rand));
      const failed = rand() < (spec.errorRate?.(t) ?? 0.002);
      yield {
        kind: 'invocation',
        time: t,
        fn,
        requestId: `r${m}-${i}`,
        version: spec.version?.(t) ?? '1',
        durationMs: d,
        billedDurationMs: Math.ceil(d),
        memorySizeMB: spec.memorySizeMB ?? 256,
        status: failed ? (spec.status ?? 'error') : 'success',
        format: 'text',
      };
    }
  }
}

/** Merges time-ordered event iterables into one time-ordered stream. */
export function* merge(...streams: Iterable<FnEvent>[]): Generator<FnEvent> {
  const its = streams.map((s) => s[Symbol.iterator]());
  const heads = its.map((it) => it.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && (best < 0 || h.value.time < (heads[best]!.value as FnEvent).time)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!.value as FnEvent;
    heads[best] = its[best]!.next();
  }
}

/** Runs events through a fresh engine and returns the alerts. */
export function runEngine(events: Iterable<FnEvent>): Alert[] {
  const alerts: Alert[] = [];
  const engine = new Engine({}, (a) => alerts.push(a));
  for (const ev of events) engine.observe(ev);
  return alerts;
}

/** A diurnal API rate: busy by day, quiet at night, quieter at weekends. */
export function diurnal(peakPerMin: number): (t: number) => number {
  return (t) => {
    const h = new Date(t).getUTCHours() + new Date(t).getUTCMinutes() / 60;
    const dow = new Date(t).getUTCDay();
    const daily = 0.15 + 0.85 * Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI)) ** 1.5;
    return peakPerMin * daily * (dow === 0 || dow === 6 ? 0.35 : 1);
  };
}

/** Kinds of the alerts raised (OCSF Create), ignoring updates to an open alert. */
export function kinds(alerts: Alert[]): string[] {
  return created(alerts).map((a) => a.finding_info.types[0]);
}

/** Alerts as first raised (activity Create). */
export function created(alerts: Alert[]): Alert[] {
  return alerts.filter((a) => a.activity_id === 1);
}
