/**
 * Running a streaming detector over the NAB corpus and scoring it: load the series named by a
 * windows file, feed each row to a fresh detector in order, collect one score per row, and score
 * with the NAB scorer under each profile.
 */
import { join } from 'node:path';
import { UsageError } from '../../src/core/contracts.ts';
import { readSeries, readWindows, type Series } from './corpus.ts';
import { PROFILES, prepareFile, scoreCorpus, type PreparedFile, type ProfileName, type ProfileResult, type Window } from './scorer.ts';

/** One NAB data file with its labelled windows. */
export interface NabFile {
  /** `category/name.csv`, as in `combined_windows.json` */
  name: string;
  category: string;
  series: Series;
  /** epoch ms per row, parsed from the timestamps as UTC */
  times: Float64Array;
  windows: Window[];
}

/** A streaming detector: one call per row, in order; returns the row's anomaly score in [0, 1]. */
export interface StreamingDetector {
  update(t: number, x: number): number;
}

/**
 * Parses a NAB timestamp (`YYYY-MM-DD HH:MM:SS`, taken as UTC) to epoch ms.
 *
 * @example
 * parseNabTime('2014-04-01 00:05:00') // 1396310700000
 */
export function parseNabTime(ts: string): number {
  const t = Date.parse(`${ts.trim().replace(' ', 'T')}Z`);
  if (Number.isNaN(t)) throw new UsageError(`bad timestamp "${ts}"`);
  return t;
}

/**
 * Loads the data files that a windows file names, in sorted order.
 *
 * @example
 * const files = loadCorpus('datasets/nab'); // 58 files
 * const tiny = loadCorpus('datasets/nab', 'datasets/nab/labels/combined_windows_tiny.json'); // 2 files
 */
export function loadCorpus(dataDir: string, windowsPath = join(dataDir, 'labels/combined_windows.json')): NabFile[] {
  const windows = readWindows(windowsPath);
  return Object.keys(windows)
    .sort()
    .map((name) => {
      const series = readSeries(join(dataDir, 'data', name));
      const times = new Float64Array(series.timestamps.length);
      for (let i = 0; i < times.length; i++) {
        try {
          times[i] = parseNabTime(series.timestamps[i]!);
        } catch (err) {
          throw new UsageError(`${name}:${i + 2}: ${(err as Error).message}`);
        }
      }
      return { name, category: name.split('/')[0]!, series, times, windows: windows[name]! };
    });
}

/**
 * Runs a fresh detector over one file and returns its scores. Non-finite or out-of-range outputs are
 * a bug in the detector and throw, so a bad score is never written or scored.
 *
 * @example
 * const scores = runDetector(file, () => new StreamingAnomalyScorer());
 */
export function runDetector(file: NabFile, makeDetector: () => StreamingDetector): Float64Array {
  const detector = makeDetector();
  const n = file.times.length;
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = detector.update(file.times[i]!, file.series.values[i]!);
    if (!(s >= 0 && s <= 1)) throw new Error(`${file.name} row ${i}: detector returned ${s}, outside [0, 1]`);
    scores[i] = s;
  }
  return scores;
}

/**
 * Prepares detector scores for the scorer, one array per file in the same order.
 *
 * @example
 * const prepared = prepareScored(files, files.map((f) => runDetector(f, make)));
 */
export function prepareScored(files: readonly NabFile[], scores: readonly Float64Array[]): PreparedFile[] {
  return files.map((f, i) => prepareFile(f.name, f.series.timestamps, scores[i]!, f.windows));
}

/**
 * Scores prepared files under the given profiles (threshold optimised per profile, pooled).
 *
 * @example
 * scoreProfiles(prepared, ['standard'])[0].normalised
 */
export function scoreProfiles(prepared: readonly PreparedFile[], profiles: readonly ProfileName[]): ProfileResult[] {
  return profiles.map((p) => scoreCorpus(prepared, PROFILES[p]));
}
