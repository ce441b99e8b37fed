import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { parseServiceConfig } from './config.ts';
import { S3StateStore } from './s3-state-store.ts';
import { serviceSnapshot } from './state.ts';
import { describeStateStoreConformance } from './state-store-conformance.ts';
import { createStateStore, DirectoryStateStore } from './state-store.ts';
import { newStateWriter, parseStateWriter } from './state-writer.ts';
import { useFakeAws } from './testing.ts';

const root = mkdtempSync(join(tmpdir(), 'fnwatch-state-store-'));
let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = useFakeAws(); // createStateStore builds an S3 client: never from this machine's AWS settings
});
afterAll(() => {
  restoreEnv?.();
  rmSync(root, { recursive: true, force: true });
});

describe('DirectoryStateStore', () => {
  describeStateStoreConformance({
    open: async (tag) => new DirectoryStateStore(join(root, tag)),
    writeRaw: async (store, bytes) => {
      mkdirSync(dirname(store.location), { recursive: true });
      writeFileSync(store.location, bytes);
    },
  });

  it('writes baseline.json in the train format, which loadBaseline reads', async () => {
    const store = new DirectoryStateStore(join(root, 'train-format'));
    const path = await store.save(serviceSnapshot(new Pipeline().snapshot(), { logs: { s0: '7' } }));
    expect(path).toBe(join(root, 'train-format', 'baseline.json'));
    expect(loadBaseline(join(root, 'train-format')).schema).toBe('fnwatch.baseline/2');
    expect(JSON.parse(readFileSync(path, 'utf8')).positions).toEqual({ logs: { s0: '7' } });
  });
});

describe('DirectoryStateStore claim', () => {
  it('fails with a UsageError naming state.dir when the directory cannot be made (a file is in the way)', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a directory');
    const store = new DirectoryStateStore(join(file, 'state'));
    const err = await store.claim(newStateWriter()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`state.dir: cannot write to ${join(file, 'state')}: ENOTDIR`);
  });

  it('writes writer.json naming the instance, and nothing else', async () => {
    const dir = join(root, 'claimed');
    const writer = newStateWriter();
    await new DirectoryStateStore(dir).claim(writer);
    expect(readdirSync(dir)).toEqual(['writer.json']);
    expect(parseStateWriter(readFileSync(join(dir, 'writer.json'), 'utf8'))).toEqual(writer);
  });
});

describe('createStateStore', () => {
  const config = (state: Record<string, unknown>) => parseServiceConfig({ sources: [{ type: 'kinesis', streamName: 's', applicationName: 'app' }], state }).state!;

  it('picks the store the config names', () => {
    const dir = createStateStore(config({ dir: join(root, 'picked') }));
    expect(dir).toBeInstanceOf(DirectoryStateStore);
    expect(dir.location).toBe(join(root, 'picked', 'baseline.json'));
    const s3 = createStateStore(config({ s3: 's3://fnwatch-state/prod/' }), {});
    expect(s3).toBeInstanceOf(S3StateStore);
    expect(s3.location).toBe('s3://fnwatch-state/prod/baseline.json');
    s3.close();
  });
});
