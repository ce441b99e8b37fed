import { describe, expect, it } from 'vitest';
import { binomialLogTail, logGamma, overdispersedLogTail, poissonLogTail } from './stats.ts';

describe('count-model tails', () => {
  it('logGamma matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 10);
    expect(logGamma(6)).toBeCloseTo(Math.log(120), 10);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 8);
  });

  it('poisson tail matches direct summation', () => {
    const direct = (k: number, l: number) => {
      let s = 0;
      let term = Math.exp(-l);
      for (let i = 0; i < 400; i++) {
        if (i >= k) s += term;
        term *= l / (i + 1);
      }
      return s;
    };
    for (const [k, l] of [[10, 1], [30, 5], [3, 0.01], [200, 100]] as const) {
      expect(Math.exp(poissonLogTail(k, l))).toBeCloseTo(direct(k, l), 12);
    }
    expect(poissonLogTail(0, 3)).toBe(0);
    expect(poissonLogTail(2, 5)).toBe(0);
  });

  it('binomial tail matches the closed form', () => {
    expect(Math.exp(binomialLogTail(4, 4, 0.01))).toBeCloseTo(1e-8, 14);
    expect(Math.exp(binomialLogTail(1, 3, 0.5))).toBeCloseTo(0.875, 12);
    expect(binomialLogTail(5, 4, 0.5)).toBe(-Infinity);
  });

  it('over-dispersion makes the same count less surprising', () => {
    expect(overdispersedLogTail(60, 20, 5)).toBeGreaterThan(overdispersedLogTail(60, 20, 1));
  });
});
