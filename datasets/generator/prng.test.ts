import { describe, expect, it } from 'vitest';
import { Rng, hash32 } from './prng.ts';
import { iso } from './time.ts';

const draw = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.next());

describe('Rng', () => {
  it('repeats for a seed, differs across seeds, and forks streams that do not shift each other', () => {
    expect(draw(new Rng(7), 5)).toEqual(draw(new Rng(7), 5));
    expect(draw(new Rng(7), 5)).not.toEqual(draw(new Rng(8), 5));
    const a = new Rng(7);
    const b = new Rng(7);
    b.next(); // drawing from the parent must not change a fork
    expect(draw(a.fork('fn:x'), 5)).toEqual(draw(b.fork('fn:x'), 5));
    expect(draw(a.fork('fn:x'), 5)).not.toEqual(draw(a.fork('fn:y'), 5));
    expect(hash32('abc')).toBe(hash32('abc'));
  });

  it('draws from the intended distributions', () => {
    const rng = new Rng(1);
    const n = 20_000;
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const u = draw(rng, n);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    for (const m of [0.3, 4, 250]) expect(mean(Array.from({ length: n }, () => rng.poisson(m))) / m).toBeCloseTo(1, 1);
    const logs = Array.from({ length: n }, () => rng.lognormal(200, 0.5)).sort((x, y) => x - y);
    expect(logs[n / 2]! / 200).toBeCloseTo(1, 1);
    expect(logs[Math.floor(n * 0.99)]! / logs[n / 2]!).toBeGreaterThan(2.5); // heavy right tail
    expect(rng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rng.digits(56)).toMatch(/^[1-9]\d{55}$/);
  });
});

describe('iso', () => {
  it('formats like Date#toISOString across day boundaries', () => {
    for (let t = 1_767_225_600_000 - 2 * 86_400_000; t < 1_767_225_600_000 + 2 * 86_400_000; t += 7_919_777) expect(iso(t)).toBe(new Date(t).toISOString());
    for (const t of [0, 999, 86_399_999, 1_767_225_599_999]) expect(iso(t)).toBe(new Date(t).toISOString());
  });
});
