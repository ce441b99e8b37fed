/**
 * Running a detector over NAB end to end, writing NAB-format results and scores, and summarising
 * them as a table: per profile raw and normalised scores, windows detected and missed, false-positive
 * rows, and the same per category.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { formatScoresCsv } from './corpus.ts';
import { loadCorpus, prepareScored, runDetector, scoreProfiles, type NabFile, type StreamingDetector } from './run.ts';
import type { ProfileName, ProfileResult } from './scorer.ts';

/** Per-category totals at a profile's threshold. */
export interface CategorySummary {
  category: string;
  files: number;
  raw: number;
  windows: number;
  windowsDetected: number;
  falsePositiveRows: number;
}

/** One profile's result with its per-category breakdown. */
export interface ProfileSummary {
  profile: ProfileName;
  threshold: number;
  raw: number;
  normalised: number;
  windows: number;
  windowsDetected: number;
  windowsMissed: number;
  falsePositiveRows: number;
  categories: CategorySummary[];
}

/** What {@link runNab} produced. */
export interface NabRun {
  detector: string;
  files: number;
  rows: number;
  /** wall-clock time spent inside the detector, ms */
  detectMs: number;
  profiles: ProfileSummary[];
  results: ProfileResult[];
}

/**
 * Summarises a profile result per category.
 *
 * @example
 * summarise(scoreCorpus(prepared, PROFILES.standard)).categories
 */
export function summarise(result: ProfileResult): ProfileSummary {
  const byCategory = new Map<string, CategorySummary>();
  for (const f of result.files) {
    const category = f.file.split('/')[0]!;
    let c = byCategory.get(category);
    if (!c) byCategory.set(category, (c = { category, files: 0, raw: 0, windows: 0, windowsDetected: 0, falsePositiveRows: 0 }));
    c.files++;
    c.raw += f.score;
    c.windows += f.windows;
    c.windowsDetected += f.windowsDetected;
    c.falsePositiveRows += f.falsePositiveRows;
  }
  const categories = [...byCategory.values()].sort((a, b) => a.category.localeCompare(b.category));
  const windows = categories.reduce((s, c) => s + c.windows, 0);
  const windowsDetected = categories.reduce((s, c) => s + c.windowsDetected, 0);
  return {
    profile: result.profile,
    threshold: result.threshold,
    raw: result.raw,
    normalised: result.normalised,
    windows,
    windowsDetected,
    windowsMissed: windows - windowsDetected,
    falsePositiveRows: categories.reduce((s, c) => s + c.falsePositiveRows, 0),
    categories,
  };
}

/**
 * Writes one NAB results file per data file: `<out>/<category>/<detector>_<name>.csv` with
 * `timestamp,value,anomaly_score`.
 *
 * @example
 * writeResultsFiles('out', 'fnwatch', files, scores); // out/realKnownCause/fnwatch_nyc_taxi.csv, …
 */
export function writeResultsFiles(outDir: string, detector: string, files: readonly NabFile[], scores: readonly Float64Array[]): void {
  files.forEach((file, k) => {
    const path = join(outDir, dirname(file.name), `${detector}_${basename(file.name)}`);
    mkdirSync(dirname(path), { recursive: true });
    const s = scores[k]!;
    const lines = new Array<string>(s.length + 1);
    lines[0] = 'timestamp,value,anomaly_score';
    for (let i = 0; i < s.length; i++) lines[i + 1] = `${file.series.timestamps[i]},${file.series.values[i]},${s[i]}`;
    writeFileSync(path, lines.join('\n') + '\n');
  });
}

/**
 * Runs a detector over the files a windows file names, writes results and scores under `outDir`,
 * and returns the summary.
 *
 * @example
 * const run = runNab({ dataDir: 'datasets/nab', outDir: 'out', detector: 'fnwatch', make: () => new StreamingAnomalyScorer(), profiles: ['standard'] });
 */
export function runNab(args: {
  dataDir: string;
  windowsPath?: string;
  outDir: string;
  detector: string;
  make: () => StreamingDetector;
  profiles: readonly ProfileName[];
}): NabRun {
  const files = loadCorpus(args.dataDir, args.windowsPath);
  const started = performance.now();
  const scores = files.map((f) => runDetector(f, args.make));
  const detectMs = performance.now() - started;
  mkdirSync(args.outDir, { recursive: true });
  writeResultsFiles(args.outDir, args.detector, files, scores);
  const results = scoreProfiles(prepareScored(files, scores), args.profiles);
  const profiles = results.map(summarise);
  for (const r of results) writeFileSync(join(args.outDir, `${args.detector}_${r.profile}_scores.csv`), formatScoresCsv(args.detector, r.profile, r.files));
  const run: NabRun = {
    detector: args.detector,
    files: files.length,
    rows: files.reduce((s, f) => s + f.times.length, 0),
    detectMs,
    profiles,
    results,
  };
  writeFileSync(
    join(args.outDir, `${args.detector}_scores.json`),
    JSON.stringify({ detector: run.detector, files: run.files, rows: run.rows, detectMs: Math.round(detectMs), profiles, perFile: Object.fromEntries(results.map((r) => [r.profile, r.files])) }, null, 2) + '\n',
  );
  return run;
}

const PROFILE_LABEL: Record<ProfileName, string> = {
  standard: 'standard',
  reward_low_FP_rate: 'low FP',
  reward_low_FN_rate: 'low FN',
};

/**
 * Formats a run as a plain-text table.
 *
 * @example
 * process.stdout.write(formatRun(run));
 */
export function formatRun(run: NabRun): string {
  const out: string[] = [];
  out.push(`${run.detector}: ${run.files} files, ${run.rows} rows, detector time ${(run.detectMs / 1000).toFixed(2)} s`);
  out.push('');
  out.push(`${'profile'.padEnd(10)} ${'threshold'.padStart(9)} ${'raw'.padStart(8)} ${'normalised'.padStart(10)} ${'windows TP/FN'.padStart(14)} ${'FP rows'.padStart(8)}`);
  for (const p of run.profiles) {
    out.push(
      `${PROFILE_LABEL[p.profile].padEnd(10)} ${p.threshold.toFixed(4).padStart(9)} ${p.raw.toFixed(2).padStart(8)} ${p.normalised.toFixed(2).padStart(10)} ${`${p.windowsDetected}/${p.windowsMissed}`.padStart(14)} ${String(p.falsePositiveRows).padStart(8)}`,
    );
  }
  for (const p of run.profiles) {
    out.push('');
    out.push(`${PROFILE_LABEL[p.profile]} by category (threshold ${p.threshold.toFixed(4)}):`);
    out.push(`  ${'category'.padEnd(24)} ${'files'.padStart(5)} ${'raw'.padStart(8)} ${'windows TP/total'.padStart(17)} ${'FP rows'.padStart(8)}`);
    for (const c of p.categories) {
      out.push(
        `  ${c.category.padEnd(24)} ${String(c.files).padStart(5)} ${c.raw.toFixed(2).padStart(8)} ${`${c.windowsDetected}/${c.windows}`.padStart(17)} ${String(c.falsePositiveRows).padStart(8)}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
