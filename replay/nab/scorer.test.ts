import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_NAB_DIR, readResults, readScoresCsv, readText, readWindows, resultsPath } from './corpus.ts';
import {
  PROFILE_NAMES,
  PROFILES,
  normaliseScore,
  normaliseTimestamp,
  optimiseThreshold,
  prepareFile,
  probationLength,
  rowWeight,
  scaledSigmoid,
  scoreCorpus,
  scoreFile,
  sweepThresholds,
  type PreparedFile,
} from './scorer.ts';

const windows = readWindows(join(DEFAULT_NAB_DIR, 'labels/combined_windows.json'));
const corpusFiles = Object.keys(windows).sort();

/** `n` rows one minute apart from 2014-01-01 00:00, as NAB timestamps. */
function minutes(n: number): string[] {
  const start = Date.UTC(2014, 0, 1);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 60_000).toISOString().slice(0, 19).replace('T', ' '));
}

describe('NAB scoring primitives', () => {
  it('scaled sigmoid has the reference values', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });

  it('probation is 15 % of the rows, at most 750', () => {
    expect(probationLength(4032)).toBe(604);
    expect(probationLength(1000)).toBe(150);
    expect(probationLength(22695)).toBe(750);
  });

  it('normalises window timestamps to the data rows’ form', () => {
    expect(normaliseTimestamp('2014-02-26 13:45:00.000000')).toBe('2014-02-26 13:45:00');
    expect(normaliseTimestamp('2014-02-26T13:45:00Z')).toBe('2014-02-26 13:45:00');
    expect(normaliseTimestamp('2014-02-26 13:45:00')).toBe('2014-02-26 13:45:00');
  });

  it('rejects windows that do not land on rows or are out of order', () => {
    const ts = minutes(100);
    const scores = new Float64Array(100);
    expect(() => prepareFile('f.csv', ts, scores, [['2013-01-01 00:00:00', ts[10]!]])).toThrow(/window start 2013/);
    expect(() => prepareFile('f.csv', ts, scores, [[ts[50]!, ts[60]!], [ts[40]!, ts[45]!]])).toThrow(/overlaps or precedes/);
    expect(() => prepareFile('f.csv', ts, scores.subarray(1), [])).toThrow(/100 timestamps but 99 scores/);
  });
});

describe('NAB scoring on a hand-built file', () => {
  // 200 rows: probation 30; one window over rows 100..119 (width 20).
  const ts = minutes(200);
  const build = (fire: number[]): PreparedFile => {
    const scores = new Float64Array(200);
    for (const i of fire) scores[i] = 0.9;
    return prepareFile('cat/f.csv', ts, scores, [[`${ts[100]}.000000`, `${ts[119]}.000000`]]);
  };

  it('rewards the first row of a window with tpWeight and later rows with less', () => {
    const first = scoreFile(build([100]), PROFILES.standard, 0.5);
    expect(first.score).toBeCloseTo(1, 12);
    expect(first).toMatchObject({ tp: 1, fp: 0, fn: 19, tn: 150, total: 170, windowsDetected: 1 });
    const last = scoreFile(build([119]), PROFILES.standard, 0.5).score;
    expect(last).toBeCloseTo(scaledSigmoid(-1 / 20) / scaledSigmoid(-1), 12);
    expect(last).toBeLessThan(first.score);
    // more detections inside the window are free: only the best one counts
    expect(scoreFile(build([100, 105, 119]), PROFILES.standard, 0.5).score).toBeCloseTo(1, 12);
  });

  it('charges a missed window fnWeight and false positives by distance past the window', () => {
    expect(scoreFile(build([]), PROFILES.standard, 0.5).score).toBe(-1);
    expect(scoreFile(build([]), PROFILES.reward_low_FN_rate, 0.5).score).toBe(-2);
    // before any window: the full fpWeight
    expect(scoreFile(build([50]), PROFILES.standard, 0.5).score).toBeCloseTo(-1 - 0.11, 12);
    expect(scoreFile(build([50]), PROFILES.reward_low_FP_rate, 0.5).score).toBeCloseTo(-1 - 0.22, 12);
    // just after the window: nearly free; far after: full cost
    const near = scoreFile(build([120]), PROFILES.standard, 0.5).score + 1;
    expect(near).toBeCloseTo(0.11 * scaledSigmoid(1 / 19), 12);
    expect(near).toBeGreaterThan(-0.11 / 2);
    expect(scoreFile(build([199]), PROFILES.standard, 0.5).score).toBeCloseTo(-1 - 0.11, 12);
    // probationary rows never count
    expect(scoreFile(build([10]), PROFILES.standard, 0.5).score).toBe(-1);
  });

  it('sweeps thresholds from 1.1 down and optimises to the highest best threshold', () => {
    const scores = new Float64Array(200);
    scores[100] = 0.8; // the window's first row
    scores[110] = 0.6; // inside again: free
    scores[180] = 0.4; // a far false positive
    const f = prepareFile('cat/f.csv', ts, scores, [[ts[100]!, ts[119]!]]);
    const steps = sweepThresholds([f], PROFILES.standard);
    // every other row scores 0, so the last step detects everything
    expect(steps.map((s) => s.threshold)).toEqual([1.1, 0.8, 0.6, 0.4, 0]);
    expect(steps.slice(0, 4).map((s) => s.score)).toEqual([-1, 1, 1, 1 - 0.11]);
    expect(steps[4]).toMatchObject({ tp: 20, fn: 0, fp: 150, tn: 0 });
    expect(steps[4]!.score).toBeLessThan(-10);
    // 0.8 and 0.6 tie: NAB keeps the first, the higher threshold
    expect(optimiseThreshold([f], PROFILES.standard)).toEqual({ threshold: 0.8, score: 1 });
    const r = scoreCorpus([f], PROFILES.standard);
    expect(r.normalised).toBeCloseTo(100, 12);
    expect(normaliseScore(-1, PROFILES.standard, 1)).toBe(0);
  });
});

