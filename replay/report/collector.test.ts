import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { UsageError } from '../../src/core/contracts.ts';
import type { FnEvent, FunctionRef, InvocationEvent } from '../../src/core/events.ts';
import { defaultPack } from '../../src/detectors/pack.ts';
import { DAY, HOUR, MIN, T0, invocations, merge } from '../../src/detectors/testing/series.ts';
import { Engine } from '../../src/pipeline/engine.ts';
import { ReportCollector, type ReportCollectorOptions } from './collector.ts';
import { DURATION_SCALE } from './series.ts';

const fn: FunctionRef = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };
const pack = defaultPack();

function run(events: Iterable<FnEvent>, opts: ReportCollectorOptions = {}, before?: (ev: FnEvent, c: ReportCollector) => void) {
  const c = new ReportCollector(opts);
  const alerts: Alert[] = [];
  const engine = new Engine({ observer: c.observer }, (a) => {
    alerts.push(a);
    c.onAlert(a);
  });
  for (const ev of events) {
    before?.(ev, c);
    engine.observe(ev);
  }
  return { c, engine, alerts };
}

function inv(t: number, extra: Partial<InvocationEvent> = {}): InvocationEvent {
  return { kind: 'invocation', time: t, fn, durationMs: 100, billedDurationMs: 100, memorySizeMB: 1024, status: 'success', format: 'text', ...extra };
}

