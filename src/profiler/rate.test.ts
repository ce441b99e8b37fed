import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MIN, T0, diurnal, invocations, prng } from '../detectors/testing/series.ts';
import { FleetProfile } from './fleet.ts';
import { NoveltySet } from './novelty.ts';
import { RateModel } from './rate.ts';

function feed(r: RateModel, rate: (t: number, m: number) => number, days: number, seed: number): void {
  for (const ev of invocations({ minutes: days * 24 * 60, rate, seed })) r.observe(ev.time);
}

describe('RateModel', () => {
  it('counts the last minutes and the last 60 minutes on a sliding window', () => {
    const r = new RateModel();
    const t = T0 + 10 * HOUR + 58 * MIN;
    for (let i = 0; i < 5; i++) r.observe(t + i * 1000); // 10:58
    for (let i = 0; i < 7; i++) r.observe(t + MIN + i * 1000); // 10:59
    for (let i = 0; i < 3; i++) r.observe(t + 2 * MIN + i * 1000); // 11:00, a new clock hour
    expect(r.hourCount).toBe(3);
    expect(r.lastHourCount).toBe(15);
    expect(r.countLastMinutes(2, t + 2 * MIN)).toBe(10);
    expect(r.countLastMinutes(3, t + 2 * MIN)).toBe(15);
    r.observe(t + 60 * MIN); // 11:58: the 10:58 minute has left the window, 10:59 is still in it
    expect(r.lastHourCount).toBe(11);
  });

  it('counts minutes of hundreds and of 70,000 invocations (the minute ring widens) and restores mid-hour', () => {
    const r = new RateModel();
    const t = T0 + 3 * HOUR;
    for (let i = 0; i < 300; i++) r.observe(t + (i % 60) * 1000);
    for (let i = 0; i < 70_000; i++) r.observe(t + MIN + (i % 60_000));
    r.observe(t + 2 * MIN);
    expect(r.countLastMinutes(1, t)).toBe(300);
    expect(r.countLastMinutes(2, t + MIN)).toBe(70_300);
    expect(r.lastHourCount).toBe(70_301);
    const restored = RateModel.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
    expect(restored.toJSON()).toEqual(r.toJSON());
    for (const m of [r, restored]) m.observe(t + 60 * MIN); // the first minute leaves the window
    expect(restored.lastHourCount).toBe(70_002);
    expect(restored.toJSON()).toEqual(r.toJSON());
  });

  it('learns a much larger hour-level dispersion for a bursty worker than for a Poisson stream', () => {
    const steady = new RateModel();
    feed(steady, () => 0.5, 5, 1);
    const bursty = new RateModel();
    // About the same mean, in bursts of ~15 invocations in one minute of half the hours, at random.
    const coin = prng(9);
    const burstMinute = Array.from({ length: 5 * 24 }, () => (coin() < 0.5 ? Math.floor(coin() * 60) : -1));
    feed(bursty, (_t, m) => (burstMinute[Math.floor(m / 60)] === m % 60 ? 15 : 0.02), 5, 2);
    expect(steady.hourDispersion).toBeLessThan(1.6);
    expect(bursty.hourDispersion).toBeGreaterThan(3 * steady.hourDispersion);
  });

  it('does not let a flood in the first weekend ever seen become the level or the slot shape', () => {
    const r = new RateModel();
    const flood = T0 + 5 * DAY + 10 * HOUR; // the first Saturday
    feed(r, (t) => diurnal(10)(t) + (t >= flood && t < flood + 40 * MIN ? 60 : 0), 6, 3);
    const levelBefore = new RateModel();
    feed(levelBefore, diurnal(10), 6, 3);
    expect(r.level).toBeLessThan(1.15 * levelBefore.level);
    // Still the weekday forecast it started from (weekends have not been seen without the flood),
    // not a multiple of it.
    const nextSaturday = Math.floor((flood + 7 * DAY) / HOUR);
    const weekdaySameHour = Math.floor((flood - DAY) / HOUR);
    expect(r.expectedForHour(nextSaturday)).toBeLessThan(1.5 * r.expectedForHour(weekdaySameHour));
  });
});

describe('NoveltySet discovery rate', () => {
  it('is high while items keep coming and falls as the repertoire repeats', () => {
    const s = new NoveltySet(16);
    s.observe('a', 1);
    s.observe('b', 2);
    s.observe('c', 3);
    expect(s.discoveryRate()).toBeCloseTo(4 / 5);
    for (let i = 0; i < 95; i++) s.observe(['a', 'b', 'c'][i % 3]!, 10 + i);
    expect(s.discoveryRate()).toBeCloseTo(1 / 100);
    const restored = NoveltySet.fromJSON(JSON.parse(JSON.stringify(s.toJSON())), 16);
    expect(restored.discoveryRate()).toBeCloseTo(s.discoveryRate());
  });
});

describe('FleetProfile', () => {
  it('counts the functions using each destination and action, within a cap', () => {
    const f = new FleetProfile(1);
    f.noteEgress('api.stripe.com:443');
    f.noteEgress('api.stripe.com:443');
    f.noteAction('s3:GetObject');
    f.noteEgress('hooks.slack.com:443'); // beyond the cap: not kept
    expect(f.egressUsers('api.stripe.com:443')).toBe(2);
    expect(f.actionUsers('s3:GetObject')).toBe(1);
    expect(f.egressUsers('hooks.slack.com:443')).toBe(0);
  });
});
