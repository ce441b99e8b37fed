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

  it('agrees with an exact FIFO model when ids come in runs per stream (as payloads deliver them), through mark pruning', () => {
    let seed = 7;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const window = new StreamIdWindow(50);
    const model = new Model(50);
    const delivered = new Map<string, string[]>(); // per stream, its ids in order (an id belongs to one stream)
    let mismatches = 0;
    let repeats = 0;
    let n = 0;
    for (let run = 0; run < 3000; run++) {
      // A few hot streams, and now and then a new one: 300 streams overflow the marks (2 × 50) and prune them.
      const stream = rand() < 0.1 ? `new-${run}` : `s${Math.floor(rand() * 4)}`;
      const group = stream.length % 2 === 0 ? '/aws/lambda/a' : '/aws/lambda/b';
      const length = 1 + Math.floor(rand() * 12);
      const ids = delivered.get(stream) ?? [];
      delivered.set(stream, ids);
      // A redelivered run repeats the stream's last ids; otherwise fresh, increasing ids.
      const batch = rand() < 0.1 && ids.length > 0 ? ids.slice(-length) : Array.from({ length }, () => idOf(n++));
      if (batch.length === length && ids[ids.length - 1] !== batch[batch.length - 1]) ids.push(...batch);
      for (const id of batch) {
        const expected = model.seen(`${group}|${stream}|${id}`);
        if (expected) repeats++;
        if (window.seen(group, stream, id, 24, 1_700_000_000_000) !== expected) mismatches++;
      }
    }
    expect(repeats).toBeGreaterThan(50);
    expect(mismatches).toBe(0);
    expect((window as unknown as { marksCount: number }).marksCount).toBeLessThanOrEqual(100);
  });

  it('a run of one stream never uses another stream’s mark', () => {
    const window = new StreamIdWindow(100);
    for (let n = 100; n < 110; n++) expect(window.seen('/g', 'a', idOf(n), 24, n)).toBe(false);
    // Stream b starts with older ids (a backfill): its mark is below a's ids.
    for (let n = 1; n < 5; n++) expect(window.seen('/g', 'b', idOf(n), 24, n)).toBe(false);
    // A redelivery on a: above b's mark, below a's, so only a's mark sends it to the lookup.
    expect(window.seen('/g', 'a', idOf(105), 24, 105)).toBe(true);
    expect(window.seen('/h', 'b', idOf(3), 24, 3)).toBe(false); // same stream name, other group: a new stream
  });

  it('catches a whole redelivered batch after a long in-order run, and keeps marks bounded', () => {
    const window = new StreamIdWindow(1000);
    for (let n = 0; n < 5000; n++) expect(window.seen('/g', `s${n % 3}`, idOf(n), 24, n)).toBe(false);
    for (let n = 4500; n < 5000; n++) expect(window.seen('/g', `s${n % 3}`, idOf(n), 24, n)).toBe(true);
    for (let n = 0; n < 50_000; n++) window.seen('/g', `stream-${n}`, idOf(10_000 + n), 24, n);
    expect((window as unknown as { marksCount: number }).marksCount).toBeLessThanOrEqual(2000);
  });
});

describe('repeated lookups of one key (the per-stream run the parsers make)', () => {
  it('GenerationalMap answers a run of gets for one key as a lookup would, across generation flips', () => {
    // Same operations on a GenerationalMap and on a model of its two generations without any shortcut.
    const m = new GenerationalMap<string, number>(4);
    let young = new Map<string, number>();
    let old = new Map<string, number>();
    const modelInsert = (k: string, v: number) => {
      if (young.size >= 4) {
        old = young;
        young = new Map();
      }
      young.set(k, v);
    };
    const modelGet = (k: string) => {
      const v = young.get(k);
      if (v !== undefined) return v;
      const o = old.get(k);
      if (o !== undefined) {
        old.delete(k);
        modelInsert(k, o);
      }
      return o;
    };
    let state = 7;
    const next = () => (state = (state * 48271) % 2147483647);
    let key = 'k0';
    for (let step = 0; step < 20_000; step++) {
      // Mostly the same key as the step before (a stream's run), with sets of other keys in between.
      if (next() % 3 === 0) key = `k${next() % 12}`;
      const other = `k${next() % 12}`;
      if (next() % 3 === 0) {
        const k = next() % 2 === 0 ? key : other;
        m.set(k, step);
        if (young.has(k)) young.set(k, step);
        else {
          old.delete(k);
          modelInsert(k, step);
        }
      }
      expect(m.get(key), `step ${step}`).toBe(modelGet(key));
      expect(m.size).toBe(young.size + old.size);
    }
  });
});
