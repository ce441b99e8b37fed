/**
 * The contract every {@link StateStore} keeps, as one shared test suite (`describeStateStoreConformance`),
 * run by the directory store's tests and the S3 store's (against moto):
 *
 * - nothing saved loads as `undefined`;
 * - save then load gives back the same snapshot (baselines, positions, open alerts), in the
 *   `fnwatch train` format;
 * - a later save replaces an earlier one;
 * - a claim (at start) succeeds on fresh storage and leaves a saved snapshot as it was;
 * - once another instance has claimed the location, a save is refused with a StateTakenError naming it;
 * - something at the location that is not a snapshot is a UsageError naming the location.
 */
import { expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { BASELINE_SCHEMA } from '../profiler/snapshot.ts';
import { DEMO_DATASET } from './demo.ts';
import { readRecordDumps } from './embedded.ts';
import { serviceSnapshot, type ServiceSnapshot } from './state.ts';
import type { StateStore } from './state-store.ts';
import { newStateWriter, StateTakenError } from './state-writer.ts';

/** How to run one kind of store under the suite. */
export interface StateStoreHarness {
  /** A store over fresh, empty storage (a new directory, a new prefix); `tag` is unique per test, and a second open with the same tag is a second store on the same location */
  open(tag: string): Promise<StateStore>;
  /** Writes `bytes` where `store` keeps its snapshot, bypassing the store (a corrupt or foreign file) */
  writeRaw(store: StateStore, bytes: string): Promise<void>;
}

/** A snapshot with learned baselines and open alerts: the first `n` demo records through a pipeline. */
function learnedSnapshot(n: number, positions: Record<string, Record<string, string>>): ServiceSnapshot {
  const records = readRecordDumps(DEMO_DATASET);
  const pipeline = new Pipeline();
  for (let i = 0; i < n; i++) pipeline.processBatch([{ type: 'payload', data: records[i]!.data, position: { record: i } }]);
  return serviceSnapshot(pipeline.snapshot(), positions, pipeline.engine.scorer.openAlerts());
}

/**
 * Declares the conformance tests (call inside a `describe`).
 *
 * @example
 * describe('DirectoryStateStore', () => describeStateStoreConformance({ open: async (tag) => new DirectoryStateStore(join(root, tag)), writeRaw }));
 */
export function describeStateStoreConformance(harness: StateStoreHarness): void {
  it('loads nothing before the first save', async () => {
    const store = await harness.open('empty');
    try {
      expect(await store.load()).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('loads what it saved: the same baselines, positions and open alerts', async () => {
    const store = await harness.open('roundtrip');
    try {
      const snap = learnedSnapshot(4300, { logs: { 'shardId-000000000000': '49590338271490256608559692538361571095921575989136588898' } });
      expect(snap.functions.length).toBeGreaterThan(3);
      expect(snap.openAlerts!.length).toBeGreaterThan(0);
      const where = await store.save(snap);
      expect(where).toBe(store.location);
      const loaded = await store.load();
      expect(loaded?.schema).toBe(BASELINE_SCHEMA);
      // What was saved is what a JSON round trip of it gives (the format is JSON).
      expect(loaded).toEqual(JSON.parse(JSON.stringify(snap)));
      // A pipeline restored from it holds the same baselines.
      expect(new Pipeline({ baseline: loaded }).snapshot().functions).toEqual(loaded!.functions);
    } finally {
      store.close();
    }
  }, 60_000);

  it('replaces an earlier snapshot with a later one', async () => {
    const store = await harness.open('replace');
    try {
      await store.save(learnedSnapshot(300, { logs: { s0: '1' } }));
      const later = learnedSnapshot(900, { logs: { s0: '2' } });
      await store.save(later);
      const loaded = await store.load();
      expect(loaded?.positions).toEqual({ logs: { s0: '2' } });
      expect(loaded?.functions).toEqual(JSON.parse(JSON.stringify(later.functions)));
    } finally {
      store.close();
    }
  }, 60_000);

  it('claims fresh storage, and the claim leaves a saved snapshot as it was', async () => {
    const store = await harness.open('claim');
    try {
      await store.claim(newStateWriter());
      expect(await store.load()).toBeUndefined();
      await store.save(learnedSnapshot(300, { logs: { s0: '3' } }));
      const before = await store.load();
      await store.claim(newStateWriter()); // a restart: a new claim by the next instance
      expect(await store.load()).toEqual(before);
      await store.save(learnedSnapshot(300, { logs: { s0: '4' } }));
      expect((await store.load())?.positions).toEqual({ logs: { s0: '4' } });
    } finally {
      store.close();
    }
  }, 60_000);

  it('refuses to save once another instance has claimed the location, naming it, and leaves its snapshot alone', async () => {
    const [first, second] = [await harness.open('taken'), await harness.open('taken')];
    try {
      await first.claim(newStateWriter());
      await first.save(learnedSnapshot(300, { logs: { s0: '1' } }));
      const other = { ...newStateWriter(), host: 'replica-b.internal', pid: 4242 };
      await second.claim(other);
      const theirs = learnedSnapshot(600, { logs: { s0: '2' } });
      await second.save(theirs);

      const err = await first.save(learnedSnapshot(900, { logs: { s0: '3' } })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StateTakenError);
      expect((err as StateTakenError).by).toEqual(other);
      expect((err as Error).message).toContain(`${first.location} is now written by another fnwatch (host replica-b.internal, pid 4242, started ${other.startedAt})`);
      expect((await second.load())?.positions).toEqual({ logs: { s0: '2' } });
      // The instance that claimed last goes on saving.
      await second.save(learnedSnapshot(900, { logs: { s0: '4' } }));
      expect((await first.load())?.positions).toEqual({ logs: { s0: '4' } });
    } finally {
      first.close();
      second.close();
    }
  }, 60_000);

  it('refuses something that is not a snapshot with a UsageError naming where it is', async () => {
    const store = await harness.open('corrupt');
    try {
      for (const [bytes, reason] of [
        ['{"schema":"fnwatch.baseline/2","functions":[', /is not valid JSON/],
        ['{"schema":"something-else","functions":[]}', /has schema "something-else"/],
        ['{"schema":"fnwatch.baseline/2"}', /has no "functions" array/],
      ] as const) {
        await harness.writeRaw(store, bytes);
        const err = await store.load().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, bytes).toBeInstanceOf(UsageError);
        expect((err as Error).message).toContain(store.location);
        expect((err as Error).message).toMatch(reason);
      }
    } finally {
      store.close();
    }
  });
}
