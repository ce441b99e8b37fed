import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { seqOf, TestReceiver } from '../testing/receiver.ts';

const CHILD = fileURLToPath(new URL('../testing/kill-child.ts', import.meta.url));
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const COUNT = 200;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Run {
  child: ChildProcess;
  lastDurable: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Run = { child, lastDurable: -1, exited: undefined as never };
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const m of out.matchAll(/durable (\d+)\n/g)) r.lastDurable = Math.max(r.lastDurable, Number(m[1]));
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  r.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out: out + err })));
  cleanup.push(() => void child.kill('SIGKILL'));
  return r;
}

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('webhook sink killed with SIGKILL mid-delivery', () => {
  // batch 5 with a source slower than delivery: batches are formed part-full, so a batch re-formed
  // after a restart would differ from the one in flight unless its boundaries were persisted.
  for (const { batch, chunk, writeDelayMs, rxDelayMs } of [
    { batch: 5, chunk: 2, writeDelayMs: 6, rxDelayMs: 10 },
    { batch: 1, chunk: 3, writeDelayMs: 2, rxDelayMs: 4 },
  ]) {
    it(`loses nothing and re-sends duplicates only under the same webhook-id (batch ${batch})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fnwatch-kill-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const secretFile = join(dir, 'secret');
      writeFileSync(secretFile, SECRET + '\n');
      // A slowish SIEM, so the kill lands while requests are in flight.
      const rx = await TestReceiver.start({ format: 'ocsf', secret: SECRET, respond: () => ({ status: 200, delayMs: rxDelayMs }) });
      cleanup.push(() => rx.close());
      const base = ['--url', rx.url, '--outbox', join(dir, 'outbox'), '--secret-file', secretFile, '--count', String(COUNT), '--batch', String(batch), '--chunk', String(chunk), '--write-delay-ms', String(writeDelayMs)];

      let start = 0;
      const rewritten = new Set<number>();
      for (const killAt of [20, 55, 90, 125, 160]) {
        const r = run([...base, '--start', String(start)]);
        await until(() => rx.accepted().length >= killAt);
        r.child.kill('SIGKILL');
        const { signal } = await r.exited;
        expect(signal).toBe('SIGKILL');
        // Alerts written but not reported durable are written again, as an unacknowledged source batch would be.
        for (let i = r.lastDurable + 1; i < Math.min(COUNT, r.lastDurable + 1 + chunk); i++) rewritten.add(i);
        start = Math.max(start, r.lastDurable + 1);
      }
      const last = run([...base, '--start', String(start)]);
      const { code, out } = await last.exited;
      expect(out).toMatch(/flushed 0\n/);
      expect(code).toBe(0);

      expect(rx.problems).toEqual([]);
      const idsBySeq = new Map<number, Set<string>>();
      for (const { id, doc } of rx.accepted()) {
        const seq = seqOf('ocsf', doc);
        if (!idsBySeq.has(seq)) idsBySeq.set(seq, new Set());
        idsBySeq.get(seq)!.add(id);
      }
      expect([...idsBySeq.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      for (const [seq, ids] of idsBySeq) {
        // A batch re-sent after a crash carries the same webhook-id; so does a single alert written again.
        if (batch === 1 || !rewritten.has(seq)) expect([seq, ...ids]).toEqual([seq, [...ids][0]]);
      }
      const duplicates = rx.accepted().length - COUNT;
      expect(duplicates).toBeGreaterThanOrEqual(0);
      console.log(`batch ${batch}: ${rx.accepted().length} deliveries for ${COUNT} alerts (${duplicates} duplicates) across 5 SIGKILLs`);
    });
  }
});