function alertFor(f: FunctionRef, uid: string, time: number, severity = 3, activity: 1 | 2 = 1, desc = `${f.name} alert`): Alert {
  return {
    class_uid: 2004, category_uid: 2, activity_id: activity, type_uid: activity === 1 ? 200401 : 200402, severity_id: severity, time,
    metadata: { version: '1.5.0', product: { name: 'fnwatch', vendor_name: 'fnwatch' } },
    finding_info: { uid, title: 'x', desc, types: ['denial-of-wallet'], first_seen_time: time, last_seen_time: time, analytic: { name: 'denial-of-wallet', type_id: 3, uid: 'denial-of-wallet' } },
    resources: [{ type: 'AWS::Lambda::Function', name: f.name, ...(f.region ? { region: f.region } : {}), ...(f.account ? { owner: { account: { uid: f.account } } } : {}) }],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Durations come as bins of the report's log scale: their middle in ms */
const ms = (bins: (number | null)[]) => bins.map((b) => (b === null ? null : DURATION_SCALE.valueOf(b)));

describe('ReportCollector buckets', () => {
  it('counts invocations, failures, timeouts and cost per 5-minute bucket', () => {
    const events = [
      inv(T0 + 1_000),
      inv(T0 + 2 * MIN, { status: 'error' }),
      inv(T0 + 4 * MIN + 59_000, { status: 'timeout', durationMs: 3000, billedDurationMs: 3000 }),
      inv(T0 + 5 * MIN),
      inv(T0 + 17 * MIN, { memorySizeMB: 128, billedDurationMs: 1000, durationMs: 999.2 }),
    ];
    const { c } = run(events);
    c.onAlert(alertFor(fn, 'u1', T0 + 5 * MIN));
    const d = c.build();
    expect(d.bucketMs).toBe(5 * MIN);
    expect(d.start).toBe(T0);
    expect(d.buckets).toBe(4);
    const f = d.functions[0]!;
    expect(f.offset).toBe(0);
    expect(f.inv).toEqual([3, 1, 0, 1]);
    expect(f.err).toEqual([2, 0, 0, 0]);
    expect(d.fleet.tmo).toEqual([1, 0, 0, 0]);
    const perReq = pack.pricing.perMillionRequests / 1e6;
    const gbS = pack.pricing.perGbSecond.x86_64;
    const small = perReq + 0.1 * 1 * gbS;
    // 3 significant digits in the report
    expect(f.cost[0]! / (2 * small + perReq + 3 * 1 * gbS)).toBeCloseTo(1, 2);
    expect(f.cost[3]! / (perReq + 1 * (128 / 1024) * gbS)).toBeCloseTo(1, 2);
    expect(d.fleet.cost[0]! / (2 * small + perReq + 3 * 1 * gbS)).toBeCloseTo(1, 5);
    expect(d.fleet.inv).toEqual([3, 1, 0, 1]);
    expect(d.totals.invocations).toBe(5);
    expect(d.totals.errors).toBe(2);
    const exact = 3 * small + perReq + 3 * 1 * gbS + perReq + 1 * (128 / 1024) * gbS;
    expect(d.totals.costUsd / exact).toBeCloseTo(1, 5);
    // bucket 0 holds 100, 100 and 3000 ms: p50 near 100, p95 near 3000 (±15% bins)
    expect(ms(f.p50)[0]).toBeGreaterThan(85);
    expect(ms(f.p50)[0]).toBeLessThan(115);
    expect(ms(f.p95)[0]).toBeGreaterThan(2500);
    expect(ms(f.p95)[0]).toBeLessThan(3500);
    expect(f.p50[2]).toBeNull(); // an empty bucket has no quantiles
  });

  it('draws the baseline the profiler learned: expected invocations per bucket and duration p50/p99', () => {
    const { c } = run(invocations({ fn, minutes: 2 * 24 * 60, rate: () => 10, durationMs: () => 200, sigma: 0.3, seed: 3 }));
    c.onAlert(alertFor(fn, 'u1', T0 + DAY));
    const f = c.build().functions[0]!;
    const day2 = (xs: (number | null)[]) => xs.slice(288, 576).filter((x): x is number => x !== null);
    // 10/min → 50 per 5-minute bucket
    const exp = day2(f.exp);
    expect(exp.length).toBe(288);
    expect(median(exp)).toBeGreaterThan(44);
    expect(median(exp)).toBeLessThan(56);
    expect(median(day2(ms(f.b50)))).toBeGreaterThan(170);
    expect(median(day2(ms(f.b50)))).toBeLessThan(235);
    // lognormal(σ 0.3): p99 ≈ 2× the median
    expect(median(day2(ms(f.b99)))).toBeGreaterThan(330);
    expect(median(day2(ms(f.b99)))).toBeLessThan(520);
    expect(median(day2(ms(f.p50)))).toBeGreaterThan(170);
    expect(median(day2(ms(f.p95)))).toBeGreaterThan(median(day2(ms(f.p50))));
    expect(f.dispersion).toBeGreaterThanOrEqual(1);
    expect(f.learningEnd).toBe(f.firstSeen + 24 * HOUR);
    // before the first hour closes nothing is learned yet
    expect(f.exp[0]).toBeNull();
  });

  it('fills the baseline across a silence so the band has no holes', () => {
    const events = [...invocations({ fn, minutes: 2 * 24 * 60, rate: (t) => (new Date(t).getUTCHours() < 12 ? 5 : 0), seed: 4 })];
    const { c } = run(events);
    c.onAlert(alertFor(fn, 'u1', T0));
    const f = c.build().functions[0]!;
    // afternoon of day 2: no invocations, but an expected count (near zero) is there
    const quiet = f.exp.slice(288 + 150, 288 + 280);
    expect(quiet.every((x) => x !== null)).toBe(true);
    expect(Math.max(...(quiet as number[]))).toBeLessThan(2);
    expect(f.inv.slice(288 + 150, 288 + 280).every((x) => x === 0)).toBe(true);
  });

  it('coarsens to 15 min, then 1 h and 6 h as the span grows, keeping every count', () => {
    const spec = { fn, rate: () => 2, durationMs: () => 300, sigma: 0.1, seed: 5 };
    const short = [...invocations({ ...spec, minutes: 3 * 60 })];
    const a = run(short, { maxBuckets: 16 }).c;
    a.onAlert(alertFor(fn, 'u1', T0));
    const da = a.build();
    expect(da.bucketMs).toBe(15 * MIN);
    expect(da.buckets).toBeLessThanOrEqual(16);
    expect(da.functions[0]!.inv.reduce((x, y) => x + y, 0)).toBe(short.length);
    expect(da.fleet.inv.reduce((x, y) => x + y, 0)).toBe(short.length);
    for (const p of ms(da.functions[0]!.p50)) expect(p).toBeGreaterThan(250), expect(p).toBeLessThan(360);

    const long = [...invocations({ ...spec, minutes: 2 * 24 * 60 })];
    const b = run(long, { maxBuckets: 16 }).c;
    b.onAlert(alertFor(fn, 'u1', T0));
    const db = b.build();
    expect(db.bucketMs).toBe(6 * HOUR);
    expect(db.buckets).toBe(8);
    const f = db.functions[0]!;
    expect(f.inv.reduce((x, y) => x + y, 0)).toBe(long.length);
    expect(f.err.reduce((x, y) => x + y, 0)).toBe(long.filter((e) => (e as InvocationEvent).status !== 'success').length);
    // merged duration quantiles stay near the true median (300 ms) and p95 (≈ 355 ms)
    for (const p of ms(f.p50)) expect(p).toBeGreaterThan(250), expect(p).toBeLessThan(360);
    for (const p of ms(f.p95)) expect(p).toBeGreaterThan(280), expect(p).toBeLessThan(460);
    // expected counts add up when buckets merge: ≈ 2/min × 360 min after learning
    expect(f.exp[7]).toBeGreaterThan(600);
    expect(f.exp[7]).toBeLessThan(840);
  });

  it('keeps late and out-of-order events: earlier than the first, and into closed buckets', () => {
    const events = [inv(T0 + HOUR), inv(T0 + HOUR + 20 * MIN), inv(T0 + HOUR + 2 * MIN), inv(T0 + 10 * MIN)];
    const { c } = run(events);
    c.onAlert(alertFor(fn, 'u1', T0 + HOUR));
    const d = c.build();
    const f = d.functions[0]!;
    expect(d.start).toBe(T0 + 10 * MIN);
    expect(f.inv.reduce((x, y) => x + y, 0)).toBe(4);
    expect(f.inv[0]).toBe(1);
    expect(f.inv[10]).toBe(2); // T0+60 and T0+62 min
    expect(f.inv[14]).toBe(1);
  });

  it('counts events without a valid time instead of dropping them silently', () => {
    const { c } = run([inv(T0), inv(Number.NaN), { kind: 'egress', time: T0 + MIN, fn, host: 'a.example', via: 'resolver' }]);
    const d = c.build();
    expect(d.totals.eventsWithoutTime).toBe(1);
    expect(d.totals.events).toEqual({ invocation: 2, resource_access: 0, egress: 1, change: 0 });
    expect(d.totals.invocations).toBe(1);
  });

  it('can be built more than once, and keeps collecting after a build', () => {
    const { c, engine } = run([inv(T0), inv(T0 + MIN)]);
    c.onAlert(alertFor(fn, 'u1', T0));
    const first = c.build();
    expect(c.build()).toEqual(first);
    engine.observe(inv(T0 + 2 * MIN));
    expect(c.build().functions[0]!.inv).toEqual([3]);
  });

  it('rejects a bucket width outside the ladder', () => {
    expect(() => new ReportCollector({ bucketMinutes: 7 })).toThrow(UsageError);
  });
});

describe('ReportCollector function cap', () => {
  const a: FunctionRef = { ...fn, name: 'a' };
  const b: FunctionRef = { ...fn, name: 'b' };
  const x: FunctionRef = { ...fn, name: 'x' };
  // x starts half an hour after a and b, so it is the one that finds the table full
  const series = (f: FunctionRef, rate: number, seed: number) =>
    invocations({ fn: f, minutes: 6 * 60, rate: () => rate, seed, start: f === x ? T0 + 30 * MIN : T0 });

  it('keeps series for the first functions, then gives an alerting function the slot of the quietest non-alerting one', () => {
    const alertAt = T0 + 3 * HOUR;
    let raised = false;
    const { c } = run(merge(series(a, 5, 1), series(b, 1, 2), series(x, 3, 3)), { maxFunctions: 2 }, (ev, col) => {
      // what the engine does: the alert arrives, then the observer call for the event that raised it
      if (!raised && ev.fn.name === 'x' && ev.time >= alertAt) {
        col.onAlert(alertFor(x, 'ux', ev.time, 4));
        raised = true;
      }
    });
    c.onAlert(alertFor(a, 'ua', T0 + 5 * HOUR, 2));
    const d = c.build();
    expect(d.totals.functions).toBe(3);
    expect(d.totals.functionsTracked).toBe(2);
    expect(d.totals.functionsDisplaced).toBe(1);
    const fx = d.functions.find((f) => f.name === 'x')!;
    expect(fx.charted).toBe(true);
    expect(fx.trackedSince).toBeGreaterThanOrEqual(alertAt);
    expect(fx.offset * d.bucketMs + d.start).toBe(Math.floor(fx.trackedSince! / d.bucketMs) * d.bucketMs);
    expect(d.functions.find((f) => f.name === 'a')!.charted).toBe(true); // 'b' had fewer invocations
    expect(d.topFunctions.map((f) => f.name).sort()).toEqual(['a', 'x']);
    // every invocation is still in the fleet totals
    const total = [...series(a, 5, 1), ...series(b, 1, 2), ...series(x, 3, 3)].length;
    expect(d.totals.invocations).toBe(total);
  });

  it('lists an alerting function without a series when every slot belongs to an alerting function', () => {
    let n = 0;
    const { c } = run(merge(series(a, 2, 1), series(x, 2, 3)), { maxFunctions: 1 }, (ev, col) => {
      if (ev.fn.name === 'a' && n === 0) col.onAlert(alertFor(a, 'ua', ev.time)), n++;
      else if (ev.fn.name === 'x' && n === 1) col.onAlert(alertFor(x, 'ux', ev.time)), n++;
    });
    const d = c.build();
    expect(d.functions.map((f) => [f.name, f.charted, f.unchartedReason])).toEqual([
      ['a', true, undefined],
      ['x', false, 'not-tracked'],
    ]);
    expect(d.functions[1]!.alerts).toEqual([1]);
  });
});

describe('ReportCollector alerts', () => {
  it('folds updates into one row per finding with the highest severity and its explanation', () => {
    const c = new ReportCollector();
    c.onAlert(alertFor(fn, 'u1', T0 + MIN, 3, 1, 'first'));
    c.onAlert(alertFor(fn, 'u1', T0 + 5 * MIN, 5, 2, 'escalated'));
    c.onAlert(alertFor(fn, 'u1', T0 + 9 * MIN, 4, 2, 'later'));
    c.onAlert(alertFor({ ...fn, name: 'other' }, 'u2', T0, 2));
    const d = c.build();
    expect(d.alerts.map((a) => [a.uid, a.severity, a.desc, a.updates, a.time, a.last])).toEqual([
      ['u2', 2, 'other alert', 0, T0, T0],
      ['u1', 5, 'escalated', 2, T0 + MIN, T0 + 9 * MIN],
    ]);
    expect(d.totals.alertsReceived).toBe(4);
    expect(d.totals.findings).toBe(2);
    // alerted functions without series are listed, most severe first
    expect(d.functions.map((f) => [f.name, f.charted, f.maxSeverity])).toEqual([
      ['orders-api', false, 5],
      ['other', false, 2],
    ]);
  });

  it('counts findings beyond the cap instead of keeping them', () => {
    const c = new ReportCollector({ maxAlerts: 3 });
    for (let i = 0; i < 10; i++) c.onAlert(alertFor(fn, `u${i}`, T0 + i));
    const d = c.build();
    expect(d.alerts).toHaveLength(3);
    expect(d.totals.alertsOmitted).toBe(7);
    expect(d.totals.findings).toBe(10);
  });

  it('matches an alert raised under a partial identity to the function once its identity is complete', () => {
    const partial: FunctionRef = { name: 'orders-api' };
    const events: FnEvent[] = [inv(T0, { fn: partial }), inv(T0 + MIN, { fn: partial }), inv(T0 + 2 * MIN)];
    const { c } = run(events, {}, (ev, col) => {
      if (ev.time === T0 + MIN) col.onAlert(alertFor(partial, 'u1', ev.time));
    });
    const d = c.build();
    expect(d.functions).toHaveLength(1);
    expect(d.functions[0]!.key).toBe('111111111111/us-east-1/orders-api');
    expect(d.functions[0]!.charted).toBe(true);
    expect(d.functions[0]!.inv).toEqual([3]);
  });

  it('uses the alerts it is given instead of those it received', () => {
    const { c } = run([inv(T0)]);
    c.onAlert(alertFor(fn, 'mine', T0));
    const d = c.build({ alerts: [alertFor(fn, 'given', T0, 4)] });
    expect(d.alerts.map((a) => a.uid)).toEqual(['given']);
    expect(d.functions[0]!.charted).toBe(true);
  });

  it('reports egress and resource actions the profile learned', () => {
    const events: FnEvent[] = [
      inv(T0),
      { kind: 'egress', time: T0 + 1, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' },
      { kind: 'egress', time: T0 + 2, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' },
      { kind: 'resource_access', time: T0 + 3, fn, service: 's3', action: 's3:GetObject', resources: ['arn:aws:s3:::orders/2024'] },
    ];
    const { c } = run(events);
    c.onAlert(alertFor(fn, 'u', T0));
    const f = c.build().functions[0]!;
    expect(f.egress).toEqual([{ item: 'api.stripe.com:443', first: T0 + 1, last: T0 + 2, count: 2 }]);
    expect(f.actions.map((x) => x.item)).toEqual(['s3:GetObject']);
    expect(f.resources.map((x) => x.item)).toEqual(['s3:GetObject arn:aws:s3:::orders/2024']);
  });
});
