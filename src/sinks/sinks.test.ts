import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../core/alert.ts';
import { FnwatchError, UsageError, type Sink } from '../core/contracts.ts';
import { CollectSink } from './collect.ts';
import { FanoutSink } from './fanout.ts';
import { FileSink, rotatedPath } from './file.ts';
import { validateOcsf } from './formats/ocsf.ts';
import { alertLine, StdoutSink } from './stdout.ts';
import { sampleAlert, sampleAlerts } from './testing/alerts.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-sinks-'));
  dirs.push(d);
  return d;
}

function lines(path: string): Alert[] {
  const text = readFileSync(path, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as Alert);
}

/** Every sink keeps the contract: write resolves with the alerts held, flush and close resolve, empty writes are fine. */
async function contract(sink: Sink, read: () => Alert[]): Promise<void> {
  await sink.write([]);
  const alerts = sampleAlerts(5);
  await sink.write(alerts.slice(0, 2));
  await sink.write(alerts.slice(2));
  expect(read().map((a) => a.finding_info.uid)).toEqual(alerts.map((a) => a.finding_info.uid));
  await sink.flush();
  await sink.close();
}

describe('sink contract', () => {
  it('collect', async () => {
    const s = new CollectSink();
    await contract(s, () => s.alerts);
    expect(s.closed).toBe(true);
  });

  it('stdout ndjson', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    await contract(new StdoutSink({ format: 'ndjson', stream: out }), () => text.trimEnd().split('\n').map((l) => JSON.parse(l) as Alert));
    for (const l of text.trimEnd().split('\n')) expect(validateOcsf(JSON.parse(l))).toEqual([]);
  });

  it('file', async () => {
    const path = join(tempDir(), 'alerts.ndjson');
    await contract(await FileSink.open({ path }), () => lines(path));
  });

  it('fanout', async () => {
    const a = new CollectSink('a');
    const b = new CollectSink('b');
    const fan = new FanoutSink([a, b]);
    expect(fan.name).toBe('a+b');
    await contract(fan, () => b.alerts);
    expect(a.alerts).toEqual(b.alerts);
    expect(a.closed && b.closed).toBe(true);
  });
});

describe('StdoutSink', () => {
  it('prints one readable line per alert', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const update = { ...sampleAlert(2), activity_id: 2 as const, type_uid: 200402 as const };
    await new StdoutSink({ stream: out }).write([sampleAlert(1), update]);
    const [first, second] = text.trimEnd().split('\n');
    expect(first).toBe(
      `2026-01-08T18:20:36.215Z HIGH     cost-ramp           123456789012/eu-west-1/fn-1  fn-1: sample cost-ramp finding 1 [${sampleAlert(1).finding_info.uid}]`,
    );
    expect(second).toMatch(/ MEDIUM   dormant-wakeup .* \(update\) \[fw-/);
    expect(alertLine(sampleAlert(1))).toBe(first);
  });

  it('rejects with a clear error when the stream fails (e.g. EPIPE)', async () => {
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    broken.on('error', () => {});
    const err = await new StdoutSink({ stream: broken }).write([sampleAlert(0)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as Error).message).toBe('stdout: cannot write alerts: EPIPE');
  });
});

describe('FileSink', () => {
  it('rotates by size into alerts.1.ndjson … alerts.<keep>.ndjson, deleting the oldest', async () => {
    const dir = tempDir();
    const path = join(dir, 'alerts.ndjson');
    const alert = (i: number) => sampleAlert(i, { kind: 'cost-ramp' }); // all the same size
    const one = Buffer.byteLength(JSON.stringify(alert(0)) + '\n');
    const sink = await FileSink.open({ path, maxBytes: one * 2 + 10, keep: 2 });
    for (let i = 0; i < 9; i++) await sink.write([alert(i)]);
    await sink.close();
    const seqs = (p: string) => lines(p).map((a) => a.unmapped!.seq);
    expect(seqs(path)).toEqual([8]);
    expect(seqs(rotatedPath(path, 1))).toEqual([6, 7]);
    expect(seqs(rotatedPath(path, 2))).toEqual([4, 5]);
    expect(existsSync(rotatedPath(path, 3))).toBe(false);
    expect(sink.rotations).toBe(4);
    expect(rotatedPath('/x/alerts', 3)).toBe('/x/alerts.3');
  });

  it('appends by default and starts afresh with truncate', async () => {
    const path = join(tempDir(), 'a.ndjson');
    writeFileSync(path, JSON.stringify(sampleAlert(99)) + '\n');
    const appending = await FileSink.open({ path });
    await appending.write([sampleAlert(1)]);
    await appending.close();
    expect(lines(path).map((a) => a.unmapped!.seq)).toEqual([99, 1]);
    const fresh = await FileSink.open({ path, truncate: true });
    await fresh.write([sampleAlert(2)]);
    await fresh.close();
    expect(lines(path).map((a) => a.unmapped!.seq)).toEqual([2]);
    await expect(fresh.write([sampleAlert(3)])).rejects.toThrow(/closed/);
  });

  it('fails to open with a one-line UsageError', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    await expect(FileSink.open({ path: join(dir, 'file', 'alerts.ndjson') })).rejects.toThrow(UsageError);
    await expect(FileSink.open({ path: join(dir, 'file', 'alerts.ndjson') })).rejects.toThrow(/cannot write alerts to .*alerts\.ndjson: (ENOTDIR|EEXIST)/);
  });
});

describe('FanoutSink', () => {
  it('writes to every sink even when one fails, then reports the failure', async () => {
    const good = new CollectSink('good');
    const bad: Sink = {
      name: 'bad',
      write: async () => {
        throw new FnwatchError('disk full', true);
      },
      flush: async () => {},
      close: async () => {},
    };
    const fan = new FanoutSink([bad, good]);
    await expect(fan.write(sampleAlerts(2))).rejects.toThrow('disk full');
    expect(good.alerts).toHaveLength(2);
  });
});
