import { describe, expect, it } from 'vitest';
import { prng } from './testing.ts';
import { WindowRangeNovelty } from './window-range.ts';

/** The definition, computed the slow way: exceedance beyond the last `size` values, in their width. */
function naiveExceedances(values: readonly number[], size: number): number[] {
  return values.map((v, i) => {
    const recent = values.slice(Math.max(0, i - size), i);
    if (recent.length < 2) return 0;
    const min = Math.min(...recent);
    const max = Math.max(...recent);
    const width = max - min;
    return width > 0 ? Math.max((v - max) / width, (min - v) / width, 0) : 0;
  });
}

describe('WindowRangeNovelty', () => {
  it('measures exceedance beyond the recent range, in units of its width', () => {
    const r = new WindowRangeNovelty(3);
    expect([0, 10, 5].map((v) => r.update(v))).toEqual([0, 0, 0]);
    expect(r.update(20)).toBeCloseTo(1, 12); // 10 beyond [0, 10]
    expect(r.update(-5)).toBeCloseTo(10 / 15, 12); // the window is now [10, 5, 20]: 10 below its min, width 15
  });

  it('forgets values older than the window, so a smaller spike after a big one counts again', () => {
    const r = new WindowRangeNovelty(4);
    const series = [0, 1, 0, 100, 0, 1, 0, 1, 0, 1];
    for (const v of series) r.update(v);
    expect(r.range).toEqual({ min: 0, max: 1 }); // 100 has left the window
    expect(r.update(11)).toBeCloseTo(10, 12); // 10 beyond a range 1 wide
  });

  it('agrees with the definition on random series, for several window sizes', () => {
    const rand = prng(7);
    // a random walk with bursts: ties, new extremes and long monotone stretches all occur
    const values: number[] = [];
    let x = 0;
    for (let i = 0; i < 3000; i++) {
      x += rand() < 0.02 ? (rand() - 0.5) * 50 : Math.round((rand() - 0.5) * 4);
      values.push(x);
    }
    for (const size of [2, 3, 17, 250]) {
      const r = new WindowRangeNovelty(size);
      const got = values.map((v) => r.update(v));
      const want = naiveExceedances(values, size);
      for (let i = 0; i < values.length; i++) expect(got[i], `size ${size}, row ${i}`).toBeCloseTo(want[i]!, 9);
    }
  });

  it('is 0 while fewer than two values or a flat window have been seen', () => {
    const r = new WindowRangeNovelty(5);
    expect(r.update(3)).toBe(0);
    expect(r.update(3)).toBe(0);
    expect(r.update(9)).toBe(0); // the window [3, 3] has no width
    expect(r.update(15)).toBeCloseTo(1, 12);
  });

  it('continues identically after a snapshot round trip', () => {
    const rand = prng(3);
    const values = Array.from({ length: 400 }, () => rand() * 10 + (rand() < 0.05 ? 30 : 0));
    const a = new WindowRangeNovelty(50);
    for (const v of values.slice(0, 230)) a.update(v);
    const b = new WindowRangeNovelty(50);
    b.restore(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.count).toBe(230);
    expect(b.range).toEqual(a.range);
    for (const v of values.slice(230)) expect(b.update(v)).toBe(a.update(v));
  });

  it('rejects a bad size and a state of another size', () => {
    expect(() => new WindowRangeNovelty(1)).toThrow(/size must be an integer/);
    expect(() => new WindowRangeNovelty(2.5)).toThrow(/size must be an integer/);
    const state = new WindowRangeNovelty(4).toJSON();
    expect(() => new WindowRangeNovelty(5).restore(state)).toThrow(/size 4, expected 5/);
    expect(() => new WindowRangeNovelty(4).restore({ size: 4, seen: 1, recent: [1, 2] })).toThrow(/seen 1 < 2/);
  });
});
