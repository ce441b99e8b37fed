import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePayload } from '../src/parsers/index.ts';

// A private cache, so the test generates its own small dataset and leaves nothing behind.
const cache = mkdtempSync(join(tmpdir(), 'fnwatch-bench-test-'));
process.env.FNWATCH_BENCH_CACHE = cache;
const { buildPayloads, PAYLOAD_EVENTS, recordData, datasetDir } = await import('./payloads.ts');

afterAll(() => rmSync(cache, { recursive: true, force: true }));

interface Doc {
  messageType: string;
  logGroup: string;
  logStream: string;
  logEvents: { id: string; timestamp: number; message: string }[];
}

describe('buildPayloads', () => {
  const spec = { seed: 3, days: 0.25, functions: 4, scale: 0.5 };

  it('re-packs every data log event of the generated dataset, in stream order, at most 100 per payload', async () => {
    const set = await buildPayloads(spec);
    const dir = await datasetDir(spec);
    const original = new Map<string, string[]>();
    for await (const d of recordData(dir)) {
      const doc = decodePayload(d) as Doc;
      if (doc.messageType !== 'DATA_MESSAGE') continue;
      const k = `${doc.logGroup} ${doc.logStream}`;
      original.set(k, [...(original.get(k) ?? []), ...doc.logEvents.map((e) => e.id)]);
    }
    const repacked = new Map<string, string[]>();
    let events = 0;
    set.data.forEach((d, i) => {
      const doc = decodePayload(d) as Doc;
      expect(doc.messageType).toBe('DATA_MESSAGE');
      expect(doc.logEvents.length).toBe(set.events[i]);
      expect(doc.logEvents.length).toBeLessThanOrEqual(PAYLOAD_EVENTS);
      events += doc.logEvents.length;
      const k = `${doc.logGroup} ${doc.logStream}`;
      repacked.set(k, [...(repacked.get(k) ?? []), ...doc.logEvents.map((e) => e.id)]);
    });
    expect(events).toBe(set.logEvents);
    expect(repacked).toEqual(original);
    expect(set.cloudTrailLogEvents).toBeGreaterThan(0);
    expect(set.functions).toBe(4);
  }, 60_000);
});
