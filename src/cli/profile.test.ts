import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../datasets/generator/generate.ts';
import { iamAction } from '../profiler/export.ts';
import { isAccessDenied } from '../profiler/profile.ts';
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
  /** action → first resource of each call ('*' when none) → calls, and how many were denied */
  actions: Map<string, Map<string, { calls: number; denied: number }>>;
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
  denied: { action: string; resource: string; calls: number; denied: number }[];
  egress: { destination: string; count: number }[];
}

/** IAM wildcard match: `*` is any run of characters. */
function iamMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

beforeAll(async () => {
  await generateDataset({ seed: 3, out: ds, days: 2, functions: 6, scale: 0.05, attacks: ['exfiltration', 'imds-access', 'error-probing'] });
  for await (const ev of readEventsArrow(join(ds, 'events.arrow'))) {
    let u = used.get(ev.fn.name);
    if (!u) used.set(ev.fn.name, (u = { actions: new Map(), egress: new Map() }));
    if (ev.kind === 'resource_access') {
      const rs = u.actions.get(ev.action) ?? new Map<string, { calls: number; denied: number }>();
      const r = rs.get(ev.resources[0] ?? '*') ?? { calls: 0, denied: 0 };
      r.calls++;
      if (isAccessDenied(ev.errorCode)) r.denied++;
      rs.set(ev.resources[0] ?? '*', r);
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
      // Only calls that succeeded at least once grant; the always-denied ones are listed apart.
      const granted = [...u.actions].flatMap(([action, rs]) => [...rs].filter(([, c]) => c.denied < c.calls).map(([res]) => [action, res] as const));
      const alwaysDenied = [...u.actions].flatMap(([action, rs]) => [...rs].filter(([, c]) => c.denied === c.calls).map(([res, c]) => `${action} ${res} ${c.denied}`));
      expect(allowed.sort()).toEqual([...new Set(granted.map(([action]) => iamAction(action)))].sort());
      expect(p.denied.map((d) => `${d.action} ${d.resource} ${d.denied}`).sort()).toEqual(alwaysDenied.sort());
      for (const s of policy.Statement) expect(s.Effect).toBe('Allow');
      // Every call that succeeded is allowed by a statement naming its action, scoped to the resource it used.
      for (const [action, res] of granted) {
        const st = policy.Statement.find((s) => s.Action.includes(iamAction(action)))!;
        expect(st.Resource.some((pattern) => iamMatch(pattern, res)), `${p.function.name} ${action} ${res} in ${st.Resource.join(', ')}`).toBe(true);
        if (res.startsWith('arn:')) expect(st.Resource).not.toContain('*');
        for (const pattern of st.Resource) expect(pattern).not.toContain('**');
      }

      expect(Object.fromEntries(egress.map((e: { destination: string; count: number }) => [e.destination, e.count]))).toEqual(Object.fromEntries(u.egress));
    }
    // The attacks' destinations are in the allowlists too: this baseline learned from the whole dataset, attacks included.
    const labels = JSON.parse(readFileSync(join(ds, 'labels.json'), 'utf8'));
    const imds = labels.attacks.find((a: { kind: string }) => a.kind === 'imds-access');
    expect(profiled.find((p) => p.function.name === imds.function)!.egress.map((e) => e.destination)).toContain('169.254.169.254:80');
    // The prober's denied calls are not granted: its policy names none of the probed actions.
    const probing = labels.attacks.find((a: { kind: string }) => a.kind === 'error-probing');
    const prober = profiled.find((p) => p.function.name === probing.function)!;
    expect(prober.denied.length).toBeGreaterThan(0);
    for (const d of prober.denied) expect(prober.policy.Statement.some((s) => s.Action.includes(iamAction(d.action)) && s.Resource.some((r) => iamMatch(r, d.resource)))).toBe(false);
  }, 60_000);

  it('prints one function with its policy and allowlist, and fails in one line on a bad name or baseline', async () => {
    const name = [...used.entries()].find(([, u]) => u.egress.size > 0 && u.actions.size > 0)![0];
    const r = await fnwatch('profile', baseline, '--function', name);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${name} \\(\\d{12}/us-east-1\\)`));
    expect(r.stdout).toMatch(/learning: done/);
    expect(r.stdout).toContain('  least-privilege policy:\n    {\n      "Version": "2012-10-17"');
    for (const host of used.get(name)!.egress.keys()) expect(r.stdout).toContain(`    ${host}  (`);

    const labels = JSON.parse(readFileSync(join(ds, 'labels.json'), 'utf8'));
    const prober: string = labels.attacks.find((a: { kind: string }) => a.kind === 'error-probing').function;
    const probed = await fnwatch('profile', baseline, '--function', prober);
    expect(probed.code).toBe(0);
    const deniedBlock = /\n {2}always denied \(not in the policy\):\n((?: {4}\S+ \S+ {2}\(\d+×, last [^)]+\)\n)+) {2}egress allowlist:/.exec(probed.stdout);
    expect(deniedBlock, probed.stdout).not.toBeNull();
    for (const [action, rs] of used.get(prober)!.actions) {
      for (const [res, c] of rs) if (c.denied === c.calls) expect(deniedBlock![1]).toContain(`    ${action} ${res}  (${c.denied}×`);
    }

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
