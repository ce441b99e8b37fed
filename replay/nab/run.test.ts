import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../../src/anomaly/nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer } from '../../src/anomaly/scorer.ts';
import { UsageError } from '../../src/core/contracts.ts';
import { DEFAULT_NAB_DIR, readSeries, readWindows } from './corpus.ts';
import { loadCorpus, parseNabTime, prepareScored, runDetector, scoreProfiles } from './run.ts';
import { summarise } from './report.ts';

const scratch = mkdtempSync(join(tmpdir(), 'fnwatch-nab-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('NAB corpus input', () => {
  it('parses NAB timestamps as UTC', () => {
    expect(parseNabTime('2014-04-01 00:05:00')).toBe(Date.UTC(2014, 3, 1, 0, 5));
    expect(() => parseNabTime('yesterday')).toThrow(UsageError);
  });

  it('names the file and line of a bad value, and a bad windows file', () => {
    const bad = join(scratch, 'bad.csv');
    writeFileSync(bad, 'timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,oops\n');
    expect(() => readSeries(bad)).toThrow(/bad\.csv:3: value "oops" is not a number/);
    const noValue = join(scratch, 'novalue.csv');
    writeFileSync(noValue, 'timestamp,v\n');
    expect(() => readSeries(noValue)).toThrow(/no value column/);
    const windows = join(scratch, 'w.json');
    writeFileSync(windows, '{"a.csv": [["2014-01-01 00:00:00"]]}');
    expect(() => readWindows(windows)).toThrow(/window 0 is not a \[start, end\] pair/);
    writeFileSync(windows, '[1, 2]');
    expect(() => readWindows(windows)).toThrow(/expected an object/);
  });

  it('rejects a windows file naming a missing data file, and a detector scoring outside [0, 1]', () => {
    const dir = join(scratch, 'nab');
    mkdirSync(join(dir, 'data/cat'), { recursive: true });
    mkdirSync(join(dir, 'labels'), { recursive: true });
    writeFileSync(join(dir, 'labels/combined_windows.json'), '{"cat/missing.csv": []}');
    expect(() => loadCorpus(dir)).toThrow(/no such file: .*missing\.csv/);
    writeFileSync(join(dir, 'labels/combined_windows.json'), '{"cat/a.csv": []}');
    writeFileSync(join(dir, 'data/cat/a.csv'), 'timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,2\n');
    const [file] = loadCorpus(dir);
    expect(() => runDetector(file!, () => ({ update: () => 1.5 }))).toThrow(/row 0: detector returned 1.5/);
  });
});

describe('the anomaly core on NAB', () => {
  it('scores the whole corpus with the NAB set in seconds, above the published HTM and CAD OSE standard scores', () => {
    const files = loadCorpus(DEFAULT_NAB_DIR);
    const started = performance.now();
    const scores = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS)));
    const detectMs = performance.now() - started;
    expect(detectMs).toBeLessThan(10_000);
    const [standard, lowFp, lowFn] = scoreProfiles(prepareScored(files, scores), ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    // published: numenta 70.10 / 63.12 / 74.32, contextOSE 69.90 / 66.98 / 73.18 (results/final_results.json)
    expect(standard!.normalised).toBeGreaterThan(70.1);
    expect(lowFp!.normalised).toBeGreaterThan(60);
    expect(lowFn!.normalised).toBeGreaterThan(74.32);
    const summary = summarise(standard!);
    expect(summary.windows).toBe(116);
    expect(summary.windowsDetected).toBeGreaterThan(95);
    expect(summary.categories.map((c) => c.category)).toContain('realAWSCloudwatch');
  });

  it('with weighted views scores above every published detector on the standard and low-FP profiles', () => {
    const files = loadCorpus(DEFAULT_NAB_DIR);
    const scores = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS)));
    const plain = files.map((f) => runDetector(f, () => new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS)));
    const profiles = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
    const [standard, lowFp, lowFn] = scoreProfiles(prepareScored(files, scores), profiles);
    const [plainStandard, plainLowFp, plainLowFn] = scoreProfiles(prepareScored(files, plain), profiles);
    // published (results/final_results.json): ARTime 74.85 / 65.15 / 80.36, contextOSE 69.90 / 66.98 / 73.18
    expect(standard!.normalised).toBeGreaterThan(74.85);
    expect(lowFp!.normalised).toBeGreaterThan(66.98);
    expect(lowFn!.normalised).toBeGreaterThan(80);
    // and above the plain NAB set on every profile
    expect(standard!.normalised).toBeGreaterThan(plainStandard!.normalised);
    expect(lowFp!.normalised).toBeGreaterThan(plainLowFp!.normalised);
    expect(lowFn!.normalised).toBeGreaterThan(plainLowFn!.normalised);
    expect(summarise(standard!).windowsDetected).toBeGreaterThan(summarise(plainStandard!).windowsDetected);
  });

  it('reads the tiny windows file as a two-file subset', () => {
    const tiny = loadCorpus(DEFAULT_NAB_DIR, join(DEFAULT_NAB_DIR, 'labels/combined_windows_tiny.json'));
    expect(tiny.map((f) => f.name)).toEqual(['realKnownCause/nyc_taxi.csv', 'realKnownCause/rogue_agent_key_hold.csv']);
    expect(tiny.reduce((s, f) => s + f.windows.length, 0)).toBe(7);
  });
});