describe('NAB scorer reproduces the published results', () => {
  const artime = corpusFiles.map((file) => {
    const r = readResults(resultsPath(join(DEFAULT_NAB_DIR, 'results/ARTime'), 'ARTime', file));
    return prepareFile(file, r.timestamps, r.scores, windows[file]!);
  });
  const published = { standard: 74.85377223215792, reward_low_FP_rate: 65.15400017974811, reward_low_FN_rate: 80.36228493638114 };

  it('finds 58 files and 116 windows', () => {
    expect(artime).toHaveLength(58);
    expect(artime.reduce((s, f) => s + f.windows, 0)).toBe(116);
    expect(artime.reduce((s, f) => s + f.rows, 0)).toBe(365_558);
  });

  it.each(PROFILE_NAMES)('ARTime %s: threshold, per-file scores, row counts and total', (profile) => {
    const result = scoreCorpus(artime, PROFILES[profile]);
    const rows = readScoresCsv(join(DEFAULT_NAB_DIR, `results/ARTime/ARTime_${profile}_scores.csv`));
    const totals = rows.find((r) => r.detector === 'Totals')!;
    const perFile = rows.filter((r) => r.detector !== 'Totals');
    expect(perFile).toHaveLength(58);
    for (const row of perFile) {
      const mine = result.files.find((f) => f.file === row.file)!;
      expect(Math.abs(mine.score - row.score), row.file).toBeLessThan(1e-9);
      expect([mine.tp, mine.tn, mine.fp, mine.fn, mine.total], row.file).toEqual([row.tp, row.tn, row.fp, row.fn, row.total]);
      expect(mine.threshold).toBe(row.threshold);
    }
    expect(result.raw).toBeCloseTo(totals.score, 9);
    expect(result.normalised).toBeCloseTo(published[profile], 9);
  });

  it('ARTime per-row S(t) columns equal the scorer’s row weights', () => {
    const columns = PROFILE_NAMES.map((p) => `S(t)_${p}`);
    let checked = 0;
    for (const f of artime) {
      const lines = readText(resultsPath(join(DEFAULT_NAB_DIR, 'results/ARTime'), 'ARTime', f.name)).trimEnd().split('\n');
      const header = lines[0]!.split(',');
      const idx = columns.map((c) => header.indexOf(c));
      for (let i = 0; i < f.rows; i++) {
        const fields = lines[i + 1]!.split(',');
        for (let p = 0; p < PROFILE_NAMES.length; p++) {
          const expected = Number(fields[idx[p]!]);
          const mine = rowWeight(f, i, PROFILES[PROFILE_NAMES[p]!]);
          if (Math.abs(mine - expected) > 1e-9) throw new Error(`${f.name} row ${i} ${columns[p]}: ${mine} vs ${expected}`);
          checked++;
        }
      }
    }
    expect(checked).toBe(3 * 365_558);
  });

  it.each(PROFILE_NAMES)('numenta %s on realAWSCloudwatch at the published threshold', (profile) => {
    const rows = readScoresCsv(join(DEFAULT_NAB_DIR, `results/numenta/numenta_${profile}_scores.csv`)).filter((r) =>
      r.file.startsWith('realAWSCloudwatch/'),
    );
    expect(rows).toHaveLength(17);
    for (const row of rows) {
      const r = readResults(resultsPath(join(DEFAULT_NAB_DIR, 'results/numenta'), 'numenta', row.file));
      const f = prepareFile(row.file, r.timestamps, r.scores, windows[row.file]!);
      const mine = scoreFile(f, PROFILES[profile], row.threshold);
      expect(Math.abs(mine.score - row.score), row.file).toBeLessThan(1e-6);
      // this older scores file counts every row in Total_Count, probation included
      expect([mine.tp, mine.fp], row.file).toEqual([row.tp, row.fp]);
      expect(row.total).toBe(f.rows);
    }
  });
});
