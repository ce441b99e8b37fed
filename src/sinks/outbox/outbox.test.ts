import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../core/contracts.ts';
import { memoryLogger } from '../log.ts';
import { CountingSinkMetrics } from '../metrics.ts';
import { Outbox, type CorruptRegion, type OutboxEntry, type OutboxOptions } from './outbox.ts';
import { decodeRecord, encodeRecord } from './record.ts';

const dirs: string[] = [];
const open: Outbox[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-outbox-'));
  dirs.push(d);
  return d;
}

async function openBox(dir: string, opts: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const box = await Outbox.open(dir, { maxBytes: 1 << 20, log: memoryLogger(), ...opts });
  open.push(box);
  return box;
}

async function closeBox(box: Outbox): Promise<void> {
  open.splice(open.indexOf(box), 1);
  await box.close();
}

function items(from: number, n: number, pad = 0): { key: string; data: Buffer }[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, data: Buffer.from(JSON.stringify({ n: from + i, pad: 'x'.repeat(pad) })) }));
}

function numbers(entries: OutboxEntry[]): number[] {
  return entries.map((e) => (JSON.parse(e.data.toString()) as { n: number }).n);
}

/** Reads and settles everything, batch by batch. */
async function drain(box: Outbox, batch = 10): Promise<OutboxEntry[]> {
  const out: OutboxEntry[] = [];
  for (;;) {
    const release = await box.head.acquire();
    try {
      const b = await box.nextBatch(batch, 1 << 20);
      if (b.length === 0) return out;
      out.push(...b);
      await box.settle(b.at(-1)!.seq + 1);
    } finally {
      release();
    }
  }
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
}

describe('record', () => {
  it('round-trips and rejects a flipped bit', () => {
    const rec = encodeRecord(2 ** 40 + 3, 'fw-é.1.00', Buffer.from('{"a":1}'));
    const d = decodeRecord(rec, 0);
    expect(d.entry).toMatchObject({ seq: 2 ** 40 + 3, key: 'fw-é.1.00', size: rec.length });
    expect(d.entry!.data.toString()).toBe('{"a":1}');
    rec[rec.length - 2] ^= 1;
    expect(decodeRecord(rec, 0).error).toBe('CRC mismatch');
    expect(decodeRecord(rec.subarray(0, 10), 0).incomplete).toBe(true);
  });
});

