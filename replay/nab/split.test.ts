import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../../src/anomaly/nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer } from '../../src/anomaly/scorer.ts';
import { DEFAULT_NAB_DIR } from './corpus.ts';
import { loadCorpus } from './run.ts';
import { configOptions, defaultGrid, splitCheck, type SplitConfig } from './split.ts';

const PLAIN: SplitConfig = { valueHalf: 0.1, derivedHalf: 0.1, recentSpike: null, repeatQuiet: 0 };
const WEIGHTED: SplitConfig = { valueHalf: 0.06, derivedHalf: 0.15, recentSpike: [576, 5], repeatQuiet: 30 };

describe('the held-out split', () => {
  it('has a grid of distinct configurations that holds both shipped sets', () => {
    const grid = defaultGrid();
    expect(grid).toHaveLength(128);
    expect(new Set(grid.map((c) => JSON.stringify(c))).size).toBe(128);
    expect(grid).toContainEqual(PLAIN);
    expect(grid.map((c) => JSON.stringify(configOptions(c)))).toContain(JSON.stringify(configOptions(WEIGHTED)));
  });

  it("builds the shipped sets' options from their knobs", () => {
    expect(new StreamingAnomalyScorer(configOptions(WEIGHTED)).options).toEqual(new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS).options);
    const plain = new StreamingAnomalyScorer(configOptions(PLAIN)).options;
    expect({ ...plain, viewHalfScores: {} }).toEqual(new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS).options);
  });

  it('picks the best configuration on each half and scores it on the other', () => {
    // the two-file subset: one file per half
    const files = loadCorpus(DEFAULT_NAB_DIR, join(DEFAULT_NAB_DIR, 'labels/combined_windows_tiny.json'));
    const results = splitCheck(files, [PLAIN, WEIGHTED]);
    expect(results.map((r) => r.tunedOn)).toEqual(['even', 'odd']);
    for (const r of results) {
      expect([PLAIN, WEIGHTED]).toContainEqual(r.chosen);
      // the grid holds exactly the two shipped sets, so the held-out score is one of theirs, and the oracle the better
      const shipped = r.chosen === PLAIN ? r.plainHeldOutScore : r.weightedHeldOutScore;
      expect(r.heldOutScore).toBeCloseTo(shipped, 9);
      expect(r.oracleHeldOutScore).toBeCloseTo(Math.max(r.plainHeldOutScore, r.weightedHeldOutScore), 9);
      expect(r.tuneScore).toBeGreaterThan(-100);
      expect(r.tuneScore).toBeLessThanOrEqual(100);
    }
  });
});
