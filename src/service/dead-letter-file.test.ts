import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import type { DeadLetter } from '../core/events.ts';
import { DeadLetterFile } from './dead-letter-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'fnwatch-dlq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DeadLetterFile', () => {
  it('writes one JSON object per line, replacing what the file held', async () => {
    const path = join(dir, 'nested', 'dead.ndjson');
    const first = new DeadLetterFile(path);
    first.write({ reason: 'old', position: {} });
    await first.close();
    const dlq = new DeadLetterFile(path);
    const letters: DeadLetter[] = [
      { reason: 'bad-json', detail: 'Unexpected token', position: { file: 'a.ndjson', line: 3 }, raw: '{"x":' },
      { reason: 'bad-gzip', position: { shard: 'shardId-000000000000', sequence: '4960' } },
    ];
    for (const dl of letters) dlq.write(dl);
    await dlq.drained();
    await dlq.close();
    expect(dlq.count).toBe(2);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(letters);
  });

  it('writes a long burst completely when the writer waits on drained() between batches', async () => {
    const path = join(dir, 'many.ndjson');
    const dlq = new DeadLetterFile(path);
    const raw = 'x'.repeat(4000);
    for (let i = 0; i < 2000; i++) {
      dlq.write({ reason: 'bad-shape', position: { file: 'f', line: i + 1 }, raw });
      if (i % 100 === 99) await dlq.drained();
    }
    await dlq.close();
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(2000);
  });

  it('refuses a path it cannot write with a one-line usage error, before anything is read', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => new DeadLetterFile(join(file, 'dead.ndjson'))).toThrow(UsageError);
    expect(() => new DeadLetterFile(join(file, 'dead.ndjson'))).toThrow(/^cannot write dead letters to .*a-file\/dead\.ndjson: /);
  });
});
