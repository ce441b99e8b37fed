import { describe, expect, it } from 'vitest';
import { Severity } from '../core/alert.ts';
import type { EgressEvent, FnEvent, InvocationEvent, ResourceAccessEvent } from '../core/events.ts';
import { DAY, HOUR, MIN, T0, created, diurnal, invocations, kinds, merge, prng, runEngine } from './testing/series.ts';
import { rampEvidence } from './cost-ramp.ts';
import { defaultPack, detectorParams } from './pack.ts';
import { lateUseVouches, rateSurge, recentUnsharedDestination, surprising } from './new-egress-host.ts';
import { Engine } from '../pipeline/engine.ts';
import type { Alert } from '../core/alert.ts';

const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };

/**
 * A queue worker: a trickle plus bursts (about one an hour by day, 1-6 minutes at 3-12/min), so
 * its hours vary far more than Poisson and its busiest minutes come and go within a minute or two.
 */
function queueWorker(seed: number, days: number, burstMin = 3, burstMax = 12): (t: number) => number {
  const rand = prng(seed);
  const burst = new Float32Array(days * 24 * 60);
  for (let m = 0; m < burst.length; m++) {
    const hour = Math.floor(m / 60) % 24;
    if (rand() < (hour >= 8 && hour < 20 ? 1.2 : 0.3) / 60) {
      const len = 1 + Math.floor(rand() * 6);
      const rate = burstMin + rand() * (burstMax - burstMin);
      for (let i = 0; i < len && m + i < burst.length; i++) burst[m + i] = rate;
    }
  }
  return (t) => 0.05 + (burst[Math.floor((t - T0) / MIN)] ?? 0);
}

describe('quiet on normal behaviour', () => {
  it('a diurnal API with quiet weekends raises nothing over two weeks', () => {
    const alerts = runEngine(invocations({ fn, minutes: 14 * 24 * 60, rate: diurnal(40), seed: 3 }));
    expect(alerts).toEqual([]);
  });

  it('a cron job with a burst every 5 minutes raises nothing', () => {
    const alerts = runEngine(
      invocations({ fn, minutes: 7 * 24 * 60, rate: (_t, m) => (m % 5 === 0 ? 40 : 0), seed: 4 }),
    );
    expect(alerts).toEqual([]);
  });

  it('a nightly batch (hour 02 busy, rest near-silent) raises nothing', () => {
    const alerts = runEngine(
      invocations({ fn, minutes: 10 * 24 * 60, rate: (t) => (new Date(t).getUTCHours() === 2 ? 5 : 0.002), seed: 5 }),
    );
    expect(alerts).toEqual([]);
  });

  it('steady growth of 6% a day raises nothing', () => {
    const alerts = runEngine(
      invocations({ fn, minutes: 14 * 24 * 60, rate: (t) => diurnal(20)(t) * Math.pow(1.06, (t - T0) / DAY), seed: 6 }),
    );
    expect(alerts).toEqual([]);
  });

  it('a sparse function (about 15 calls a day) raises nothing', () => {
    const alerts = runEngine(invocations({ fn, minutes: 14 * 24 * 60, rate: () => 0.01, seed: 7 }));
    expect(alerts).toEqual([]);
  });

  it('a bursty queue worker raises nothing over two weeks (hour-level over-dispersion)', () => {
    const alerts = runEngine(invocations({ fn, minutes: 14 * 24 * 60, rate: queueWorker(31, 14), seed: 31 }));
    expect(alerts).toEqual([]);
  });

  it('a flood on the first weekend ever seen does not teach the model (no ramp, no wake-up after it)', () => {
    const flood = T0 + 5 * DAY + 10 * HOUR; // the first Saturday
    const alerts = runEngine(
      invocations({ fn, minutes: 9 * 24 * 60, rate: (t) => diurnal(10)(t) + (t >= flood && t < flood + 40 * MIN ? 60 : 0), seed: 32 }),
    );
    expect(kinds(alerts)).toEqual(['denial-of-wallet']);
  });

  it('a deploy with a modest duration change raises nothing', () => {
    const deployAt = T0 + 4 * DAY + 3 * HOUR;
    const alerts = runEngine(
      invocations({
        fn,
        minutes: 8 * 24 * 60,
        rate: diurnal(10),
        durationMs: (t) => (t < deployAt ? 120 : 180),
        version: (t) => (t < deployAt ? '7' : '8'),
        seed: 8,
      }),
    );
    expect(alerts).toEqual([]);
  });
});

