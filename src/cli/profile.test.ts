import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../datasets/generator/generate.ts';
import { readEventsArrow } from '../sources/files/arrow.ts';

const BIN = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fnwatch-profile-cli-'));
const ds = join(root, 'ds');
const baseline = join(root, 'baseline');

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

/** What each function really did, from the generator's ground truth. */
interface Used {
  /** action → first resource of each call ('*' when none) */
  actions: Map<string, Set<string>>;
  /** host:port → connections */
  egress: Map<string, number>;
}
const used = new Map<string, Used>();

interface Policy {
  Version: string;
  Statement: { Sid: string; Effect: string; Action: string[]; Resource: string[] }[];
}
interface Profiled {
  function: { name: string };
  summary: string[];
  policy: Policy;
  egress: { destination: string; count: number }[];
}

/** IAM wildcard match: `*` is any run of characters. */
function iamMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

beforeAll(async () => {
  await generateDataset({ seed: 3, out: ds, days: 2, functions: 6, scale: 0.05, attacks: ['exfiltration', 'imds-access'] });
  for await (const ev of readEventsArrow(join(ds, 'events.arrow'))) {
    let u = used.get(ev.fn.name);
    if (!u) used.set(ev.fn.name, (u = { actions: new Map(), egress: new Map() }));
    if (ev.kind === 'resource_access') {
      const rs = u.actions.get(ev.action) ?? new Set();
      rs.add(ev.resources[0] ?? '*');
      u.actions.set(ev.action, rs);
    } else if (ev.kind === 'egress') {
      const key = ev.port !== undefined ? `${ev.host}:${ev.port}` : ev.host;
      u.egress.set(key, (u.egress.get(key) ?? 0) + 1);
    }
  }
  const trained = await fnwatch('train', join(ds, 'kinesis'), '--out', baseline, '--quiet');
  expect(trained).toEqual({ code: 0, stdout: '', stderr: '' });
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fnwatch profile', () => {
  it('exports per function a least-privilege policy and an egress allowlist holding exactly what the data used', async () => {
    const exported = join(root, 'export');
    const r = await fnwatch('profile', baseline, '--json', '--export', exported);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`wrote ${used.size * 2} files to ${exported}\n`);
    const profiled: Profiled[] = JSON.parse(r.stdout);
    expect(profiled.map((p) => p.function.name)).toEqual([...used.keys()].sort());

    for (const p of profiled) {
      const u = used.get(p.function.name)!;
      const policy: Policy = JSON.parse(readFileSync(join(exported, `${p.function.name}.policy.json`), 'utf8'));
      const egress = JSON.parse(readFileSync(join(exported, `${p.function.name}.egress.json`), 'utf8'));
      expect(policy).toEqual(p.policy);
      expect(egress).toEqual(p.egress);

      expect(policy.Version).toBe('2012-10-17');
      const allowed = policy.Statement.flatMap((s) => s.Action);
      expect(new Set(allowed).size).toBe(allowed.length);
      expect(allowed.sort()).toEqual([...u.actions.keys()].sort());
      for (const s of policy.Statement) expect(s.Effect).toBe('Allow');
      // Every call the function made is allowed by a statement naming its action, scoped to the resource it used.
      for (const [action, resources] of u.actions) {
        const st = policy.Statement.find((s) => s.Action.includes(action))!;
        for (const res of resources) {
          expect(st.Resource.some((pattern) => iamMatch(pattern, res)), `${p.function.name} ${action} ${res} in ${st.Resource.join(', ')}`).toBe(true);
          if (res.startsWith('arn:')) expect(st.Resource).not.toContain('*');
        }
      }

      expect(Object.fromEntries(egress.map((e: { destination: string; count: number }) => [e.destination, e.count]))).toEqual(Object.fromEntries(u.egress));
    }
    // The attacks' destinations are in the allowlists too: this baseline learned from the whole dataset, attacks included.
    const labels = JSON.parse(readFileSync(join(ds, 'labels.json'), 'utf8'));
    const imds = labels.attacks.find((a: { kind: string }) => a.kind === 'imds-access');
    expect(profiled.find((p) => p.function.name === imds.function)!.egress.map((e) => e.destination)).toContain('169.254.169.254:80');
  }, 60_000);

  it('prints one function with its policy and allowlist, and fails in one line on a bad name or baseline', async () => {
    const name = [...used.entries()].find(([, u]) => u.egress.size > 0 && u.actions.size > 0)![0];
    const r = await fnwatch('profile', baseline, '--function', name);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${name} \\(\\d{12}/us-east-1\\)`));
    expect(r.stdout).toMatch(/learning: done/);
    expect(r.stdout).toContain('  least-privilege policy:\n    {\n      "Version": "2012-10-17"');
    for (const host of used.get(name)!.egress.keys()) expect(r.stdout).toContain(`    ${host}  (`);

    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'baseline.json'), JSON.stringify({ schema: 'fnwatch.baseline/1', watermark: 0, createdAt: '', functions: [{ fn: { name: 'x' } }] }));
    const runs = await Promise.all([fnwatch('profile', baseline, '--function', 'no-such-*'), fnwatch('profile', join(root, 'missing')), fnwatch('profile', bad)]);
    expect(runs.map((x) => x.code)).toEqual([2, 2, 2]);
    expect(runs[0]!.stderr).toBe(`fnwatch: no function matching no-such-* in ${baseline}\n`);
    expect(runs[1]!.stderr).toBe(`fnwatch: no baseline at ${join(root, 'missing', 'baseline.json')} (write one with: fnwatch train <inputs> --out DIR)\n`);
    expect(runs[2]!.stderr).toMatch(/^fnwatch: baseline .*bad: function 0 \("x"\) cannot be read: [^\n]+\n$/);
  }, 60_000);
});
