import { describe, expect, it } from 'vitest';
import { Severity } from '../core/alert.ts';
import type { EgressEvent, FnEvent, ResourceAccessEvent } from '../core/events.ts';
import { DAY, HOUR, MIN, T0, created, diurnal, invocations, kinds, merge, runEngine } from './testing/series.ts';

const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };

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
