import { describe, expect, it } from 'vitest';
import { GenerationalMap, RecentIds, StreamIdWindow } from './bounded.ts';

describe('GenerationalMap', () => {
  it('holds at most two generations and keeps recently used entries', () => {
    const m = new GenerationalMap<string, number>(3);
    for (let i = 0; i < 100; i++) {
      m.set(`k${i}`, i);
      expect(m.get('hot'), `step ${i}`).toBe(i === 0 ? undefined : -1);
      if (i === 0) m.set('hot', -1);
      expect(m.size).toBeLessThanOrEqual(6);
    }
    expect(m.get('k0')).toBeUndefined();
    expect(m.get('k99')).toBe(99);
  });

  it('set on an old-generation key updates it', () => {
    const m = new GenerationalMap<string, number>(1);
    m.set('a', 1);
    m.set('b', 2); // a → old
    m.set('a', 3);
    expect(m.get('a')).toBe(3);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new GenerationalMap(0)).toThrow(RangeError);
  });
});

describe('RecentIds', () => {
  it('remembers at least the last `capacity` ids and at most twice that', () => {
    const ids = new RecentIds(3);
    expect(['a', 'b', 'c'].map((x) => ids.seen(x))).toEqual([false, false, false]);
    expect(['a', 'b', 'c'].map((x) => ids.seen(x))).toEqual([true, true, true]);
    for (const x of ['d', 'e', 'f']) expect(ids.seen(x)).toBe(false);
    expect(['d', 'e', 'f'].map((x) => ids.seen(x))).toEqual([true, true, true]);
    expect(ids.seen('g')).toBe(false); // young (d,e,f) was full: a,b,c are forgotten
    expect(['a', 'b', 'c'].map((x) => ids.seen(x))).toEqual([false, false, false]);
    expect(ids.size).toBeLessThanOrEqual(6);
  });

  it('keeps multi-part keys apart from their concatenations', () => {
    const ids = new RecentIds(100);
    expect(ids.seen('1', 'grp', 'stream')).toBe(false);
    expect(ids.seen('1', 'grp', 'stream')).toBe(true);
    expect(ids.seen('1', 'grps', 'tream')).toBe(false);
    expect(ids.seen('1grp', 'stream')).toBe(false);
    expect(ids.seen('1', 'grp', 'stream2')).toBe(false);
  });

  it('has no false positives over a million distinct 56-digit ids and finds every repeat', () => {
    const ids = new RecentIds(200_000);
    let falseHits = 0;
    const base = 10n ** 55n;
    for (let i = 0; i < 1_000_000; i++) if (ids.seen((base + BigInt(i) * 7919n).toString())) falseHits++;
    expect(falseHits).toBe(0);
    let misses = 0;
    for (let i = 1_000_000 - 200_000; i < 1_000_000; i++) if (!ids.seen((base + BigInt(i) * 7919n).toString())) misses++;
    expect(misses).toBe(0);
  });
});

describe('StreamIdWindow', () => {
  /** Exactly the last `capacity` keys, FIFO, without hashing or marks. */
  class Model {
    private readonly order: string[] = [];
    private readonly set = new Set<string>();
    constructor(private readonly capacity: number) {}
    seen(key: string): boolean {
      if (this.set.has(key)) return true;
      this.order.push(key);
      this.set.add(key);
      if (this.order.length > this.capacity) this.set.delete(this.order.shift()!);
      return false;
    }
  }

  const base = 3n * 10n ** 55n;
  const idOf = (n: number) => (base + BigInt(n) * 2n ** 144n + BigInt(n % 7)).toString();

  for (const [name, backRate, back] of [
    ['mostly in order, with redeliveries and backfills', 0.3, 120],
    ['bursts of out-of-order ids (index built and dropped repeatedly)', 0.02, 400],
    ['in order only', 0, 0],
  ] as const) {
    it(`agrees with an exact FIFO model: ${name}`, () => {
      let seed = 42;
      const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const window = new StreamIdWindow(50);
      const model = new Model(50);
      let mismatches = 0;
      let repeats = 0;
      for (let i = 0; i < 30_000; i++) {
        const n = rand() < backRate ? Math.max(0, i - Math.floor(rand() * back)) : i;
        // an id belongs to exactly one stream, as in CloudWatch
        const stream = `s${n % 5}`;
        const group = (n >> 3) % 2 === 0 ? '/aws/lambda/a' : '/aws/lambda/b';
        const expected = model.seen(`${group}|${stream}|${n}`);
        if (expected) repeats++;
        if (window.seen(group, stream, idOf(n), 24, 1_700_000_000_000 + n) !== expected) mismatches++;
      }
      if (backRate > 0) expect(repeats).toBeGreaterThan(50);
      expect(mismatches).toBe(0);
      expect(window.size).toBe(50);
    });
  }

  it('catches a whole redelivered batch after a long in-order run, and keeps marks bounded', () => {
    const window = new StreamIdWindow(1000);
    for (let n = 0; n < 5000; n++) expect(window.seen('/g', `s${n % 3}`, idOf(n), 24, n)).toBe(false);
    for (let n = 4500; n < 5000; n++) expect(window.seen('/g', `s${n % 3}`, idOf(n), 24, n)).toBe(true);
    for (let n = 0; n < 50_000; n++) window.seen('/g', `stream-${n}`, idOf(10_000 + n), 24, n);
    expect((window as unknown as { marksCount: number }).marksCount).toBeLessThanOrEqual(2000);
  });
});
