import { describe, expect, it } from 'vitest';
import { gaussian, prng } from './testing.ts';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from './nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer, type AnomalyScorerState, type StreamingAnomalyOptions } from './scorer.ts';

const T0 = Date.UTC(2024, 0, 1);
const STEP = 300_000; // 5 minutes

/** Level 50 with unit Gaussian noise; `bumps` adds a value at given rows. */
function noisy(n: number, seed: number, bumps: Record<number, number> = {}): number[] {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, i) => 50 + gaussian(rand) + (bumps[i] ?? 0));
}

function run(values: readonly number[], options: Partial<StreamingAnomalyOptions>) {
  const scorer = new StreamingAnomalyScorer(options);
  return values.map((x, i) => {
    const score = scorer.update(T0 + i * STEP, x);
    const explained = scorer.explain();
    expect(explained.score).toBe(score);
    return explained;
  });
}

describe('per-view half-scores', () => {
  it('equal to halfScore for every view, they give exactly the plain scores', () => {
    const values = noisy(3000, 1, { 400: 12, 900: -9, 1500: 20, 2200: 6 });
    const plain = run(values, NAB_ANOMALY_OPTIONS).map((r) => r.score);
    const h = NAB_ANOMALY_OPTIONS.halfScore;
    const explicit = run(values, { ...NAB_ANOMALY_OPTIONS, viewHalfScores: { level: h, spike: h, volatility: h, seasonal: h } }).map((r) => r.score);
    expect(explicit).toEqual(plain);
    expect(Math.max(...plain)).toBeGreaterThan(0.5); // the bumps were scored, so the comparison meant something
  });

  it("map each view's novelty by that view's half-score", () => {
    const values = noisy(2000, 2, { 700: 15, 1400: -12 });
    const rows = run(values, { ...NAB_ANOMALY_OPTIONS, refractory: 0, viewHalfScores: { spike: 0.05, level: 0.2, volatility: 0.3, seasonal: 0.3 } });
    const half = { spike: 0.05, level: 0.2, volatility: 0.3, seasonal: 0.3, 'recent-spike': 0.1 } as const;
    let checked = 0;
    for (const r of rows) {
      if (!r.view) continue;
      expect(r.score).toBeCloseTo(r.novelty / (r.novelty + half[r.view]), 12);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    expect(rows[700]!.view).toBe('spike');
    expect(rows[700]!.score).toBeGreaterThan(0.9);
  });

  it('a large half-score mutes a view: a noise burst then scores lower, and next to nothing from volatility', () => {
    const rand = prng(3);
    // unit noise, then 150 points of 4× noise: a volatility record
    const values = Array.from({ length: 3000 }, (_, i) => 50 + (i >= 2000 && i < 2150 ? 4 : 1) * gaussian(rand));
    const plain = run(values, NAB_ANOMALY_OPTIONS);
    const muted = run(values, { ...NAB_ANOMALY_OPTIONS, viewHalfScores: { volatility: 1e9 } });
    expect(plain.slice(2000, 2300).some((r) => r.view === 'volatility')).toBe(true);
    // a muted view can still be the only novel one, but then it scores next to nothing
    expect(Math.max(...muted.filter((r) => r.view === 'volatility').map((r) => r.score))).toBeLessThan(1e-6);
    for (let i = 0; i < values.length; i++) expect(muted[i]!.score, `row ${i}`).toBeLessThanOrEqual(plain[i]!.score + 1e-12);
  });
});

describe('repeat quiet', () => {
  // a spike up, then 10 points later a weaker (but still novel) spike down
  const values = noisy(2000, 4, { 1000: 30, 1010: -20, 1100: -40 });

  it('zeroes a weaker event within the quiet period, where plain damping only halves it', () => {
    const plain = run(values, NAB_ANOMALY_OPTIONS);
    const quiet = run(values, { ...NAB_ANOMALY_OPTIONS, repeatQuiet: 30 });
    expect(plain[1000]!.score).toBeGreaterThan(0.9);
    expect(quiet[1000]!.score).toBe(plain[1000]!.score);
    expect(plain[1010]!.damped).toBe(true);
    expect(plain[1010]!.score).toBeGreaterThan(0.2);
    expect(quiet[1010]!.damped).toBe(true);
    expect(quiet[1010]!.score).toBe(0);
  });

  it('lets a stronger event through, and damps (not zeroes) after the quiet period', () => {
    const values = noisy(2000, 4, { 1000: 12, 1005: 60, 1100: -40 });
    const quiet = run(values, { ...NAB_ANOMALY_OPTIONS, repeatQuiet: 30 });
    expect(quiet[1005]!.damped).toBe(false);
    expect(quiet[1005]!.score).toBeGreaterThan(quiet[1000]!.score);
    // row 1100 is past the 30-point quiet but inside the 200-point refractory period
    expect(quiet[1100]!.damped).toBe(true);
    expect(quiet[1100]!.score).toBeGreaterThan(0.2);
  });
});

describe('the recent-spike view', () => {
  // A slow excursion to +40 and back (every level from 50 to 90 visited), a +40 spike (the spike record),
  // then, long after, a +20 spike: on a visited level and inside the all-time spike range, but far
  // beyond anything of the last two days.
  const rand = prng(5);
  const excursion = (i: number) => (i >= 300 && i < 1300 ? 40 * (1 - Math.abs(i - 800) / 500) : 0);
  const values = Array.from({ length: 4000 }, (_, i) => 50 + gaussian(rand) + excursion(i) + (i === 1500 ? 40 : 0) + (i === 3000 ? 20 : 0));

  it('scores a spike that the all-time record hides', () => {
    const plain = run(values, NAB_ANOMALY_OPTIONS);
    const recent = run(values, { ...NAB_ANOMALY_OPTIONS, recentSpikeWindow: 576, viewHalfScores: { 'recent-spike': 5 } });
    expect(plain[1500]!.score).toBeGreaterThan(0.9);
    expect(plain[3000]!.score).toBeLessThan(0.05);
    expect(recent[3000]!.view).toBe('recent-spike');
    expect(recent[3000]!.score).toBeGreaterThan(0.3);
    // ordinary noise does not set recent records worth a score
    const otherRecent = recent.filter((r, i) => r.view === 'recent-spike' && i !== 3000);
    expect(otherRecent.length).toBeGreaterThan(0);
    expect(Math.max(...otherRecent.map((r) => r.score))).toBeLessThan(0.05);
  });

  it('is off by default, and its state survives a snapshot', () => {
    const off = new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS).toJSON();
    expect(off.recentSpike).toBeNull();
    const a = new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS);
    values.slice(0, 2500).forEach((x, i) => a.update(T0 + i * STEP, x));
    const b = StreamingAnomalyScorer.fromJSON(JSON.parse(JSON.stringify(a.toJSON())) as AnomalyScorerState);
    for (let i = 2500; i < values.length; i++) expect(b.update(T0 + i * STEP, values[i]!)).toBe(a.update(T0 + i * STEP, values[i]!));
  });

  it('restores a state written before the view existed, and rejects a state that lacks it', () => {
    const a = new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS);
    values.slice(0, 1000).forEach((x, i) => a.update(T0 + i * STEP, x));
    const old = JSON.parse(JSON.stringify(a.toJSON())) as AnomalyScorerState & Record<string, unknown>;
    delete old.recentSpike;
    for (const key of ['viewHalfScores', 'repeatQuiet', 'recentSpikeWindow']) delete (old.options as unknown as Record<string, unknown>)[key];
    const b = StreamingAnomalyScorer.fromJSON(old);
    for (let i = 1000; i < 1500; i++) expect(b.update(T0 + i * STEP, values[i]!)).toBe(a.update(T0 + i * STEP, values[i]!));
    const lacking = { ...old, options: { ...old.options, recentSpikeWindow: 576 } } as AnomalyScorerState;
    expect(() => StreamingAnomalyScorer.fromJSON(lacking)).toThrow(/recent-spike state does not match/);
  });
});

