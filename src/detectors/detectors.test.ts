import { describe, expect, it } from 'vitest';
import { Severity } from '../core/alert.ts';
import type { EgressEvent, FnEvent, ResourceAccessEvent } from '../core/events.ts';
import { DAY, HOUR, MIN, T0, created, diurnal, invocations, kinds, merge, prng, runEngine } from './testing/series.ts';
import { rampEvidence } from './cost-ramp.ts';
import { surprising } from './new-egress-host.ts';

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

  it('weighs the discovery rate by how ordinary the item is in the fleet', () => {
    const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
    expect(surprising(0.01, 5, k)).toBe(true);
    expect(surprising(0.05, 5, k)).toBe(false);
    expect(surprising(0.05, 0, k)).toBe(true);
    expect(surprising(0.2, 0, k)).toBe(false);
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