describe('denial-of-wallet', () => {
  it('fires within two minutes of a 30x surge and projects the cost', () => {
    const attack = T0 + 9 * DAY + 14 * HOUR;
    const alerts = runEngine(
      invocations({
        fn,
        minutes: 10 * 24 * 60,
        rate: (t) => diurnal(20)(t) * (t >= attack && t < attack + 30 * MIN ? 30 : 1),
        memorySizeMB: 1024,
        seed: 11,
      }),
    );
    expect(kinds(alerts)).toEqual(['denial-of-wallet']);
    const a = alerts[0]!;
    expect(a.time - attack).toBeLessThan(2 * MIN);
    expect(a.finding_info.desc).toMatch(/\$[\d.]+\/hour/);
    expect((a.unmapped as any).projected_extra_usd_per_day).toBeGreaterThan(0);
    expect(a.severity_id).toBeGreaterThanOrEqual(Severity.Medium);
  });

  it('fires on a flood at night, when the expected rate is below the near-silent floor', () => {
    const attack = T0 + 8 * DAY + 3 * HOUR; // 03:00 UTC: this API is near-silent at night
    const quiet = (t: number) => (new Date(t).getUTCHours() < 7 ? 0.002 : diurnal(5)(t));
    const alerts = runEngine(
      invocations({ fn, minutes: 9 * 24 * 60, rate: (t) => quiet(t) + (t >= attack && t < attack + 20 * MIN ? 30 : 0), seed: 33 }),
    );
    expect(kinds(alerts)).toContain('denial-of-wallet');
    const a = created(alerts).find((x) => x.finding_info.types[0] === 'denial-of-wallet')!;
    expect(a.time - attack).toBeLessThan(2 * MIN);
  });

  it('rates a cheap flood in a near-silent slot medium at first, high once it has held five minutes; a short burst stays medium', () => {
    const attack = T0 + 8 * DAY + 3 * HOUR;
    const quiet = (t: number) => (new Date(t).getUTCHours() < 7 ? 0.002 : diurnal(5)(t));
    const run = (minutes: number) =>
      runEngine(invocations({ fn, minutes: 9 * 24 * 60, rate: (t) => quiet(t) + (t >= attack && t < attack + minutes * MIN ? 30 : 0), seed: 33 })).filter(
        (a) => a.finding_info.types[0] === 'denial-of-wallet',
      );
    const flood = run(20);
    const opened = created(flood)[0]!;
    expect(opened.severity_id).toBe(Severity.Medium);
    expect((opened.unmapped as any).ratio).toBeGreaterThan(50); // far above its expectation, but cheap
    expect((opened.unmapped as any).projected_extra_usd_per_day).toBeLessThan(10);
    const raised = flood.find((a) => a.activity_id === 2 && a.severity_id === Severity.High);
    expect(raised?.finding_info.uid).toBe(opened.finding_info.uid);
    expect(raised!.time - attack).toBeGreaterThanOrEqual(4 * MIN);
    expect(raised!.time - attack).toBeLessThan(6 * MIN);
    expect(raised!.finding_info.desc).toMatch(/held at that rate for 5 minutes running/);

    const burst = run(3);
    expect(created(burst)).toHaveLength(1);
    expect(Math.max(...burst.map((a) => a.severity_id))).toBe(Severity.Medium);
  });

  it('tells a bursty worker busiest minutes from a flood at the same rate that holds', () => {
    const days = 6;
    const base = queueWorker(34, days, 1, 4);
    const attack = T0 + 5 * DAY + 14 * HOUR;
    const quietRun = runEngine(invocations({ fn, minutes: days * 24 * 60, rate: base, seed: 34 }));
    expect(kinds(quietRun)).not.toContain('denial-of-wallet');
    const alerts = runEngine(
      invocations({ fn, minutes: days * 24 * 60, rate: (t) => base(t) + (t >= attack && t < attack + 15 * MIN ? 25 : 0), seed: 34 }),
    );
    const a = created(alerts).find((x) => x.finding_info.types[0] === 'denial-of-wallet');
    expect(a).toBeDefined();
    expect(a!.time - attack).toBeLessThan(2 * MIN);
  });

  it('stays quiet on a 4x flash crowd for 20 minutes', () => {
    const crowd = T0 + 9 * DAY + 14 * HOUR;
    const alerts = runEngine(
      invocations({ fn, minutes: 10 * 24 * 60, rate: (t) => diurnal(30)(t) * (t >= crowd && t < crowd + 20 * MIN ? 4 : 1), seed: 12 }),
    );
    expect(alerts.filter((a) => a.severity_id >= Severity.High)).toEqual([]);
    expect(kinds(alerts)).not.toContain('denial-of-wallet');
  });
});

