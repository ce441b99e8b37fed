import { describe, expect, it } from 'vitest';
import type { EgressEvent } from '../core/events.ts';
import { DAY, HOUR, T0, diurnal, invocations } from '../detectors/testing/series.ts';
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

  it('bounds memory with an LRU over functions', () => {
    const e = new Engine({ maxFunctions: 10 }, () => {});
    for (let i = 0; i < 25; i++) e.observe({ kind: 'egress', time: T0 + i, fn: { name: `f${i}` }, host: 'a', via: 'instrumentation' });
    expect(e.profiles.size).toBe(10);
    expect(e.evicted).toBe(15);
  });
});
