import { describe, expect, it } from 'vitest';
import { diagnose } from './diagnose.ts';
import { prepareFile } from './scorer.ts';

/** `n` rows every 5 minutes from 2014-01-01, as NAB timestamps. */
function timestamps(n: number): string[] {
  return Array.from({ length: n }, (_, i) => new Date(Date.UTC(2014, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' '));
}

describe('diagnose', () => {
  it('splits a score into window rewards, false-positive costs, misses and views', () => {
    const ts = timestamps(2000);
    // probation is 300 rows; windows at 1000..1099 and 1500..1599
    const windows = [[ts[1000]!, ts[1099]!] as const, [ts[1500]!, ts[1599]!] as const];
    const scores = new Float64Array(2000);
    scores[1000] = 0.9; // first row of the first window: the full reward
    scores[1050] = 0.9; // later in the same window: free
    scores[400] = 0.9; // a false positive before any window: costs 0.11
    scores[405] = 0.9; // and another, 5 rows after it
    scores[100] = 0.9; // in probation: ignored
    const views = [Array.from({ length: 2000 }, (_, i) => (i === 400 || i === 405 ? 'spike' : i === 1000 ? 'level' : null))];
    const d = diagnose([prepareFile('cat/a.csv', ts, scores, windows)], views);
    expect(d.threshold).toBe(0.9);
    expect(d.windowsDetected).toBe(1);
    expect(d.windowsMissed).toBe(1);
    expect(d.missed).toEqual(['cat/a.csv rows 1500..1599']);
    expect(d.windowReward).toBeCloseTo(1, 9);
    expect(d.falsePositiveRows).toBe(2);
    expect(d.falsePositiveCost).toBeCloseTo(-0.22, 9);
    expect(d.falsePositivesRightAfterDetection).toBe(1);
    expect(d.byView).toEqual({ spike: { falsePositiveRows: 2, firstDetections: 0 }, level: { falsePositiveRows: 0, firstDetections: 1 } });
    // raw = 1 − 1 − 0.22 over 2 windows: normalised 100·(raw + 2)/4
    expect(d.normalised).toBeCloseTo((100 * (1 - 1 - 0.22 + 2)) / 4, 9);
  });
});
