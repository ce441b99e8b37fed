import { describe, expect, it } from 'vitest';
import { gaussian, prng } from './testing.ts';
import {
  DEFAULT_ALERT_THRESHOLD,
  LevelNovelty,
  NAB_ANOMALY_OPTIONS,
  RangeNovelty,
  RobustLevel,
  SeasonalProfile,
  StreamingAnomalyScorer,
} from './index.ts';

const T0 = Date.UTC(2024, 0, 1);
const STEP = 300_000; // 5 minutes
const DAY = 86_400_000;

/** A daily sine (mean 50, amplitude 10) plus Gaussian noise, every 5 minutes; `edit` injects anomalies. */
function sineWithNoise(n: number, seed: number, noise = 1, edit: (i: number, x: number) => number = (_, x) => x): number[] {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, i) => edit(i, 50 + 10 * Math.sin((2 * Math.PI * i * STEP) / DAY) + noise * gaussian(rand)));
}

function scoreAll(values: readonly number[], scorer = new StreamingAnomalyScorer()): number[] {
  return values.map((x, i) => scorer.update(T0 + i * STEP, x));
}

describe('RobustLevel', () => {
  it('barely moves for one outlier, and follows a permanent step', () => {
    const level = new RobustLevel(0.1, 0.02, 3);
    const rand = prng(1);
    for (let i = 0; i < 500; i++) level.update(100 + gaussian(rand));
    const before = level.level;
    const scale = level.scale;
    expect(scale).toBeGreaterThan(0.6);
    expect(scale).toBeLessThan(1.0); // mean absolute deviation of N(0,1) ≈ 0.8
    expect(level.update(10_000)).toBeCloseTo(10_000 - before, 6);
    // a Huber step moves the level by at most alpha·k·scale, however large the outlier
    expect(Math.abs(level.level - before)).toBeLessThanOrEqual(0.1 * 3 * scale + 1e-9);
    for (let i = 0; i < 300; i++) level.update(200 + gaussian(rand));
    expect(level.level).toBeGreaterThan(199);
    expect(level.level).toBeLessThan(201);
  });

  it('rejects bad parameters', () => {
    expect(() => new RobustLevel(0, 0.02, 3)).toThrow(/alpha/);
    expect(() => new RobustLevel(0.1, 2, 3)).toThrow(/scaleAlpha/);
    expect(() => new RobustLevel(0.1, 0.02, -1)).toThrow(/huberK/);
  });
});

describe('RangeNovelty and LevelNovelty', () => {
  it('measures exceedance beyond the range in units of the range', () => {
    const r = new RangeNovelty();
    expect([0, 10, 5].map((v) => r.update(v))).toEqual([0, 0, 0]);
    expect(r.update(12)).toBeCloseTo(0.2, 12);
    expect(r.update(-6)).toBeCloseTo(0.5, 12); // 6 below a range now 12 wide
    expect(r.update(3)).toBe(0);
    expect(r.range).toEqual({ min: -6, max: 12 });
  });

  it('flags a level never visited inside the range, once', () => {
    const levels = new LevelNovelty(10, 1, 100);
    // a square wave between 0 and 10 with small noise: the middle levels are never visited
    const rand = prng(2);
    const wave = (i: number) => (Math.floor(i / 20) % 2 === 0 ? 0 : 10) + 0.1 * gaussian(rand);
    for (let i = 0; i < 1000; i++) expect(levels.update(wave(i)), `row ${i}`).toBe(0);
    const plateau = levels.update(5);
    expect(plateau).toBeGreaterThan(0.2);
    expect(levels.update(5.01)).toBe(0); // the level is now known
    expect(levels.update(wave(0))).toBe(0);
  });

  it('falls back to the range when the early values are constant', () => {
    const levels = new LevelNovelty(8, 1, 10);
    for (let i = 0; i < 10; i++) levels.update(3);
    expect(levels.binWidth).toBe(0);
    expect(levels.update(3)).toBe(0);
  });
});

