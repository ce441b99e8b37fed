import { describe, expect, it } from 'vitest';
import type { EgressEvent, FnEvent, FunctionRef } from '../core/events.ts';
import { DAY, HOUR, MIN, T0, diurnal, invocations, merge, prng } from '../detectors/testing/series.ts';
import type { BaselineSnapshot } from '../profiler/snapshot.ts';
import { Engine } from './engine.ts';

describe('Engine', () => {
  it('restores a snapshot and keeps detecting from where it was', () => {
    const fn = { name: 'api', account: '111111111111', region: 'us-east-1' };
    const first = new Engine({}, () => {});
    for (const ev of invocations({ fn, minutes: 2 * 24 * 60, rate: diurnal(5), seed: 2 })) first.observe(ev);
    // Connections all along, so the function has shown its repertoire (a low discovery rate).
    for (let h = 1; h < 48; h++) first.observe({ kind: 'egress', time: T0 + h * HOUR, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' });
    const snap = JSON.parse(JSON.stringify(first.snapshot()));

    const alerts: string[] = [];
    const second = new Engine({ baseline: snap }, (a) => alerts.push((a.unmapped as any).object));
    const eg = (host: string): EgressEvent => ({ kind: 'egress', time: T0 + 2 * DAY + HOUR, fn, host, port: 443, via: 'instrumentation' });
    second.observe(eg('api.stripe.com'));
    second.observe(eg('evil.example.org'));
    expect(alerts).toEqual(['evil.example.org:443']);
    const p = second.profiles.get('111111111111/us-east-1/api')!;
    expect(p.invocations).toBe(first.profiles.get('111111111111/us-east-1/api')!.invocations);
    expect(p.rate.expectedForHour(Math.floor((T0 + 2 * DAY + 14 * HOUR) / HOUR))).toBeCloseTo(
      first.profiles.get('111111111111/us-east-1/api')!.rate.expectedForHour(Math.floor((T0 + 2 * DAY + 14 * HOUR) / HOUR)), 3);
  });

  it('joins an identity without region to the same function seen with one', () => {
    const e = new Engine({}, () => {});
    e.observe({ kind: 'egress', time: T0, fn: { name: 'f', account: '1' }, host: 'a', via: 'instrumentation' });
    e.observe({ kind: 'egress', time: T0, fn: { name: 'f', account: '1', region: 'eu-west-1' }, host: 'b', via: 'instrumentation' });
    e.observe({ kind: 'egress', time: T0, fn: { name: 'f', account: '2', region: 'eu-west-1' }, host: 'c', via: 'instrumentation' });
    expect([...e.profiles.keys()].sort()).toEqual(['1/eu-west-1/f', '2/eu-west-1/f']);
    expect(e.profiles.get('1/eu-west-1/f')!.egress.size).toBe(2);
  });

  it('joins a partial identity to the first-seen matching function, however recently the others were seen', () => {
    const e = new Engine({}, () => {});
    const seen = (fn: FunctionRef, host: string, time: number) => e.observe({ kind: 'egress', time, fn, host, via: 'instrumentation' });
    seen({ name: 'f', account: '1', region: 'eu-west-1' }, 'a', T0);
    seen({ name: 'f', account: '1', region: 'us-east-1' }, 'b', T0 + 1);
    seen({ name: 'f', account: '1', region: 'us-east-1' }, 'c', T0 + 2);
    // No region: both match; the one taken in first wins, although the other was seen last.
    seen({ name: 'f', account: '1' }, 'd', T0 + 3);
    expect([...e.profiles.get('1/eu-west-1/f')!.egress.keys()]).toEqual(['a', 'd']);
    expect([...e.profiles.get('1/us-east-1/f')!.egress.keys()]).toEqual(['b', 'c']);
    expect(e.profiles.size).toBe(2);
  });

  it('bounds memory with an LRU over functions', () => {
    const e = new Engine({ maxFunctions: 10 }, () => {});
    for (let i = 0; i < 25; i++) e.observe({ kind: 'egress', time: T0 + i, fn: { name: `f${i}` }, host: 'a', via: 'instrumentation' });
    expect(e.profiles.size).toBe(10);
    expect(e.evicted).toBe(15);
  });

  it('builds an Engine for one function without preallocating for maxFunctions', () => {
    const e = new Engine({ maxFunctions: 1_000_000 }, () => {});
    e.observe({ kind: 'egress', time: T0, fn: { name: 'f' }, host: 'a', via: 'instrumentation' });
    expect(e.profiles.size).toBe(1);
    // The bound still holds with the lazily grown tables.
    const small = new Engine({ maxFunctions: 3 }, () => {});
    for (let i = 0; i < 5; i++) small.observe({ kind: 'egress', time: T0 + i, fn: { name: `f${i}` }, host: 'a', via: 'instrumentation' });
    expect([...small.profiles.keys()].sort()).toEqual(['-/-/f2', '-/-/f3', '-/-/f4']);
    expect(() => new Engine({ maxFunctions: 0 }, () => {})).toThrow(/maxFunctions/);
  });
});

/**
 * Three days of five functions with every detector's trigger in them: a diurnal API with a
 * denial-of-wallet flood, a deploy and then durations at the timeout; a near-silent scheduled job that
 * wakes up; a worker whose error rate jumps; egress and API calls, some denied, some new late on.
 */
function scenario(): FnEvent[] {
  const fn = (name: string): FunctionRef => ({ name, account: '111111111111', region: 'us-east-1' });
  const api = fn('api');
  const nightly = fn('nightly');
  const worker = fn('worker');
  const flood = T0 + 2 * DAY + 14 * HOUR;
  const mining = T0 + 2 * DAY + 18 * HOUR;
  const wake = T0 + 2 * DAY + 9 * HOUR + 37 * MIN;
  const side: FnEvent[] = [];
  const rand = prng(5);
  for (let h = 0; h < 72; h++) {
    const t = T0 + h * HOUR + Math.floor(rand() * HOUR);
    side.push({ kind: 'egress', time: t, fn: api, host: h < 60 ? 'api.stripe.com' : `h${h % 3}.example.org`, port: 443, via: 'instrumentation' });
    side.push({ kind: 'resource_access', time: t + 1, fn: api, service: 'dynamodb', action: h % 5 === 0 ? 'dynamodb:PutItem' : 'dynamodb:GetItem', resources: [`arn:aws:dynamodb:us-east-1:111111111111:table/t${h % 4}`] });
    if (h % 7 === 3) side.push({ kind: 'resource_access', time: t + 2, fn: worker, service: 'iam', action: 'iam:ListUsers', resources: [], errorCode: 'AccessDenied' });
  }
  // After learning: a secret never read before, and a burst of denied calls.
  side.push({ kind: 'resource_access', time: T0 + 2 * DAY + 11 * HOUR, fn: api, service: 'secretsmanager', action: 'secretsmanager:GetSecretValue', resources: ['arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbCdEf'] });
  for (let i = 0; i < 8; i++) {
    side.push({ kind: 'resource_access', time: T0 + 2 * DAY + 21 * HOUR + i * 30_000, fn: worker, service: 's3', action: 's3:ListBuckets', resources: [], errorCode: 'AccessDenied' });
  }
  side.push({ kind: 'change', time: T0 + 2 * DAY + 16 * HOUR, fn: api, change: 'code', version: '2', detail: 'UpdateFunctionCode' });
  side.sort((a, b) => a.time - b.time);
  return [
    ...merge(
      invocations({ fn: api, minutes: 3 * 24 * 60, rate: (t) => diurnal(2)(t) + (t >= flood && t < flood + 25 * MIN ? 60 : 0), durationMs: (t) => (t >= mining ? 2800 : 120), seed: 1, version: (t) => (t >= T0 + 2 * DAY + 16 * HOUR ? '2' : '1') }),
      invocations({ fn: nightly, minutes: 3 * 24 * 60, rate: (t) => (t >= wake && t < wake + 40 * MIN ? 1.5 : 1 / 400), seed: 2 }),
      invocations({ fn: worker, minutes: 3 * 24 * 60, rate: () => 1.5, errorRate: (t) => (t >= T0 + 2 * DAY + 20 * HOUR ? 0.4 : 0.01), seed: 3 }),
      side,
    ),
  ];
}

/** Runs `events[from..upTo)` through `engine`, recording every finding (before suppression) with its event index. */
function findingsOf(engine: Engine, events: FnEvent[], from: number, upTo: number, onIndex?: (i: number) => void): string[] {
  const out: string[] = [];
  let i = from;
  const accept = engine.scorer.accept.bind(engine.scorer);
  engine.scorer.accept = (f, ref) => {
    out.push(`${i} ${ref.name} ${f.kind} ${f.object} ${f.time} ${f.severity} ${f.desc}`);
    accept(f, ref);
  };
  for (; i < upTo; i++) {
    onIndex?.(i);
    engine.observe(events[i]!);
  }
  onIndex?.(upTo);
  return out;
}

/** A snapshot as a string, without its wall-clock time. */
const state = (snap: BaselineSnapshot): string => JSON.stringify({ ...snap, createdAt: undefined });

describe('Engine snapshot and restore', () => {
  it('keeps the discovery rate of each late first use of a destination, for the functions it holds', () => {
    const fn = (name: string): FunctionRef => ({ name, account: '111111111111', region: 'us-east-1' });
    const egress = (f: FunctionRef, t: number, host: string): FnEvent => ({ kind: 'egress', time: t, fn: f, host, port: 443, via: 'instrumentation' });
    const [a, b, c] = [fn('a'), fn('b'), fn('c')];
    const events: FnEvent[] = [];
    // Learning (24 h by default): a knows two hosts, b one.
    events.push(egress(a, T0 + HOUR, 'api.stripe.com'), egress(a, T0 + 2 * HOUR, 'api.auth0.com'), egress(b, T0 + 3 * HOUR, 'api.stripe.com'));
    // After learning: b and a begin using a host, then a reaches a second new one and a old one many times.
    events.push(egress(b, T0 + 30 * HOUR, 'drop.example.io'), egress(a, T0 + 31 * HOUR, 'drop.example.io'));
    for (let i = 0; i < 20; i++) events.push(egress(a, T0 + 32 * HOUR + i * MIN, 'api.stripe.com'));
    events.push(egress(a, T0 + 33 * HOUR, 'api.zendesk.com'));
    // c arrives: b, the least recently seen of three with room for two, is evicted with its late use.
    events.push(egress(c, T0 + 34 * HOUR, 'x.example.org'));
    const e = new Engine({ maxFunctions: 2 }, () => {});
    for (const ev of events) e.observe(ev);
    expect(e.evicted).toBe(1);
    const pa = e.profiles.peek('111111111111/us-east-1/a')!;
    const snap = e.snapshot();
    const late = snap.fleet!.lateEgress;
    expect([...e.fleet.lateEgressUses()].map(([h, u]) => `${u.fn.name} ${h}`)).toEqual(['b drop.example.io:443', 'a drop.example.io:443', 'a api.zendesk.com:443']);
    // Sorted, and only for functions held: b's profile, and so its use, is not in the snapshot.
    expect(late.map(([k, h]) => `${k} ${h}`)).toEqual(['111111111111/us-east-1/a api.zendesk.com:443', '111111111111/us-east-1/a drop.example.io:443']);
    // Each rate is the one just after that first use: a's discovery was higher at drop.example.io than
    // at api.zendesk.com (20 repeat calls in between), and is now that of its last new host.
    const rate = (k: string, h: string) => late.find(([kk, hh]) => kk === k && hh === h)![2];
    expect(rate('111111111111/us-east-1/a', 'drop.example.io:443')).toBeGreaterThan(rate('111111111111/us-east-1/a', 'api.zendesk.com:443'));
    expect(rate('111111111111/us-east-1/a', 'api.zendesk.com:443')).toBe(pa.egress.discoveryRate());
    // A restore gives back the same rates, and without the section the rates at restore.
    const json = JSON.parse(JSON.stringify(snap)) as BaselineSnapshot;
    expect(new Engine({ baseline: json }, () => {}).snapshot().fleet).toEqual(snap.fleet);
    const { fleet: _omitted, ...older } = json;
    const fallback = new Engine({ baseline: older }, () => {}).snapshot().fleet!.lateEgress;
    expect(fallback.map(([k, h]) => `${k} ${h}`)).toEqual(late.map(([k, h]) => `${k} ${h}`));
    expect(fallback.find(([k, h]) => k.endsWith('/a') && h === 'drop.example.io:443')![2]).toBe(pa.egress.discoveryRate());
  });

  it('continues after a restore exactly as the uninterrupted run, wherever it is cut', () => {
    const events = scenario();
    const n = events.length;
    // Cut points: spread over the whole run, plus every few events around the wake-up, the flood and
    // the duration shift, where the open hour and the minute ring matter.
    const cuts = new Set<number>();
    for (let k = 1; k < 40; k++) cuts.add(Math.floor((k * n) / 40));
    for (const at of [T0 + 2 * DAY + 9 * HOUR + 37 * MIN, T0 + 2 * DAY + 14 * HOUR, T0 + 2 * DAY + 18 * HOUR, T0 + 2 * DAY + 21 * HOUR]) {
      const i0 = events.findIndex((e) => e.time >= at);
      for (let i = i0 - 30; i < i0 + 150; i += 9) cuts.add(i);
    }
    // Each restored run is compared with the uninterrupted one over the next HORIZON events.
    const HORIZON = 1500;
    const marks = new Set([...cuts, ...[...cuts].map((c) => Math.min(c + HORIZON, n))]);

    const whole = new Engine({}, () => {});
    const saved = new Map<number, string>();
    const all = findingsOf(whole, events, 0, n, (i) => {
      if (marks.has(i)) saved.set(i, JSON.stringify(whole.snapshot()));
    });
    const kinds = new Set(all.map((f) => f.split(' ')[2]));
    // The scenario exercises every detector whose state a restart could lose.
    for (const k of ['denial-of-wallet', 'dormant-wakeup', 'duration-anomaly', 'error-spike', 'new-egress-host', 'new-resource-access']) expect(kinds).toContain(k);

    let compared = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const end = Math.min(cut + HORIZON, n);
      const snap: BaselineSnapshot = JSON.parse(saved.get(cut)!);
      const restored = new Engine({ baseline: snap }, () => {});
      // The restored model is the saved one, field for field (and in the same LRU order).
      expect(state(restored.snapshot()), `restored at event ${cut}`).toBe(state(snap));
      const after = findingsOf(restored, events, cut, end);
      const expected = all.filter((f) => {
        const i = Number(f.split(' ', 1)[0]);
        return i >= cut && i < end;
      });
      expect(after, `findings after a restore at event ${cut}`).toEqual(expected);
      compared += after.length;
      expect(state(restored.snapshot()), `state ${end - cut} events after a restore at event ${cut}`).toBe(state(JSON.parse(saved.get(end)!)));
    }
    expect(cuts.size).toBeGreaterThan(100);
    expect(compared).toBeGreaterThan(1000);
  });
});
