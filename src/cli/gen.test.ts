import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAttackList } from './gen.ts';

const root = mkdtempSync(join(tmpdir(), 'fnwatch-gen-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bin = join(import.meta.dirname, '..', '..', 'bin', 'fnwatch.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'gen', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('fnwatch gen', () => {
  it('writes a dataset and says what it wrote', () => {
    const out = join(root, 'ds');
    const r = run('--seed', '5', '--out', out, '--days', '0.5', '--functions', '3', '--scale', '0.05', '--attacks', 'secret-grab');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*ds: \d+ Kinesis records, \d+ log events .* 3 functions, 1 attacks, \d+ confounders in [\d.]+ s\n$/);
    for (const f of ['labels.json', 'manifest.json', 'events.arrow', 'kinesis/shard-000.ndjson.gz']) expect(existsSync(join(out, f)), f).toBe(true);
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as { seed: number; attacks: { kind: string }[] };
    expect(labels.seed).toBe(5);
    expect(labels.attacks.map((a) => a.kind)).toEqual(['secret-grab']);
  });

  it('reports bad options on one line with exit code 2', () => {
    for (const args of [
      ['--seed', 'abc', '--out', join(root, 'x')],
      ['--seed', '1', '--out', join(root, 'x'), '--days', '-3'],
      ['--seed', '1', '--out', join(root, 'x'), '--attacks', 'ddos'],
      ['--seed', '1', '--out', join(root, 'x'), '--start', 'tomorrow'],
    ]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^fnwatch: --(seed|days|attacks|start)\b[^\n]*\n$/);
    }
    expect(run('--out', join(root, 'x')).status, 'missing --seed').toBe(2);
  });
});

describe('parseAttackList', () => {
  it('reads a comma list or none, and names the known kinds when one is wrong', () => {
    expect(parseAttackList('denial-of-wallet, secret-grab')).toEqual(['denial-of-wallet', 'secret-grab']);
    expect(parseAttackList('none')).toEqual([]);
    expect(() => parseAttackList('denial-of-wallet,ddos')).toThrow(/unknown kind "ddos"; known: denial-of-wallet, cost-ramp/);
  });
});
