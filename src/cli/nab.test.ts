import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { DEFAULT_NAB_DIR, readResults, readScoresCsv, readSeries, readWindows } from '../../replay/nab/corpus.ts';
import { PROFILES, prepareFile, scoreFile } from '../../replay/nab/scorer.ts';
import { NAB_WEIGHTED_VIEWS_OPTIONS } from '../anomaly/nab-weighted.ts';
import { NAB_ANOMALY_OPTIONS, StreamingAnomalyScorer } from '../anomaly/scorer.ts';
import { loadCorpus, runDetector } from '../../replay/nab/run.ts';
import { nabCommand } from './nab.ts';

const tiny = join(DEFAULT_NAB_DIR, 'labels/combined_windows_tiny.json');
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-nab-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('fnwatch nab', () => {
  it('writes NAB results files, scores CSVs and JSON for a subset', () => {
    const out = tempDir();
    const run = nabCommand({ out, windows: tiny });
    const windows = readWindows(tiny);
    const names = Object.keys(windows).sort();
    expect(run.files).toBe(2);

    for (const name of names) {
      const [category, file] = name.split('/') as [string, string];
      const path = join(out, category, `fnwatch_${file}`);
      const text = readFileSync(path, 'utf8');
      expect(text.split('\n')[0]).toBe('timestamp,value,anomaly_score');
      const results = readResults(path);
      const data = readSeries(join(DEFAULT_NAB_DIR, 'data', name));
      expect(results.timestamps).toEqual(data.timestamps);
      expect(Array.from(results.values)).toEqual(Array.from(data.values));
      for (const s of results.scores) expect(s >= 0 && s <= 1).toBe(true);
      expect(Math.max(...results.scores)).toBeGreaterThan(0);
    }

    const json = JSON.parse(readFileSync(join(out, 'fnwatch_scores.json'), 'utf8'));
    expect(json.profiles.map((p: { profile: string }) => p.profile)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    for (const p of json.profiles) {
      expect(p.windows).toBe(7);
      expect(p.windowsDetected + p.windowsMissed).toBe(7);
      expect(p.normalised).toBeGreaterThan(-100);
      expect(p.normalised).toBeLessThanOrEqual(100);
    }

    // each scores CSV agrees with re-scoring the written results files at its threshold
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const) {
      const rows = readScoresCsv(join(out, `fnwatch_${profile}_scores.csv`));
      expect(rows.map((r) => r.file)).toEqual([...names, '']);
      const totals = rows.at(-1)!;
      expect(totals.detector).toBe('Totals');
      let sum = 0;
      for (const row of rows.slice(0, -1)) {
        const [category, file] = row.file.split('/') as [string, string];
        const r = readResults(join(out, category, `fnwatch_${file}`));
        const again = scoreFile(prepareFile(row.file, r.timestamps, r.scores, windows[row.file]!), PROFILES[profile], row.threshold);
        expect(row.score).toBeCloseTo(again.score, 9);
        expect([row.tp, row.tn, row.fp, row.fn]).toEqual([again.tp, again.tn, again.fp, again.fn]);
        sum += row.score;
      }
      expect(totals.score).toBeCloseTo(sum, 9);
    }
  });

  it('scores only the standard profile when asked', () => {
    const out = tempDir();
    const run = nabCommand({ out, windows: tiny, profile: 'standard', preset: 'default' });
    expect(run.profiles.map((p) => p.profile)).toEqual(['standard']);
    expect(existsSync(join(out, 'fnwatch_standard_scores.csv'))).toBe(true);
    expect(existsSync(join(out, 'fnwatch_reward_low_FP_rate_scores.csv'))).toBe(false);
  });

  it('runs the weighted NAB set by default and the plain one with --preset nab-plain', () => {
    const [file] = loadCorpus(DEFAULT_NAB_DIR, tiny);
    const [category, name] = file!.name.split('/') as [string, string];
    const written = (preset?: string) => {
      const out = tempDir();
      nabCommand({ out, windows: tiny, profile: 'standard', ...(preset ? { preset } : {}) });
      return Array.from(readResults(join(out, category, `fnwatch_${name}`)).scores);
    };
    const weighted = Array.from(runDetector(file!, () => new StreamingAnomalyScorer(NAB_WEIGHTED_VIEWS_OPTIONS)));
    const plain = Array.from(runDetector(file!, () => new StreamingAnomalyScorer(NAB_ANOMALY_OPTIONS)));
    expect(weighted).not.toEqual(plain);
    expect(written()).toEqual(weighted);
    expect(written('nab-plain')).toEqual(plain);
  });

  it('rejects bad options with a usage error', () => {
    const out = tempDir();
    expect(() => nabCommand({ out, windows: tiny, profile: 'strict' })).toThrow(UsageError);
    expect(() => nabCommand({ out, windows: tiny, preset: 'best' })).toThrow(/--preset must be one of nab, nab-plain, default/);
    expect(() => nabCommand({ out, data: out })).toThrow(/does not look like a NAB directory/);
    expect(() => nabCommand({ out, windows: join(out, 'missing.json') })).toThrow(/no windows file/);
  });

  it('exits 2 with one line from the CLI on bad input', async () => {
    const out = tempDir();
    const bin = join(import.meta.dirname, '../../bin/fnwatch.js');
    const run = promisify(execFile);
    const err = await run(process.execPath, [bin, 'nab', '--out', out, '--data', out]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    const stderr = (err as { stderr: string }).stderr.trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^fnwatch: .* does not look like a NAB directory/);
  });
});