describe('NAB_WEIGHTED_VIEWS_OPTIONS', () => {
  it('is the NAB set plus the three options, frozen and valid', () => {
    expect(Object.isFrozen(NAB_WEIGHTED_VIEWS_OPTIONS)).toBe(true);
    const changed = Object.keys(NAB_WEIGHTED_VIEWS_OPTIONS).filter(
      (k) => JSON.stringify(NAB_WEIGHTED_VIEWS_OPTIONS[k as keyof StreamingAnomalyOptions]) !== JSON.stringify(NAB_ANOMALY_OPTIONS[k as keyof StreamingAnomalyOptions]),
    );
    expect(changed.sort()).toEqual(['recentSpikeWindow', 'repeatQuiet', 'viewHalfScores']);
    expect(new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS).options.viewHalfScores['recent-spike']).toBe(5);
  });

  it('bad values of the new options fail naming the option', () => {
    expect(() => new StreamingAnomalyScorer({ viewHalfScores: { bogus: 1 } as never })).toThrow(/anomaly option viewHalfScores/);
    expect(() => new StreamingAnomalyScorer({ viewHalfScores: { spike: 0 } })).toThrow(/anomaly option viewHalfScores/);
    expect(() => new StreamingAnomalyScorer({ repeatQuiet: -1 })).toThrow(/anomaly option repeatQuiet/);
    expect(() => new StreamingAnomalyScorer({ recentSpikeWindow: 1 })).toThrow(/anomaly option recentSpikeWindow/);
    expect(() => new StreamingAnomalyScorer({ recentSpikeWindow: 2.5 })).toThrow(/anomaly option recentSpikeWindow/);
  });
});