describe('cost-ramp', () => {
  it('fires on a sustained +150% ramp over hours that the spike detector misses', () => {
    const ramp = T0 + 8 * DAY + 6 * HOUR;
    const rate = (t: number) => {
      const base = diurnal(15)(t);
      if (t < ramp) return base;
      const h = (t - ramp) / HOUR;
      return base * (1 + 1.5 * Math.min(1, h / 4));
    };
    const alerts = runEngine(invocations({ fn, minutes: 10 * 24 * 60, rate, seed: 13 }));
    expect(kinds(alerts)).toContain('cost-ramp');
    expect(kinds(alerts)).not.toContain('denial-of-wallet');
    const a = alerts.find((x) => x.finding_info.types[0] === 'cost-ramp')!;
    expect(a.time).toBeGreaterThan(ramp);
    expect(a.time - ramp).toBeLessThan(12 * HOUR);
  });

  it('fires on a tripling of a bursty worker that lasts, not on its bursts', () => {
    const ramp = T0 + 8 * DAY + 6 * HOUR;
    const base = queueWorker(35, 11, 1, 4);
    const alerts = runEngine(invocations({ fn, minutes: 11 * 24 * 60, rate: (t) => base(t) * (t >= ramp ? 3 : 1), seed: 35 }));
    const ramps = created(alerts).filter((a) => a.finding_info.types[0] === 'cost-ramp');
    expect(ramps).toHaveLength(1);
    expect(ramps[0]!.time).toBeGreaterThan(ramp);
  });

  it('accumulates evidence hour by hour: one spike is capped, a sustained uplift adds up, a quiet spell drains it', () => {
    const normal = { count: 10, expected: 10, varianceFactor: 1 };
    const high = { count: 25, expected: 10, varianceFactor: 1 };
    const spike = { count: 500, expected: 10, varianceFactor: 1 };
    expect(rampEvidence([spike], 1.5, 10, 4, 0.5, 0).score).toBe(2.5);
    expect(rampEvidence([normal, spike, normal, normal], 1.5, 10, 4, 0.5, 0).score).toBeLessThan(2.5);
    const sustained = rampEvidence([normal, high, high, high, high, high], 1.5, 10, 4, 0.5, 0);
    expect(sustained.score).toBeGreaterThanOrEqual(10);
    expect(sustained.hours).toBe(5);
    expect(sustained.count).toBe(125);
    // A busy function whose forecast is 25% off: thousands of invocations, but the model error
    // makes each hour weigh little.
    const busyOff = Array.from({ length: 4 }, () => ({ count: 1250, expected: 1000, varianceFactor: 1 }));
    expect(rampEvidence(busyOff, 1.5, 10, 4, 0.5, 0).score).toBe(10);
    expect(rampEvidence(busyOff, 1.5, 10, 4, 0.5, 0.15).score).toBeLessThan(2);
  });

  it("with the pack's parameters, a worker's burst hours stay below the bar while a sparse ramp's steady hours cross it", () => {
    const k = detectorParams(defaultPack(), 'cost-ramp', { rampRatio: 0, threshold: 0, minHours: 0, minExpectedPerHour: 0, modelError: 0 });
    const evidence = (hours: { count: number; expected: number; varianceFactor: number }[]) =>
      rampEvidence(hours, k.rampRatio, k.threshold, k.minHours, k.minExpectedPerHour, k.modelError);
    // A bursty queue worker (hour-level dispersion 4): five burst hours at 20-30x, quiet hours around them.
    const quiet = { count: 4, expected: 6, varianceFactor: 8 };
    const burst = { count: 150, expected: 6, varianceFactor: 8 };
    expect(evidence([quiet, burst, quiet, burst, burst, quiet, burst, burst, quiet]).score).toBeLessThan(k.threshold);
    // A sparse API on a forecast learnt from one day: eight hours at 2.5x of a few calls each.
    const ramped = Array.from({ length: 8 }, () => ({ count: 10, expected: 4, varianceFactor: 4 }));
    expect(evidence(ramped).score).toBeGreaterThanOrEqual(k.threshold);
    expect(evidence(ramped.slice(0, k.minHours - 1)).score).toBeLessThan(k.threshold);
  });
});

describe('dormant-wakeup', () => {
  it('fires when a near-silent function gets 150 calls in an hour', () => {
    const wake = T0 + 6 * DAY + 3 * HOUR;
    const alerts = runEngine(
      invocations({ fn, minutes: 7 * 24 * 60, rate: (t) => (t >= wake && t < wake + HOUR ? 2.5 : 0.0015), seed: 14 }),
    );
    expect(kinds(alerts)).toEqual(['dormant-wakeup']);
    expect(alerts[0]!.time - wake).toBeLessThan(15 * MIN);
  });

  it('fires on a wake-up late in a clock hour, soon after a lone scheduled call', () => {
    const wake = T0 + 6 * DAY + 4 * HOUR + 50 * MIN;
    const lone = T0 + 6 * DAY + 2 * HOUR + 30 * MIN;
    const alerts = runEngine(
      invocations({
        fn,
        minutes: 7 * 24 * 60,
        rate: (t) => (t >= wake && t < wake + 40 * MIN ? 3 : t >= lone && t < lone + MIN ? 1 : 0.0007),
        seed: 36,
      }),
    );
    expect(kinds(alerts)).toEqual(['dormant-wakeup']);
    expect(alerts[0]!.time - wake).toBeLessThan(10 * MIN);
  });
});

describe('duration-anomaly', () => {
  it('fires when durations jump to near the timeout at a normal rate (mining)', () => {
    const mine = T0 + 5 * DAY;
    const events = [...invocations({
      fn,
      minutes: 6 * 24 * 60,
      rate: diurnal(5),
      durationMs: (t) => (t >= mine ? 14_000 : 150),
      sigma: 0.05,
      seed: 15,
    })];
    // The function's timeout is known from an earlier timeout.
    events.splice(100, 0, { ...events[100]!, status: 'timeout', durationMs: 15_000, requestId: 'to' } as FnEvent as any);
    const alerts = runEngine(events);
    const d = created(alerts).filter((a) => a.finding_info.types[0] === 'duration-anomaly');
    expect(d).toHaveLength(1);
    expect(d[0]!.time - mine).toBeLessThan(30 * MIN);
    expect(d[0]!.severity_id).toBe(Severity.High);
    expect(d[0]!.finding_info.desc).toMatch(/timeout/);
  });

  it('stays quiet while a deploy re-learns a 3x duration change', () => {
    const deployAt = T0 + 4 * DAY;
    const alerts = runEngine(invocations({
      fn, minutes: 6 * 24 * 60, rate: diurnal(10),
      durationMs: (t) => (t < deployAt ? 100 : 300), version: (t) => (t < deployAt ? '3' : '4'), seed: 16,
    }));
    expect(kinds(alerts)).not.toContain('duration-anomaly');
  });
});