describe('SeasonalProfile', () => {
  it('learns a daily rhythm and shows a missing peak as a residual', () => {
    const profile = new SeasonalProfile({ periodMs: DAY, binMs: 3_600_000 });
    const daily = (i: number) => 50 + 10 * Math.sin((2 * Math.PI * i * STEP) / DAY);
    let lastDayMax = 0;
    for (let i = 0; i < 288 * 7; i++) {
      const r = profile.update(T0 + i * STEP, daily(i));
      if (i >= 288 * 6) lastDayMax = Math.max(lastDayMax, Math.abs(r));
    }
    expect(lastDayMax).toBeLessThan(3.5); // within-hour movement of the sine
    // at the daily peak (6 h in), a flat 50 is ~10 below the profile
    const peak = 288 * 7 + 72;
    expect(profile.update(T0 + peak * STEP, 50)).toBeLessThan(-8);
  });
});

describe('StreamingAnomalyScorer', () => {
  it('gives scores in [0, 1], deterministically', () => {
    const rand = prng(3);
    let walk = 100;
    const values = Array.from({ length: 5000 }, () => (walk += gaussian(rand) * (rand() < 0.01 ? 30 : 1)));
    const a = scoreAll(values);
    const b = scoreAll(values);
    expect(a).toEqual(b);
    for (const s of a) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(a.slice(0, 149).every((s) => s === 0)).toBe(true); // warm-up
    expect(Math.max(...a)).toBeGreaterThan(0);
  });

  it('fires on a clear spike and explains it', () => {
    const values = sineWithNoise(4032, 4, 1, (i, x) => (i === 3000 ? x + 30 : x));
    const scorer = new StreamingAnomalyScorer();
    const scores = values.map((x, i) => {
      const s = scorer.update(T0 + i * STEP, x);
      if (i === 3000) expect(scorer.explain()).toMatchObject({ view: expect.any(String), damped: false, warmingUp: false });
      return s;
    });
    expect(scores[3000]).toBeGreaterThan(0.9);
    expect(Math.max(...scores.slice(300, 3000))).toBeLessThan(DEFAULT_ALERT_THRESHOLD);
    expect(Math.max(...scores.slice(3001))).toBeLessThan(DEFAULT_ALERT_THRESHOLD);
  });

  it('fires on a level shift, then stops alerting on the new level', () => {
    const values = sineWithNoise(4032, 5, 1, (i, x) => (i >= 3000 ? x + 25 : x));
    const scores = scoreAll(values);
    expect(Math.max(...scores.slice(3000, 3003))).toBeGreaterThan(0.9);
    expect(Math.max(...scores.slice(300, 3000))).toBeLessThan(DEFAULT_ALERT_THRESHOLD);
    const alertsAfter = scores.slice(3003).filter((s) => s >= DEFAULT_ALERT_THRESHOLD).length;
    expect(alertsAfter).toBe(0);
  });

  it('fires on a drop far below normal', () => {
    const values = sineWithNoise(4032, 6, 1, (i, x) => (i === 3100 ? x - 40 : x));
    expect(scoreAll(values)[3100]).toBeGreaterThan(0.9);
  });

  it('stays below the alert threshold on clean sine-with-noise series', () => {
    for (const [seed, noise] of [
      [7, 1],
      [8, 1],
      [9, 3],
      [10, 0.3],
    ] as const) {
      const scores = scoreAll(sineWithNoise(8064, seed, noise));
      expect(Math.max(...scores.slice(300)), `seed ${seed}`).toBeLessThan(DEFAULT_ALERT_THRESHOLD);
    }
  });

  it('the NAB set (no Gaussian floor) also catches the spike and the shift', () => {
    const spike = scoreAll(sineWithNoise(4032, 4, 1, (i, x) => (i === 3000 ? x + 30 : x)), new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS));
    expect(spike[3000]).toBeGreaterThan(0.9);
    const shift = scoreAll(sineWithNoise(4032, 5, 1, (i, x) => (i >= 3000 ? x + 25 : x)), new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS));
    expect(Math.max(...shift.slice(3000, 3003))).toBeGreaterThan(0.9);
  });

  it('damps weaker events inside the refractory period, not after it', () => {
    // a big spike up, then a smaller dip 10 points later (novel on the low side, but weaker)
    const values = sineWithNoise(4032, 11, 1, (i, x) => (i === 3000 ? x + 40 : i === 3010 ? x - 25 : i === 3500 ? x - 35 : x));
    const damped = scoreAll(values);
    const undamped = scoreAll(values, new StreamingAnomalyScorer({ damping: 1 }));
    expect(damped[3000]).toBeGreaterThan(0.9);
    expect(undamped[3010]).toBeGreaterThan(0);
    expect(undamped[3010]).toBeLessThan(damped[3000]!);
    expect(damped[3010]).toBeCloseTo(undamped[3010]! * 0.5, 12);
    // 500 points later the refractory period (200) is over: a weaker event is not damped
    expect(undamped[3500]).toBeGreaterThan(0);
    expect(undamped[3500]).toBeLessThan(damped[3000]!);
    expect(damped[3500]).toBe(undamped[3500]);
  });

  it('counts non-finite input without learning it', () => {
    const scorer = new StreamingAnomalyScorer();
    scorer.update(T0, 1);
    expect(scorer.update(T0 + STEP, Number.NaN)).toBe(0);
    expect(scorer.update(Number.NaN, 2)).toBe(0);
    expect(scorer.update(T0 + STEP, Infinity)).toBe(0);
    expect(scorer.rejected).toBe(3);
    expect(scorer.count).toBe(1);
  });

  it('round-trips its state through JSON and continues identically', () => {
    const values = sineWithNoise(6000, 12, 1, (i, x) => (i === 5000 ? x + 30 : x));
    const whole = new StreamingAnomalyScorer();
    const first = new StreamingAnomalyScorer();
    const expected = values.map((x, i) => whole.update(T0 + i * STEP, x));
    values.slice(0, 2500).forEach((x, i) => first.update(T0 + i * STEP, x));
    const restored = StreamingAnomalyScorer.fromJSON(JSON.parse(JSON.stringify(first.toJSON())));
    const rest = values.slice(2500).map((x, i) => restored.update(T0 + (i + 2500) * STEP, x));
    expect(rest).toEqual(expected.slice(2500));
    expect(() => StreamingAnomalyScorer.fromJSON({ version: 2 } as never)).toThrow(/version 1/);
  });

  it('keeps bounded state and runs in well under a microsecond-scale budget per point', () => {
    const scorer = new StreamingAnomalyScorer();
    const rand = prng(13);
    let size10k = 0;
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) {
      scorer.update(T0 + i * STEP, 100 + 20 * Math.sin(i / 50) + gaussian(rand) * (1 + (i % 997 === 0 ? 50 : 0)));
      if (i === 10_000) size10k = JSON.stringify(scorer.toJSON()).length;
    }
    const elapsed = performance.now() - started;
    expect(JSON.stringify(scorer.toJSON()).length).toBeLessThan(size10k * 1.1);
    expect(elapsed).toBeLessThan(2000); // ~10 µs/point allowed; measured ~0.5 µs
  });

  it('rejects unknown or invalid options with the field named', () => {
    expect(() => new StreamingAnomalyScorer({ warmpu: 10 } as never)).toThrow(/unknown anomaly option "warmpu"/);
    expect(() => new StreamingAnomalyScorer({ refractory: -1 })).toThrow(/refractory/);
    expect(() => new StreamingAnomalyScorer({ halfScore: 0 })).toThrow(/halfScore/);
  });
});
