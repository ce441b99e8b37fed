/**
 * Reading and writing the NAB corpus layout: data series, label windows, detector results files
 * (plain or gzipped) and the per-profile scores CSVs. The scorer itself (scorer.ts) stays pure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../../src/core/contracts.ts';
import type { FileScore, ProfileName, Window } from './scorer.ts';

/** The bundled copy of the benchmark (`datasets/nab`), e.g. `join(DEFAULT_NAB_DIR, 'data')`. */
export const DEFAULT_NAB_DIR = join(dirname(new URL(import.meta.url).pathname), '../../datasets/nab');

/** A NAB series: `timestamp,value` rows in file order. */
export interface Series {
  timestamps: string[];
  values: Float64Array;
}

/** A detector results file: the series plus the detector's `anomaly_score` per row. */
export interface ResultsFile extends Series {
  scores: Float64Array;
}

/**
 * Reads a file as text, gunzipping `.gz` files; a missing file is a {@link UsageError}.
 *
 * @example
 * readText('datasets/nab/results/numenta/realAWSCloudwatch/numenta_ec2_cpu_utilization_c6585a.csv.gz')
 */
export function readText(path: string): string {
  if (!existsSync(path)) throw new UsageError(`no such file: ${path}`);
  const buf = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
}

/**
 * Reads `combined_windows.json` (or a subset of it in the same shape).
 *
 * @example
 * readWindows('datasets/nab/labels/combined_windows.json')['realKnownCause/nyc_taxi.csv'].length // 5
 */
export function readWindows(path: string): Record<string, Window[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(path));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${path}: expected an object of file → windows`);
  const out: Record<string, Window[]> = {};
  for (const [file, windows] of Object.entries(parsed)) {
    if (!Array.isArray(windows)) throw new UsageError(`${path}: ${file}: expected an array of windows`);
    out[file] = windows.map((w, i) => {
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'string' || typeof w[1] !== 'string') {
        throw new UsageError(`${path}: ${file}: window ${i} is not a [start, end] pair of timestamps`);
      }
      return [w[0], w[1]] as const;
    });
  }
  return out;
}

/**
 * Reads a CSV with a header into the named columns. Numbers must parse; a bad row is an error naming
 * the file and line, never a silent skip.
 */
function readColumns(path: string, numeric: string[]): { timestamps: string[]; columns: Float64Array[] } {
  const text = readText(path);
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const tsCol = header.indexOf('timestamp');
  if (tsCol < 0) throw new UsageError(`${path}: no timestamp column in header "${lines[0] ?? ''}"`);
  const cols = numeric.map((name) => {
    const c = header.indexOf(name);
    if (c < 0) throw new UsageError(`${path}: no ${name} column in header "${lines[0]}"`);
    return c;
  });
  let n = lines.length - 1;
  while (n > 0 && lines[n]!.trim() === '') n--;
  const timestamps = new Array<string>(n);
  const columns = cols.map(() => new Float64Array(n));
  for (let i = 1; i <= n; i++) {
    const fields = lines[i]!.split(',');
    timestamps[i - 1] = fields[tsCol]!;
    for (let c = 0; c < cols.length; c++) {
      const raw = fields[cols[c]!];
      const v = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`${path}:${i + 1}: ${numeric[c]} "${raw ?? ''}" is not a number`);
      columns[c]![i - 1] = v;
    }
  }
  return { timestamps, columns };
}

/**
 * Reads a data series `timestamp,value`.
 *
 * @example
 * readSeries('datasets/nab/data/realKnownCause/nyc_taxi.csv').values.length // 10320
 */
export function readSeries(path: string): Series {
  const { timestamps, columns } = readColumns(path, ['value']);
  return { timestamps, values: columns[0]! };
}

/**
 * Reads a detector results file (`timestamp,value,anomaly_score,…`), plain or `.gz`.
 *
 * @example
 * readResults('datasets/nab/results/ARTime/realKnownCause/ARTime_nyc_taxi.csv.gz').scores[0]
 */
export function readResults(path: string): ResultsFile {
  const { timestamps, columns } = readColumns(path, ['value', 'anomaly_score']);
  return { timestamps, values: columns[0]!, scores: columns[1]! };
}

/**
 * Where NAB keeps a detector's results for a data file: `<dir>/<category>/<detector>_<name>.csv`;
 * returns the `.gz` sibling when only that exists.
 *
 * @example
 * resultsPath('out', 'fnwatch', 'realKnownCause/nyc_taxi.csv') // 'out/realKnownCause/fnwatch_nyc_taxi.csv'
 */
export function resultsPath(dir: string, detector: string, file: string): string {
  const plain = join(dir, dirname(file), `${detector}_${basename(file)}`);
  if (!existsSync(plain) && existsSync(`${plain}.gz`)) return `${plain}.gz`;
  return plain;
}

/** A row of a NAB `<detector>_<profile>_scores.csv`. */
export interface ScoresRow {
  detector: string;
  profile: string;
  file: string;
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

/**
 * Reads a NAB scores CSV (`Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count`), the
 * `Totals` row included (its file is `''`, detector `'Totals'`).
 *
 * @example
 * readScoresCsv('datasets/nab/results/ARTime/ARTime_standard_scores.csv').at(-1).score // 57.66…
 */
export function readScoresCsv(path: string): ScoresRow[] {
  const lines = readText(path).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const f = line.split(',');
    return {
      detector: f[0]!,
      profile: f[1]!,
      file: f[2]!,
      threshold: Number(f[3]),
      score: Number(f[4]),
      tp: Number(f[5]),
      tn: Number(f[6]),
      fp: Number(f[7]),
      fn: Number(f[8]),
      total: Number(f[9]),
    };
  });
}

/**
 * Formats per-file scores as a NAB scores CSV, with the `Totals` row NAB appends.
 *
 * @example
 * formatScoresCsv('fnwatch', 'standard', result.files)
 */
export function formatScoresCsv(detector: string, profile: ProfileName, files: readonly FileScore[]): string {
  const lines = ['Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count'];
  const sum = { score: 0, tp: 0, tn: 0, fp: 0, fn: 0, total: 0 };
  for (const r of files) {
    lines.push([detector, profile, r.file, r.threshold, r.score, r.tp, r.tn, r.fp, r.fn, r.total].join(','));
    sum.score += r.score;
    sum.tp += r.tp;
    sum.tn += r.tn;
    sum.fp += r.fp;
    sum.fn += r.fn;
    sum.total += r.total;
  }
  lines.push(['Totals', '', '', '', sum.score, sum.tp, sum.tn, sum.fp, sum.fn, sum.total].join(','));
  return lines.join('\n') + '\n';
}