describe('error-spike', () => {
  it('fires when 40% of invocations fail for 15 minutes', () => {
    const bad = T0 + 5 * DAY + 10 * HOUR;
    const alerts = runEngine(invocations({
      fn, minutes: 6 * 24 * 60, rate: diurnal(10),
      errorRate: (t) => (t >= bad && t < bad + 15 * MIN ? 0.4 : 0.002), seed: 17,
    }));
    expect(kinds(alerts)).toEqual(['error-spike']);
    expect(alerts[0]!.time - bad).toBeLessThan(10 * MIN);
  });
});

function egress(t: number, host: string, port = 443): EgressEvent {
  return { kind: 'egress', time: t, fn, host, port, protocol: 'tls', via: 'instrumentation' };
}
function api(t: number, action: string, resource: string, extra: Partial<ResourceAccessEvent> = {}): ResourceAccessEvent {
  return { kind: 'resource_access', time: t, fn, service: action.split(':')[0]!, action, resources: [resource], ...extra };
}

describe('new-egress-host', () => {
  it('learns hosts during the learning period and flags new ones after it, weighting the metadata service', () => {
    const events: FnEvent[] = [];
    for (let h = 0; h < 72; h++) {
      events.push(egress(T0 + h * HOUR, 'api.stripe.com'));
      if (h === 10) events.push(egress(T0 + h * HOUR + 1, 'hooks.slack.com')); // new during learning: quiet
    }
    events.push(egress(T0 + 72 * HOUR, 'exfil.example.net'));
    events.push(egress(T0 + 73 * HOUR, '169.254.169.254', 80));
    events.push(egress(T0 + 74 * HOUR, 'api.stripe.com'));
    const alerts = runEngine(events);
    expect(alerts.map((a) => (a.unmapped as any).object)).toEqual(['exfil.example.net:443', '169.254.169.254:80']);
    expect(alerts[1]!.severity_id).toBe(Severity.Critical);
    expect(alerts[0]!.finding_info.desc).toContain('api.stripe.com:443');
  });
});