describe('Outbox', () => {
  it('returns entries in order across segments, deletes delivered segments, and resumes from the cursor', async () => {
    const dir = tempDir();
    const box = await openBox(dir, { segmentBytes: 200 });
    await box.append(items(0, 20));
    expect(segments(dir).length).toBeGreaterThan(3);
    expect(box.pending).toBe(20);

    const release = await box.head.acquire();
    const first = await box.nextBatch(7, 1 << 20);
    await box.settle(first.at(-1)!.seq + 1);
    release();
    expect(numbers(first)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await closeBox(box);

    const again = await openBox(dir, { segmentBytes: 200 });
    expect(again.pending).toBe(13);
    const rest = await drain(again, 4);
    expect(numbers(rest)).toEqual(Array.from({ length: 13 }, (_, i) => 7 + i));
    expect(again.pending).toBe(0);
    expect(segments(dir)).toHaveLength(1);
    await again.append(items(20, 1));
    expect(numbers(await drain(again))).toEqual([20]);
    expect(rest[0]!.seq).toBe(7);
  });

  it('caps a batch by payload bytes but always returns at least one entry', async () => {
    const box = await openBox(tempDir());
    await box.append(items(0, 5, 300));
    const release = await box.head.acquire();
    try {
      expect(await box.nextBatch(100, 700)).toHaveLength(2);
      await box.settle(2);
      expect(await box.nextBatch(100, 10)).toHaveLength(1);
    } finally {
      release();
    }
  });

  it('re-reads exactly the in-flight batch after a restart, even when more entries arrived', async () => {
    const dir = tempDir();
    const box = await openBox(dir);
    await box.append(items(0, 3));
    const release = await box.head.acquire();
    const inflight = await box.nextBatch(10, 1 << 20);
    release();
    await box.append(items(3, 5));
    await closeBox(box);

    const again = await openBox(dir);
    const r = await again.head.acquire();
    try {
      const resent = await again.nextBatch(10, 1 << 20);
      expect(resent.map((e) => e.key)).toEqual(inflight.map((e) => e.key));
      await again.settle(resent.at(-1)!.seq + 1);
      expect(numbers(await again.nextBatch(10, 1 << 20))).toEqual([3, 4, 5, 6, 7]);
    } finally {
      r();
    }
  });

  it('skips and truncates a torn record at the tail, logging it, and keeps appending after it', async () => {
    const dir = tempDir();
    const box = await openBox(dir);
    await box.append(items(0, 4));
    await closeBox(box);
    const seg = join(dir, segments(dir).at(-1)!);
    const good = statSync(seg).size;
    const torn = encodeRecord(4, 'k4', Buffer.from('{"n":4}'));
    appendFileSync(seg, torn.subarray(0, torn.length - 3));

    const log = memoryLogger();
    const again = await openBox(dir, { log });
    expect(log.lines.join('\n')).toMatch(/skipped a torn record at the tail of 0000000000000000\.seg \(offset \d+, \d+ bytes, record cut short\)/);
    expect(statSync(seg).size).toBe(good);
    await again.append(items(100, 1));
    const all = await drain(again);
    expect(numbers(all)).toEqual([0, 1, 2, 3, 100]);
    expect(all.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('treats a tail record with a bad CRC as torn', async () => {
    const dir = tempDir();
    const box = await openBox(dir);
    await box.append(items(0, 3));
    await closeBox(box);
    const seg = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(seg);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(seg, bytes);
    const log = memoryLogger();
    const again = await openBox(dir, { log });
    expect(log.lines.join('\n')).toMatch(/CRC mismatch/);
    expect(numbers(await drain(again))).toEqual([0, 1]);
  });

  it('reports entries it cannot read back from a sealed segment and delivers the rest', async () => {
    const dir = tempDir();
    const box = await openBox(dir, { segmentBytes: 120 });
    await box.append(items(0, 10));
    await closeBox(box);
    const firstSeg = join(dir, segments(dir)[0]!);
    const bytes = readFileSync(firstSeg);
    bytes[20] ^= 0xff; // inside the first record
    writeFileSync(firstSeg, bytes);

    const corrupt: CorruptRegion[] = [];
    const log = memoryLogger();
    const again = await openBox(dir, { segmentBytes: 120, log, onCorrupt: async (c) => void corrupt.push(c) });
    const got = await drain(again);
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]).toMatchObject({ segment: '0000000000000000.seg', offset: 0, fromSeq: 0 });
    const lost = corrupt[0]!.toSeq - corrupt[0]!.fromSeq;
    expect(lost).toBeGreaterThan(0);
    expect(got.length + lost).toBe(10);
    expect(numbers(got)).toEqual(Array.from({ length: got.length }, (_, i) => 10 - got.length + i));
    expect(log.lines.join('\n')).toMatch(/unreadable at offset 0 \(CRC mismatch\)/);
  });

  it('blocks writers at the cap until delivery frees space (onFull: block), warning past 80%', async () => {
    const log = memoryLogger();
    const metrics = new CountingSinkMetrics();
    const box = await openBox(tempDir(), { maxBytes: 4096, segmentBytes: 512, log, metrics });
    await box.append(items(0, 20, 100)); // ~2.6 KB
    expect(log.lines.some((l) => /at \d+% of its 4096-byte cap/.test(l))).toBe(false);
    await box.append(items(20, 6, 100));
    expect(log.lines.some((l) => /at \d+% of its 4096-byte cap/.test(l))).toBe(true);

    let resolved = false;
    const blocked = box.append(items(100, 10, 100)).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(resolved).toBe(false);
    expect(box.bytes).toBeLessThanOrEqual(4096);
    expect(log.lines.join('\n')).toMatch(/is full .* writes wait for delivery/);

    const got = await drain(box, 5);
    await blocked;
    got.push(...(await drain(box, 5)));
    expect(numbers(got)).toEqual([...Array.from({ length: 26 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 100 + i)]);
    expect(metrics.peakBytes).toBeLessThanOrEqual(4096);
  });

  it('drops the oldest segment when full (onFull: drop-oldest), reporting each dropped entry', async () => {
    const dropped: OutboxEntry[] = [];
    const metrics = new CountingSinkMetrics();
    const log = memoryLogger();
    const box = await openBox(tempDir(), {
      maxBytes: 4096,
      segmentBytes: 512,
      onFull: 'drop-oldest',
      metrics,
      log,
      onDrop: async (entries) => void dropped.push(...entries),
    });
    await box.append(items(0, 60, 100));
    expect(box.bytes).toBeLessThanOrEqual(4096);
    expect(dropped.length).toBeGreaterThan(0);
    expect(metrics.droppedCount).toBe(dropped.length);
    expect(box.droppedCount).toBe(dropped.length);
    const rest = await drain(box);
    // Nothing vanished: every entry was either dropped (oldest first) or is still delivered, in order.
    expect([...numbers(dropped), ...numbers(rest)]).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(log.lines.join('\n')).toMatch(/dropped the \d+ oldest undelivered alerts/);
  });

  it('refuses a second process on the same directory and takes over a dead owner', async () => {
    const dir = tempDir();
    const box = await openBox(dir);
    writeFileSync(join(dir, 'lock'), '1\n'); // pid 1 is alive and is not us
    await expect(Outbox.open(dir, { maxBytes: 1 << 20 })).rejects.toThrow(UsageError);
    await expect(Outbox.open(dir, { maxBytes: 1 << 20 })).rejects.toThrow(/in use by process 1/);
    writeFileSync(join(dir, 'lock'), `${process.pid}\n`);
    await closeBox(box);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    writeFileSync(join(dir, 'lock'), '999999999\n'); // no such process
    const again = await openBox(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    expect(again.pending).toBe(0);
  });

  it('rejects a record that can never fit and rejects blocked writers on close', async () => {
    const box = await Outbox.open(tempDir(), { maxBytes: 2048, segmentBytes: 1024, log: memoryLogger() });
    await expect(box.append(items(0, 1, 4000))).rejects.toThrow(/can never fit/);
    await box.append(items(0, 12, 100));
    const blocked = box.append(items(20, 12, 100)).then(
      () => undefined,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 50));
    await box.close();
    expect(String(await blocked)).toMatch(/closed/);
  });
});
