import { describe, expect, it } from 'vitest';
import { prng } from '../detectors/testing/series.ts';
import { LogHistogram } from './log-histogram.ts';

/** The histogram as it was before the windowed storage: all bins in a Float32Array. */
class FullHistogram {
  readonly bins = new Float32Array(56);
  total = 0;
  w = 1;
  constructor(private readonly h: LogHistogram) {}
  add(x: number, weight = 1): void {
    const inc = this.w * weight;
    this.bins[this.h.binOf(x)]! += inc;
    this.total += inc;
    this.w *= Math.pow(2, 1 / 2000);
    if (this.w > 1e20) {
      const s = 1 / this.w;
      for (let i = 0; i < 56; i++) this.bins[i]! *= s;
      this.total *= s;
      this.w *= s;
    }
  }
  quantileBin(q: number): number {
    if (this.total <= 0) return 0;
    const target = q * this.total;
    let acc = 0;
    for (let i = 0; i < 56; i++) {
      acc += this.bins[i]!;
      if (acc >= target) return i;
    }
    return 55;
  }
  fractionAbove(b: number): number {
    if (this.total <= 0) return 0;
    let acc = 0;
    for (let i = b + 1; i < 56; i++) acc += this.bins[i]!;
    return acc / this.total;
  }
}

describe('LogHistogram', () => {
  it('gives exactly the answers of a full float32 histogram while storing only the bins in use', () => {
    const h = new LogHistogram(56, 1, 1.3, 2000);
    const ref = new FullHistogram(h);
    const rand = prng(4);
    const qs = [0, 0.01, 0.5, 0.9, 0.99, 1];
    for (let i = 0; i < 30_000; i++) {
      // Mostly ~100 ms, a slow tail, and a shift half-way (the window grows both ways).
      const x = (i < 15_000 ? 100 : 30) * Math.exp(rand() * 2) + (rand() < 0.01 ? 5000 * rand() : 0);
      const weight = i % 1000 === 0 ? 10 : 1;
      h.add(x, weight);
      ref.add(x, weight);
      if (i % 997 === 0) {
        for (const q of qs) expect(h.quantileBin(q)).toBe(ref.quantileBin(q));
        for (const b of [0, 10, 17, 30, 55]) expect(h.fractionAbove(b)).toBe(ref.fractionAbove(b));
      }
    }
    expect(Array.from(h.bins)).toEqual(Array.from(ref.bins));
    expect(h.count).toBe(ref.total / ref.w);
    const restored = new LogHistogram(56, 1, 1.3, 2000).load(JSON.parse(JSON.stringify(h.toJSON())));
    expect(restored.toJSON()).toEqual(h.toJSON());
    for (const q of qs) expect(restored.quantileBin(q)).toBe(h.quantileBin(q));
  });

  it('answers 0 for an empty histogram and the top bin when rounding never reaches the target', () => {
    const h = new LogHistogram();
    expect(h.quantileBin(0.5)).toBe(0);
    expect(h.fractionAbove(3)).toBe(0);
    h.add(1e9);
    expect(h.quantileBin(0.5)).toBe(55);
    expect(h.quantileBin(2)).toBe(55);
  });
});
