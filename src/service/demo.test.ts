import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../sources/files/replay.ts';
import { DEMO_DATASET } from './demo.ts';

const CLI = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));

describe('fnwatch demo (npm start)', () => {
  it('consumes the bundled dataset from an embedded Kinesis, prints the alerts and a summary, exits 0', async () => {
    // No AWS settings at all: the demo must not need an account or reach beyond 127.0.0.1.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };
    const child = spawn(process.execPath, [CLI, 'demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = await once(child, 'exit');
    expect(err).toMatch(/local Kinesis \(kinesalite\) at http:\/\/127\.0\.0\.1:\d+, stream fnwatch-demo with 2 shards/);
    expect(code).toBe(0);

    const reference = await runReplay({ inputs: [DEMO_DATASET] });
    const alertLines = out.split('\n').filter((l) => / \[fw-[0-9a-f]{24}\]$/.test(l));
    const summary = /6,174 records put, 6,174 consumed .* → ([\d,]+) events → (\d+) alerts/.exec(out);
    expect(summary).not.toBeNull();
    expect(Number(summary![2])).toBe(alertLines.length);
    const events = Object.values(reference.counts.events).reduce((a, b) => a + b, 0);
    expect(Number(summary![1].replace(/,/g, ''))).toBe(events);
    // Fed like a live stream, the two shards stay within one put of each other, so the alerts are the replay's.
    expect(alertLines.map((l) => /\[(fw-[0-9a-f]+)\]$/.exec(l)![1]).sort()).toEqual(reference.alerts.map((a) => a.finding_info.uid).sort());
    for (const kind of ['denial-of-wallet', 'new-egress-host', 'new-resource-access']) expect(out).toContain(` ${kind} `);
    expect(out).toContain('fnwatch run --config');
  }, 90_000);
});
