import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../../src/anomaly/nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer } from '../../src/anomaly/scorer.ts';
import { ABLATIONS, SENSITIVITY, ablate } from './ablation.ts';
import { DEFAULT_NAB_DIR } from './corpus.ts';
import { loadCorpus, prepareScored, runDetector, scoreProfiles } from './run.ts';
import { summarise } from './report.ts';
import { PROFILE_NAMES } from './scorer.ts';
import { configOptions } from './split.ts';

describe('the ablation', () => {
  it('runs from the plain set to the weighted set, through distinct configurations', () => {
    expect(ABLATIONS[0]![0]).toBe('plain NAB set');
    expect(ABLATIONS.at(-1)![0]).toBe('weighted NAB set');
    expect(new StreamingAnomalyScorer(configOptions(ABLATIONS.at(-1)![1])).options).toEqual(new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS).options);
    const all = [...ABLATIONS, ...SENSITIVITY].map(([, c]) => JSON.stringify(c));
    expect(new Set(all).size).toBe(all.length);
  });

  it('scores a configuration as a direct run of the scorer does', () => {
    const files = loadCorpus(DEFAULT_NAB_DIR, join(DEFAULT_NAB_DIR, 'labels/combined_windows_tiny.json'));
    const got = ablate(files, ABLATIONS[0]![1]);
    const direct = scoreProfiles(prepareScored(files, files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS)))), PROFILE_NAMES);
    expect(got.scores).toEqual(direct.map((r) => r.normalised));
    const standard = summarise(direct[0]!);
    expect(got.windows).toBe(standard.windowsDetected);
    expect(got.fpRows).toBe(standard.falsePositiveRows);
  });
});
