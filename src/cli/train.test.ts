import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, type LabelsFile } from '../../datasets/generator/generate.ts';
import type { Alert } from '../core/alert.ts';
import { BASELINE_SCHEMA, loadBaseline } from '../profiler/snapshot.ts';
import type { TrainSummary } from './train.ts';

const BIN = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fnwatch-train-cli-'));
const ds = join(root, 'ds');
const kinesis = join(ds, 'kinesis');
let labels: LabelsFile;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fnwatch(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

function readAlerts(path: string): Alert[] {
  const text = readFileSync(path, 'utf8').trim();
  return text ? text.split('\n').map((l) => JSON.parse(l) as Alert) : [];
}

/**
 * The set-novelty detectors judge each event against the learned sets alone, so a restored baseline
 * must give them exactly the same verdicts. (Rate detectors are not held to it: the snapshot does
 * not carry the rate model's open hour and 60-minute ring, so dormant-wakeup can differ just after
 * a restore.)
 */
const NOVELTY = new Set(['new-egress-host', 'new-resource-access']);
const key = (a: Alert) => `${a.time} ${a.resources[0]?.name} ${a.finding_info.types[0]} ${a.finding_info.desc}`;

beforeAll(async () => {
  ({ labels } = await generateDataset({ seed: 21, out: ds, days: 3, functions: 8, scale: 0.1, attacks: ['exfiltration', 'secret-grab', 'imds-access'] }));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fnwatch train', () => {
  it('learns the first part; replay --baseline of the rest alerts as one continuous replay does', async () => {
    const split = String(labels.learningEnd);
    const base = join(root, 'baseline');
    const [trained, continuous] = await Promise.all([
      fnwatch('train', kinesis, '--to', split, '--out', base, '--json'),
      fnwatch('replay', kinesis, '--alerts', join(root, 'continuous.ndjson'), '--quiet'),
    ]);
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    expect(continuous.code).toBe(0);
    const summary: TrainSummary = JSON.parse(trained.stdout);

    const snap = loadBaseline(base);
    expect(snap.schema).toBe(BASELINE_SCHEMA);
    expect(summary.path).toBe(join(base, 'baseline.json'));
    expect(snap.watermark).toBeLessThan(labels.learningEnd);
    expect(summary.functions.map((f) => f.name)).toEqual(snap.functions.map((f) => (f as { fn: { name: string } }).fn.name).sort());
    expect(summary.functions.length).toBeGreaterThan(0);
    const names = new Set(labels.functions.map((f) => f.name));
    for (const f of summary.functions) expect(names.has(f.name)).toBe(true);
    // Every attacked function was active before the split, and at least one is past its learning period.
    for (const a of labels.attacks) expect(summary.functions.some((f) => f.name === a.function)).toBe(true);
    expect(summary.functions.some((f) => f.learned)).toBe(true);
    expect(summary.events).toBe(summary.counts.events.invocation + summary.counts.events.resource_access + summary.counts.events.egress + summary.counts.events.change);

    const [withBaseline, without] = await Promise.all([
      fnwatch('replay', kinesis, '--baseline', base, '--from', split, '--alerts', join(root, 'resumed.ndjson'), '--quiet'),
      fnwatch('replay', kinesis, '--from', split, '--alerts', join(root, 'cold.ndjson'), '--quiet'),
    ]);
    expect(withBaseline.code).toBe(0);
    expect(without.code).toBe(0);
    const all = readAlerts(join(root, 'continuous.ndjson'));
    const resumed = readAlerts(join(root, 'resumed.ndjson'));
    const cold = readAlerts(join(root, 'cold.ndjson'));
    const novelty = (as: Alert[]) => as.filter((a) => NOVELTY.has(a.finding_info.types[0]) && a.time >= labels.learningEnd).map(key);

    expect(novelty(all).length).toBeGreaterThan(0);
    expect(novelty(resumed)).toEqual(novelty(all));
    // Without the baseline the same replay starts a new learning period and the novelty alerts are lost.
    expect(novelty(cold).length).toBeLessThan(novelty(all).length);
  }, 90_000);

  it('--workers 2 saves the same functions, each learned as one thread learns it', async () => {
    const [one, two, bad] = await Promise.all([
      fnwatch('train', kinesis, '--out', join(root, 'w1'), '--json'),
      fnwatch('train', kinesis, '--out', join(root, 'w2'), '--json', '--workers', '2'),
      fnwatch('train', kinesis, '--out', join(root, 'w0'), '--workers', '0'),
    ]);
    expect(two.stderr).toBe('');
    expect(two.code).toBe(0);
    expect(one.code).toBe(0);
    const s1: TrainSummary = JSON.parse(one.stdout);
    const s2: TrainSummary = JSON.parse(two.stdout);
    expect(s2.counts).toEqual(s1.counts);
    expect(s2.functions).toEqual(s1.functions);
    expect(s2.functions.length).toBe(labels.functions.length);
    const byFn = (dir: string): Map<string, unknown> => new Map(loadBaseline(dir).functions.map((f) => [JSON.stringify((f as { fn: unknown }).fn), f]));
    const [b1, b2] = [byFn(join(root, 'w1')), byFn(join(root, 'w2'))];
    expect([...b2.keys()].sort()).toEqual([...b1.keys()].sort());
    for (const [fn, profile] of b1) expect(b2.get(fn), fn).toEqual(profile);
    expect(loadBaseline(join(root, 'w2')).watermark).toBe(loadBaseline(join(root, 'w1')).watermark);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: option '--workers <n>' argument '0' is invalid/);
    expect(existsSync(join(root, 'w0'))).toBe(false);
  }, 90_000);

  it('prints what was learned, and refuses to save an empty baseline', async () => {
    const out = join(root, 'human');
    const r = await fnwatch('train', kinesis, '--to', String(labels.start + 6 * 3_600_000), '--out', out);
    expect(r.code).toBe(0);
    const snap = loadBaseline(out);
    const n = snap.functions.length;
    expect(r.stdout).toMatch(new RegExp(`^Learned ${n} functions? from [\\d,]+ events \\(invocation [\\d,]+, resource access [\\d,]+, egress [\\d,]+, change \\d+\\) up to `));
    // Six hours in, no function has finished its learning period.
    expect(r.stdout).toContain(`  0 past their learning period, ${n} still learning;`);
    expect(r.stdout).toContain(`saved to ${join(out, 'baseline.json')}`);
    expect(r.stdout.split('\n').filter((l) => / learning +[\d,]+ invocations /.test(l))).toHaveLength(n);

    const empty = join(root, 'empty');
    const e = await fnwatch('train', kinesis, '--from', String(labels.end + 86_400_000), '--out', empty);
    expect(e.code).toBe(2);
    expect(e.stderr).toBe(`fnwatch: no events in ${kinesis} within --from/--to: nothing to learn\n`);
    expect(existsSync(empty)).toBe(false);
  }, 60_000);
});
