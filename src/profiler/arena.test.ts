import { describe, expect, it } from 'vitest';
import { Arena, fitsTime48, getTime48, setTime48 } from './arena.ts';

describe('Arena', () => {
  it('grows a region in place, keeping the others and inserting zeros in front when asked', () => {
    const a = new Arena(3, 8);
    a.m.setFloat64(a.scalars, 2.5, true);
    a.resize(0, 2, 0);
    a.resize(2, 3, 0);
    a.m.setUint8(a.start(0), 7);
    a.m.setUint8(a.start(0) + 1, 8);
    a.m.setUint8(a.start(2), 9);
    a.resize(1, 4, 0);
    a.resize(0, 5, 2); // two zeros before [7, 8], one after
    expect(a.m.getFloat64(a.scalars, true)).toBe(2.5);
    expect([0, 1, 2, 3, 4].map((i) => a.m.getUint8(a.start(0) + i))).toEqual([0, 0, 7, 8, 0]);
    expect([a.length(0), a.length(1), a.length(2)]).toEqual([5, 4, 3]);
    expect(a.m.getUint8(a.start(2))).toBe(9);
    expect(a.byteLength).toBe(1 + 3 * 4 + 8 + 5 + 4 + 3);
    expect(() => a.resize(1, 2, 0)).toThrow(RangeError);
  });

  it('stores whole-millisecond times in 6 bytes and says which do not fit', () => {
    const a = new Arena(1, 6);
    for (const t of [0, 1, Date.parse('2026-01-05T10:00:00.123Z'), 2 ** 48 - 1]) {
      expect(fitsTime48(t)).toBe(true);
      setTime48(a.m, a.scalars, t);
      expect(getTime48(a.m, a.scalars)).toBe(t);
    }
    for (const t of [-1, 0.5, 2 ** 48, NaN, Infinity, -Infinity]) expect(fitsTime48(t)).toBe(false);
  });
});
