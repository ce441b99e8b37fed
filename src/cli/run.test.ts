import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { workerCount } from './run.ts';

const BIN = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fnwatch-run-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fnwatch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const config = (extra = ''): string => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, `sources:\n  - type: kinesis\n    streamName: logs\n    applicationName: fnwatch-prod\n${extra}`);
  return path;
};

describe('fnwatch run --workers', () => {
  it('accepts whole numbers from 1 to 64 only', () => {
    expect(workerCount('1')).toBe(1);
    expect(workerCount('64')).toBe(64);
    for (const bad of ['0', '65', '1.5', '-2', 'two', '', '2x']) expect(() => workerCount(bad)).toThrow(/whole number from 1 to 64/);
  });

  it('overrides the config file, which is checked as usual', async () => {
    const fromFile = await fnwatch('run', '--config', config('workers: 3\n'), '--check');
    expect(fromFile).toMatchObject({ code: 0 });
    expect(fromFile.stdout).toContain('3 pipeline workers');
    const overridden = await fnwatch('run', '--config', config('workers: 3\n'), '--check', '--workers', '2');
    expect(overridden.stdout).toContain('2 pipeline workers');
    const single = await fnwatch('run', '--config', config(), '--check');
    expect(single.stdout).not.toContain('pipeline workers');
  }, 60_000);

  it('fails fast, exit 2, naming the option or the config field', async () => {
    const flag = await fnwatch('run', '--config', config(), '--check', '--workers', '0');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("option '--workers <n>' argument '0' is invalid");
    const field = await fnwatch('run', '--config', config('workers: 0\n'), '--check');
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/:5:10: workers: Too small/);
    const demo = await fnwatch('run', '--workers', '2');
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('--workers needs --config FILE');
  }, 60_000);
});