describe('novelty on functions still showing their repertoire', () => {
  const rare = { name: 'sso-provisioner', account: '111111111111', region: 'us-east-1' };
  const peer = { name: 'auth-api', account: '111111111111', region: 'us-east-1' };
  const eg = (f: typeof fn, t: number, host: string, port = 443): EgressEvent => ({ kind: 'egress', time: t, fn: f, host, port, protocol: 'tls', via: 'instrumentation' });
  const call = (f: typeof fn, t: number, action: string, resource: string): ResourceAccessEvent => ({ kind: 'resource_access', time: t, fn: f, service: action.split(':')[0]!, action, resources: [resource] });

  /** A busy peer using a SaaS API and DynamoDB, and a function called a dozen times a day. */
  function fleet(): FnEvent[] {
    const events: FnEvent[] = [];
    for (let h = 0; h < 96; h++) {
      events.push(eg(peer, T0 + h * HOUR, 'api.auth0.com'));
      events.push(call(peer, T0 + h * HOUR + 1, 'dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/auth'));
      if (h % 2 === 0) {
        events.push(eg(rare, T0 + h * HOUR + 2, 'secretsmanager.us-east-1.amazonaws.com'));
        events.push(call(rare, T0 + h * HOUR + 3, 'dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/sso'));
      }
    }
    return events;
  }

  it('stays quiet on destinations and actions the fleet uses, first seen by a rarely called function', () => {
    const t = T0 + 96 * HOUR;
    const alerts = runEngine([...fleet(), eg(rare, t, 'api.auth0.com'), call(rare, t + 1, 'dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/sso')]);
    expect(alerts).toEqual([]);
  });

  it('still flags a destination no function uses, the metadata service and a sensitive action', () => {
    const t = T0 + 96 * HOUR;
    const alerts = runEngine([
      ...fleet(),
      eg(rare, t, '169.254.169.254', 80),
      eg(rare, t + 1, 'transfer.sh'),
      call(rare, t + 2, 'secretsmanager:GetSecretValue', 'prod/rds/master'),
    ]);
    expect(alerts.map((a) => (a.unmapped as any).object)).toEqual(['169.254.169.254:80', 'transfer.sh:443', 'secretsmanager:GetSecretValue prod/rds/master']);
  });

  it('flags a destination no function uses when a function still showing its repertoire reaches it during a surge', () => {
    const inv = (f: typeof fn, t: number): InvocationEvent => ({
      kind: 'invocation', time: t, fn: f, requestId: `r${t}`, version: '1', durationMs: 80, billedDurationMs: 80, memorySizeMB: 256, status: 'success', format: 'text',
    });
    /** Called every 8 hours, a new mirror each time: its discovery rate stays near 1. */
    const quietLife = (): FnEvent[] => {
      const events: FnEvent[] = [...fleet().filter((e) => e.fn.name !== rare.name)];
      for (let i = 0; i < 12; i++) events.push(inv(rare, T0 + i * 8 * HOUR), eg(rare, T0 + i * 8 * HOUR + 1, `mirror-${i}.example.org`));
      return events;
    };
    const t = T0 + 100 * HOUR;
    const surge = (host: string): FnEvent[] => Array.from({ length: 20 }, (_, i) => [inv(rare, t + i * MIN), eg(rare, t + i * MIN + 1, host)]).flat();
    const sorted = (events: FnEvent[]) => events.sort((a, b) => a.time - b.time);

    // One call to a never-seen host: the function is still discovering, so no alert.
    expect(runEngine(sorted([...quietLife(), inv(rare, t), eg(rare, t + 1, 'drop.example.io')]))).toEqual([]);
    // Twenty calls in twenty minutes, each reaching it: one alert, once the surge is plain.
    const alerts = runEngine(sorted([...quietLife(), ...surge('drop.example.io')]));
    const egressAlerts = alerts.filter((a) => a.finding_info.types[0] === 'new-egress-host');
    expect(egressAlerts.map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
    expect(egressAlerts[0]!.finding_info.desc).toContain('used by no other function');
    expect(egressAlerts[0]!.time).toBeGreaterThanOrEqual(t + 9 * MIN);
    // The same surge to a destination the fleet uses is not news.
    expect(runEngine(sorted([...quietLife(), ...surge('api.auth0.com')])).filter((a) => a.finding_info.types[0] === 'new-egress-host')).toEqual([]);
    // Nor is a destination it first used two hours before the surge.
    const earlier = [inv(rare, t - 2 * HOUR), eg(rare, t - 2 * HOUR + 1, 'drop.example.io')];
    expect(runEngine(sorted([...quietLife(), ...earlier, ...surge('drop.example.io')])).filter((a) => a.finding_info.types[0] === 'new-egress-host')).toEqual([]);
  });

  it('flags the drop host on the invocation that reveals the surge, after the last connection to it', () => {
    const inv = (f: typeof fn, t: number): InvocationEvent => ({
      kind: 'invocation', time: t, fn: f, requestId: `r${t}`, version: '1', durationMs: 80, billedDurationMs: 80, memorySizeMB: 256, status: 'success', format: 'text',
    });
    const events: FnEvent[] = [...fleet().filter((e) => e.fn.name !== rare.name)];
    for (let i = 0; i < 12; i++) events.push(inv(rare, T0 + i * 8 * HOUR), eg(rare, T0 + i * 8 * HOUR + 1, `mirror-${i}.example.org`));
    // A 13-minute theft: one call a minute. Its environment is recycled after minute 5 and egress is
    // logged once per environment per 5 minutes, so the drop host shows up on minutes 0 and 5 only,
    // before the hour holds 10 calls (minute 9).
    const t = T0 + 100 * HOUR;
    for (let i = 0; i < 13; i++) {
      events.push(inv(rare, t + i * MIN));
      if (i === 0 || i === 5) events.push(eg(rare, t + i * MIN + 1, 'drop.example.io'));
    }
    events.sort((a, b) => a.time - b.time);
    const egressAlerts = (models?: ReturnType<typeof defaultPack>): Alert[] => {
      const alerts: Alert[] = [];
      const engine = new Engine(models ? { models } : {}, (a) => alerts.push(a));
      for (const ev of events) engine.observe(ev);
      return alerts.filter((a) => a.finding_info.types[0] === 'new-egress-host');
    };
    const alerts = egressAlerts();
    expect(alerts.map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
    expect(alerts[0]!.time).toBe(t + 9 * MIN); // the tenth call, four minutes after the last connection
    // Judged on egress events only (surgeRecheck 0), the theft goes unseen.
    const pack = defaultPack();
    const egressOnly = { ...pack, detectors: pack.detectors.map((d) => (d.id === 'new-egress-host' ? { ...d, params: { ...d.params, surgeRecheck: 0 } } : d)) };
    expect(egressAlerts(egressOnly)).toEqual([]);
  });

  it('looks back only at recent destinations first seen after learning that no other function uses', () => {
    const now = 10 * HOUR;
    const seen: [string, number][] = [
      ['api.stripe.com:443', 0], // long known
      ['old.example.org:443', now - 2 * HOUR], // first seen before the window
      ['shared.example.com:443', now - 20 * MIN], // another function uses it too
      ['drop.example.io:443', now - 30 * MIN],
      ['learning.example.net:443', now - 10 * MIN], // first seen during learning
    ];
    const peers = (h: string) => (h === 'shared.example.com:443' ? 1 : 0);
    const trusted = (t: number) => t !== now - 10 * MIN;
    expect(recentUnsharedDestination(seen, now, HOUR, trusted, peers)).toEqual(['drop.example.io:443', now - 30 * MIN]);
    expect(recentUnsharedDestination(seen, now, 15 * MIN, trusted, peers)).toBeUndefined();
    // The most recently first-seen of several candidates.
    expect(recentUnsharedDestination([...seen, ['drop2.example.io:443', now - 5 * MIN]], now, HOUR, trusted, peers)).toEqual(['drop2.example.io:443', now - 5 * MIN]);
  });

  describe('a drop host another function reached first', () => {
    const inv = (f: typeof fn, t: number): InvocationEvent => ({
      kind: 'invocation', time: t, fn: f, requestId: `r${f.name}${t}`, version: '1', durationMs: 80, billedDurationMs: 80, memorySizeMB: 256, status: 'success', format: 'text',
    });
    const billing = { name: 'billing-api', account: '111111111111', region: 'us-east-1' };
    const rare2 = { name: 'gdpr-export', account: '111111111111', region: 'us-east-1' };
    const t = T0 + 100 * HOUR;
    /**
     * auth-api (busy, settled) and billing-api (busy, settled) all along; sso-provisioner called
     * every 8 hours, a new mirror each time; `reach` is when and by whom drop.example.io is first used.
     */
    function world(reach: { by: typeof fn; at: number }, attack: FnEvent[]): FnEvent[] {
      const events: FnEvent[] = [...fleet().filter((e) => e.fn.name !== rare.name)];
      for (let h = 0; h < 100; h++) events.push(eg(billing, T0 + h * HOUR + 5, 'api.stripe.com'));
      for (let i = 0; i < 12; i++) {
        events.push(inv(rare, T0 + i * 8 * HOUR), eg(rare, T0 + i * 8 * HOUR + 1, `mirror-${i}.example.org`));
        events.push(inv(rare2, T0 + i * 8 * HOUR + 7), eg(rare2, T0 + i * 8 * HOUR + 8, `cdn-${i}.example.net`));
      }
      // The first use: a few connections within half an hour (an earlier theft, or ordinary use).
      for (let i = 0; i < 4; i++) events.push(eg(reach.by, reach.at + i * 10 * MIN, 'drop.example.io'));
      return [...events, ...attack].sort((a, b) => a.time - b.time);
    }
    /** sso-provisioner's theft: twenty calls in twenty minutes, each reaching the drop host. */
    const theft = (): FnEvent[] => Array.from({ length: 20 }, (_, i) => [inv(rare, t + i * MIN), eg(rare, t + i * MIN + 1, 'drop.example.io')]).flat();
    const egressAlertsOn = (who: typeof fn, alerts: Alert[]) =>
      alerts.filter((a) => a.finding_info.types[0] === 'new-egress-host' && a.resources[0]!.name === who.name && a.activity_id === 1);

    it('does not count a host another settled function first reached after its learning period as established', () => {
      const alerts = egressAlertsOn(rare, runEngine(world({ by: peer, at: T0 + 50 * HOUR }, theft())));
      expect(alerts.map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
      expect(alerts[0]!.finding_info.desc).toContain('also reached by 1 other function only since after its learning period');
      expect((alerts[0]!.unmapped as any).late_peer_functions).toBe(1);
      // A settled function reaching it rates Medium, not the Low of a host its peers use.
      const busy = egressAlertsOn(billing, runEngine(world({ by: peer, at: T0 + 50 * HOUR }, [eg(billing, t, 'drop.example.io')])));
      expect(busy.map((a) => [a.severity_id, (a.unmapped as any).peer_functions])).toEqual([[Severity.Medium, 0]]);
    });

    it('counts a host another function used since its learning period, long before', () => {
      expect(egressAlertsOn(rare, runEngine(world({ by: peer, at: T0 + 2 * HOUR }, theft())))).toEqual([]);
      const busy = egressAlertsOn(billing, runEngine(world({ by: peer, at: T0 + 2 * HOUR }, [eg(billing, t, 'drop.example.io')])));
      expect(busy.map((a) => [a.severity_id, (a.unmapped as any).peer_functions])).toEqual([[Severity.Low, 1]]);
    });

    it('counts a late use by a function still showing its repertoire', () => {
      // gdpr-export, called every 8 hours with a new host each time, reaching it is not news for it.
      expect(egressAlertsOn(rare, runEngine(world({ by: rare2, at: T0 + 50 * HOUR }, theft())))).toEqual([]);
    });

    it('judges the same after a restore from a snapshot taken between the two uses', () => {
      const events = world({ by: peer, at: T0 + 50 * HOUR }, theft());
      const whole = runEngine(events);
      const cut = events.findIndex((e) => e.time >= T0 + 60 * HOUR);
      const first = new Engine({}, () => {});
      for (const ev of events.slice(0, cut)) first.observe(ev);
      const restored: Alert[] = [];
      const second = new Engine({ baseline: JSON.parse(JSON.stringify(first.snapshot())) }, (a) => restored.push(a));
      for (const ev of events.slice(cut)) second.observe(ev);
      expect(egressAlertsOn(rare, restored).map((a) => a.finding_info.desc)).toEqual(egressAlertsOn(rare, whole).map((a) => a.finding_info.desc));
      expect(egressAlertsOn(rare, restored)).toHaveLength(1);
    });

    /**
     * gdpr-export, still showing its repertoire, first reaches drop.example.io (here an ordinary
     * host) at 50 h, then settles: 120 connections to a host it knows bring its discovery rate from
     * above 0.1 to below it. sso-provisioner's theft follows at 100 h.
     */
    /**
     * The run's snapshot at hour 70 (as JSON, as a file would hold it), and a resume that restores a
     * baseline and replays the rest, giving the egress alerts on the rare function.
     */
    const cutAt70h = (events: FnEvent[]) => {
      const cut = events.findIndex((e) => e.time >= T0 + 70 * HOUR);
      const first = new Engine({}, () => {});
      for (const ev of events.slice(0, cut)) first.observe(ev);
      const snap = JSON.parse(JSON.stringify(first.snapshot()));
      const resume = (baseline: typeof snap): Alert[] => {
        const restored: Alert[] = [];
        const second = new Engine({ baseline }, (a) => restored.push(a));
        for (const ev of events.slice(cut)) second.observe(ev);
        return egressAlertsOn(rare, restored);
      };
      return { snap, resume };
    };
    const settled = (): FnEvent[] => world({ by: rare2, at: T0 + 50 * HOUR }, [...Array.from({ length: 120 }, (_, i) => eg(rare2, T0 + 52 * HOUR + i * 4 * MIN, 'cdn-0.example.net')), ...theft()]);

    it('decides whether a late use vouches at that first use, not when asked', () => {
      const engine = new Engine({}, () => {});
      const alerts: Alert[] = [];
      engine.tap((a) => alerts.push(a));
      for (const ev of settled()) engine.observe(ev);
      const late = [...engine.fleet.lateEgressUses()].filter(([h]) => h === 'drop.example.io:443');
      expect(late.map(([, u]) => u.fn.name)).toEqual(['gdpr-export', 'sso-provisioner']);
      // It vouched at its first use; by the theft its rate had fallen below what would vouch.
      const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
      expect(lateUseVouches(late[0]![1], k)).toBe(true);
      const gdpr = engine.profiles.get(`111111111111/us-east-1/${rare2.name}`)!;
      expect(lateUseVouches({ discovery: gdpr.egress.discoveryRate(), alerted: false }, k)).toBe(false);
      expect(egressAlertsOn(rare, alerts)).toEqual([]);
    });

    it('restores the rate at first use from the snapshot, and falls back to the rate at restore without it', () => {
      const events = settled();
      expect(egressAlertsOn(rare, runEngine(events))).toEqual([]);
      const { snap, resume } = cutAt70h(events);
      expect(snap.fleet.lateEgress).toContainEqual([`111111111111/us-east-1/${rare2.name}`, 'drop.example.io:443', expect.any(Number), false]);
      expect(resume(snap)).toEqual([]);
      // An older snapshot, with no fleet section: gdpr-export's use is judged by its rate at restore,
      // by then too low to vouch, so the theft alerts (as round 4's rule did in an uninterrupted run).
      const { fleet: _omitted, ...older } = snap;
      expect(resume(older).map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
    });

    /**
     * gdpr-export, still showing its repertoire (its rate above 0.1, so its late use would vouch by
     * rate), is itself compromised at 50 h: twenty calls in twenty minutes, each reaching the drop
     * host, which the surge rule flags. sso-provisioner's theft to the same host follows at 100 h.
     */
    const earlierTheft = (): FnEvent[] =>
      world({ by: rare2, at: T0 + 50 * HOUR }, [
        ...Array.from({ length: 20 }, (_, i) => [inv(rare2, T0 + 50 * HOUR + i * MIN), eg(rare2, T0 + 50 * HOUR + i * MIN + 1, 'drop.example.io')]).flat(),
        ...theft(),
      ]);

    it('does not let a late first use that was itself alerted on vouch for the destination', () => {
      const engine = new Engine({}, () => {});
      const alerts: Alert[] = [];
      engine.tap((a) => alerts.push(a));
      for (const ev of earlierTheft()) engine.observe(ev);
      // The earlier theft was flagged, and its use is recorded as alerted, although its rate vouches.
      expect(egressAlertsOn(rare2, alerts).map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
      const late = [...engine.fleet.lateEgressUses()].filter(([h]) => h === 'drop.example.io:443');
      expect(late.map(([, u]) => [u.fn.name, u.alerted])).toEqual([
        ['gdpr-export', true],
        ['sso-provisioner', true],
      ]);
      const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
      expect(lateUseVouches({ ...late[0]![1], alerted: false }, k)).toBe(true);
      // So the second theft is caught, where an un-alerted use by the same function keeps it quiet
      // ('counts a late use by a function still showing its repertoire').
      const caught = egressAlertsOn(rare, alerts);
      expect(caught.map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
      expect(caught[0]!.finding_info.desc).toContain('also reached by 1 other function only since after its learning period');
    });

    it('restores the alerted mark from the snapshot; an entry written without it is taken as not alerted', () => {
      const events = earlierTheft();
      const { snap, resume } = cutAt70h(events);
      expect(snap.fleet.lateEgress).toContainEqual([`111111111111/us-east-1/${rare2.name}`, 'drop.example.io:443', expect.any(Number), true]);
      expect(resume(snap).map((a) => (a.unmapped as any).object)).toEqual(['drop.example.io:443']);
      // A round-5 snapshot (three fields per entry): the use vouches by its rate, and the theft is quiet.
      const older = { ...snap, fleet: { lateEgress: snap.fleet.lateEgress.map((e: unknown[]) => e.slice(0, 3)) } };
      expect(resume(older)).toEqual([]);
    });

    it('lets a late use vouch only while new destinations are no news for its function', () => {
      const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
      expect(lateUseVouches({ discovery: 0.003, alerted: false }, k)).toBe(false);
      expect(lateUseVouches({ discovery: 0.09, alerted: false }, k)).toBe(false); // 0.09 x 0.2 <= 0.02: an unshared host would be news for it
      expect(lateUseVouches({ discovery: 0.25, alerted: false }, k)).toBe(true);
      expect(lateUseVouches({ discovery: 0.25, alerted: true }, k)).toBe(false); // a use flagged as news never vouches
      expect(lateUseVouches({ discovery: 0.003, alerted: true }, k)).toBe(false);
    });
  });

  it('calls a surge only what its rate model all but excludes', () => {
    const k = { surgeMinCount: 10, surgeRatio: 5, surgeLog10p: -6, minExpectedPerHour: 0.5 };
    expect(rateSurge({ count: 20, expected: 0.1 }, k)).toBe(true);
    expect(rateSurge({ count: 9, expected: 0.1 }, k)).toBe(false); // too few to judge
    expect(rateSurge({ count: 40, expected: 10 }, k)).toBe(false); // a busy hour, not a surge
    expect(rateSurge({ count: 12, expected: 2 }, k)).toBe(false); // 6x, but Poisson p ~ 1e-5
  });

  it('weighs the discovery rate by how ordinary the item is in the fleet', () => {
    const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
    expect(surprising(0.01, 5, k)).toBe(true);
    expect(surprising(0.05, 5, k)).toBe(false);
    expect(surprising(0.05, 0, k)).toBe(true);
    expect(surprising(0.2, 0, k)).toBe(false);
    // On the boundary, as in exact arithmetic (3/30 × 0.2 is 0.020000000000000004 in floating point).
    expect(surprising(3 / 30, 0, k)).toBe(true);
    expect(lateUseVouches({ discovery: 3 / 30, alerted: false }, k)).toBe(false);
    expect(surprising(0.1001, 0, k)).toBe(false);
  });
});

describe('new-resource-access', () => {
  it('flags a new sensitive action and a write on a new resource, not a read of a new object', () => {
    const events: FnEvent[] = [];
    for (let h = 0; h < 48; h++) {
      events.push(api(T0 + h * HOUR, 's3:GetObject', 'arn:aws:s3:::orders/2024'));
      events.push(api(T0 + h * HOUR + 1, 'dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/orders', { readOnly: false }));
    }
    const t = T0 + 48 * HOUR;
    events.push(api(t, 's3:GetObject', 'arn:aws:s3:::orders/2025')); // plain read of a new prefix: quiet
    events.push(api(t + 1, 'secretsmanager:GetSecretValue', 'prod/db-admin'));
    events.push(api(t + 2, 'dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/users', { readOnly: false }));
    const alerts = runEngine(events);
    expect(alerts.map((a) => (a.unmapped as any).action)).toEqual(['secretsmanager:GetSecretValue', 'dynamodb:PutItem']);
    expect(alerts[0]!.severity_id).toBe(Severity.High);
  });

  it('flags a burst of AccessDenied once', () => {
    const events: FnEvent[] = [];
    for (let h = 0; h < 30; h++) events.push(api(T0 + h * HOUR, 's3:GetObject', 'arn:aws:s3:::orders/x'));
    const t = T0 + 30 * HOUR;
    for (let i = 0; i < 12; i++) events.push(api(t + i * 1000, 's3:GetObject', 'arn:aws:s3:::orders/x', { errorCode: 'AccessDenied' }));
    const alerts = runEngine(events);
    expect(alerts).toHaveLength(1);
    expect((alerts[0]!.unmapped as any).object).toBe('access-denied-burst');
  });
});

describe('suppression and stable ids', () => {
  it('raises one alert per surge and the same uid on a re-run', () => {
    const attack = T0 + 3 * DAY + 15 * HOUR;
    const spec = { fn, minutes: 4 * 24 * 60, rate: (t: number) => diurnal(20)(t) * (t >= attack && t < attack + 60 * MIN ? 50 : 1), seed: 21 };
    const a1 = runEngine(invocations(spec));
    const a2 = runEngine(invocations(spec));
    expect(a1.filter((a) => a.activity_id === 1)).toHaveLength(1);
    expect(a1.map((a) => a.finding_info.uid)).toEqual(a2.map((a) => a.finding_info.uid));
  });

  it('keeps functions apart', () => {
    const other = { ...fn, name: 'billing' };
    const attack = T0 + 3 * DAY + 15 * HOUR;
    const alerts = runEngine(merge(
      invocations({ fn, minutes: 4 * 24 * 60, rate: diurnal(20), seed: 22 }),
      invocations({ fn: other, minutes: 4 * 24 * 60, rate: (t) => diurnal(20)(t) * (t >= attack && t < attack + 20 * MIN ? 40 : 1), seed: 23 }),
    ));
    expect(created(alerts).map((a) => a.resources[0]!.name)).toEqual(['billing']);
    expect(new Set(alerts.map((a) => a.finding_info.uid)).size).toBe(1);
  });
});
