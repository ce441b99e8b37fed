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
    // Fed like a live stream, the two shards stay within one put (~35 min of event time) of each other.
    // A function's log streams hash to both shards, and which shard's batch of a put is processed first
    // is up to the polling: so the same alerts fire (function and kind) as in the replay, at times that
    // can differ by up to a put's span (and then their uids, which hash the finding's start, differ).
    const seen = alertLines.map((l) => {
      const [time, , kind, key] = l.trim().split(/\s+/);
      return { what: `${kind} ${key!.split('/').pop()}`, time: Date.parse(time!) };
    });
    const expected = reference.alerts.map((a) => ({ what: `${a.finding_info.types[0]} ${a.resources[0]!.name}`, time: a.time }));
    expect(seen.map((a) => a.what).sort()).toEqual(expected.map((a) => a.what).sort());
    for (const a of seen) {
      const nearest = Math.min(...expected.filter((e) => e.what === a.what).map((e) => Math.abs(e.time - a.time)));
      expect(nearest, `${a.what} at ${new Date(a.time).toISOString()}`).toBeLessThanOrEqual(60 * 60_000);
    }
    for (const kind of ['denial-of-wallet', 'new-egress-host', 'new-resource-access']) expect(out).toContain(` ${kind} `);
    expect(out).toContain('fnwatch run --config');
  }, 90_000);
});
