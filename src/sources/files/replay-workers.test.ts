import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../../datasets/generator/generate.ts';
import type { Alert } from '../../core/alert.ts';
import { UsageError, type Sink } from '../../core/contracts.ts';
import type { DeadLetter } from '../../core/events.ts';
import type { BaselineSnapshot } from '../../profiler/snapshot.ts';
import { runReplay, type ReplayProgress, type ReplayResult } from './replay.ts';
import { fixtureDir, invocationRecord, kinesisEntry, ndjson } from './testing.ts';

const DEMO = fileURLToPath(new URL('../../../datasets/demo/kinesis', import.meta.url));
const fx = fixtureDir('fnwatch-replay-workers-');
afterAll(() => fx.remove());

const T0 = Date.UTC(2024, 0, 1, 0);

/** Keeps what it is given, as a file or webhook sink would receive it. */
class MemorySink implements Sink {
  readonly name = 'memory';
  readonly written: Alert[] = [];
  flushes = 0;
  async write(alerts: Alert[]): Promise<void> {
    this.written.push(...alerts);
  }
  async flush(): Promise<void> {
    this.flushes++;
  }
  async close(): Promise<void> {}
}

/**
 * An alert as compared across thread counts: all of it but `unmapped.peer_functions`. That field
 * (new-egress-host, new-resource-access) counts the *other* functions that use the host or action,
 * from the engine's fleet profile, and each worker's fleet holds only the functions placed on it: on
 * the demo a single pipeline says 9 peers where the worker holding inventory-api says 4. Everything
 * else, severity included, must match on these datasets. (A count of 0 on a worker where one
 * pipeline sees peers would change the verdict, see `surprising` in new-egress-host.ts; these
 * datasets do not have one, and the count is what a test here would catch first.)
 */
function comparable(a: Alert): unknown {
  const { peer_functions: _peers, ...unmapped } = (a.unmapped ?? {}) as Record<string, unknown>;
  return { ...a, unmapped };
}

/** Alerts in a fixed order: workers return them per batch and per worker, not in the order one pipeline raises them. */
function sorted(alerts: readonly Alert[]): unknown[] {
  const key = (a: Alert): string => `${a.finding_info.uid} ${a.time} ${a.activity_id}`;
  return [...alerts].sort((a, b) => key(a).localeCompare(key(b))).map(comparable);
}

/** Per function (by identity), its learned profile, in a fixed order. */
function profiles(snap: BaselineSnapshot): Map<string, Record<string, unknown>> {
  return new Map(snap.functions.map((f) => [JSON.stringify((f as { fn: unknown }).fn), f]));
}

function expectSameReplay(one: ReplayResult, two: ReplayResult): void {
  expect(two.workers).toBe(2);
  expect(two.pipeline).toBeUndefined();
  expect(two.counts).toEqual(one.counts);
  expect(two.alerts).toHaveLength(one.alerts.length);
  expect(sorted(two.alerts)).toEqual(sorted(one.alerts));
  expect(two.merge.entries).toBe(one.merge.entries);
}

describe('runReplay with worker threads', () => {
  it('gives the demo’s counts, alerts and learned baselines as one pipeline does, to the sinks and progress too', async () => {
    const one = await runReplay({ inputs: [DEMO] });
    const sink = new MemorySink();
    const seen: Alert[] = [];
    const progress: ReplayProgress[] = [];
    const two = await runReplay({ inputs: [DEMO], workers: 2, sinks: [sink], onAlert: (a) => seen.push(a), onBatch: (p) => void progress.push(p), batchSize: 500 });
    expect(one.alerts.length).toBeGreaterThan(3);
    expectSameReplay(one, two);

    expect(sorted(sink.written)).toEqual(sorted(two.alerts));
    expect(sorted(seen)).toEqual(sorted(two.alerts));
    expect(sink.flushes).toBe(1);
    expect(progress).toHaveLength(Math.ceil(two.merge.entries / 500));
    expect(progress.at(-1)).toMatchObject({ entries: two.merge.entries, bytesDone: progress.at(-1)!.bytesTotal, position: two.merge.lastTime });
    // Progress counts what the workers have finished: never more than the total, and rising.
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.events).toBeGreaterThanOrEqual(progress[i - 1]!.events);
    expect(progress.at(-1)!.events).toBeLessThanOrEqual(one.counts.events.invocation + one.counts.events.resource_access + one.counts.events.egress + one.counts.events.change);

    // Each function's whole state lived in one worker: the merged baselines are the single pipeline's.
    const snapOne = one.snapshot();
    const snapTwo = two.snapshot();
    expect(snapTwo.watermark).toBe(snapOne.watermark);
    const a = profiles(snapOne);
    const b = profiles(snapTwo);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect(a.size).toBe(12);
    for (const [fn, p] of a) expect(b.get(fn), fn).toEqual(p);
  }, 60_000);

  describe('on a generated dataset', () => {
    let dir: string;
    beforeAll(async () => {
      dir = join(fx.dir, 'gen');
      await generateDataset({ seed: 41, out: dir, days: 2, functions: 10, scale: 0.1 });
    }, 60_000);

    it('gives the same counts, alerts and functions from its Kinesis records', async () => {
      const inputs = [join(dir, 'kinesis')];
      const one = await runReplay({ inputs });
      const two = await runReplay({ inputs, workers: 2, batchSize: 700 });
      expect(one.alerts.length).toBeGreaterThan(3);
      expectSameReplay(one, two);
      expect([...profiles(two.snapshot()).keys()].sort()).toEqual([...profiles(one.snapshot()).keys()].sort());
    }, 60_000);

    it('gives the same from its Arrow events, routed by function on the coordinator', async () => {
      const inputs = [join(dir, 'events.arrow')];
      const one = await runReplay({ inputs });
      const two = await runReplay({ inputs, workers: 2 });
      expect(one.counts.records).toBe(0);
      expect(one.counts.events.invocation).toBeGreaterThan(1000);
      expectSameReplay(one, two);
      expect([...profiles(two.snapshot()).keys()].sort()).toEqual([...profiles(one.snapshot()).keys()].sort());
    }, 60_000);
  });

  it('counts and dead-letters bad lines of files and bad records in the workers, as one pipeline does', async () => {
    const kinesis = fx.write('bad/shard.ndjson', ndjson([0, 1, 2].map((i) => invocationRecord('orders', `s${i}`, T0 + i * 1000))) + 'garbage line\n');
    const badPayload = fx.write('bad/bad-payload.ndjson', ndjson([kinesisEntry('x1', T0 + 5000, '!!!not base64 gzip!!!')]));
    const dead: DeadLetter[][] = [[], []];
    const one = await runReplay({ inputs: [kinesis, badPayload], onDeadLetter: (dl) => dead[0]!.push(dl) });
    const two = await runReplay({ inputs: [kinesis, badPayload], workers: 2, onDeadLetter: (dl) => dead[1]!.push(dl) });
    expect(two.counts).toEqual(one.counts);
    expect(two.counts).toMatchObject({ records: 4, dead_letter: 2, events: { invocation: 3 } });
    const where = (d: DeadLetter[]): string[] => d.map((x) => `${x.position.file}:${x.position.line} ${x.reason}`).sort();
    expect(where(dead[1]!)).toEqual(where(dead[0]!));
    expect(dead[1]).toHaveLength(2);
  }, 60_000);

  it('ends with the error of a sink that fails, or of onStart, with nothing left unhandled', async () => {
    const failing: Sink = {
      name: 'failing',
      write: async () => {
        throw new Error('disk full');
      },
      flush: async () => {},
      close: async () => {},
    };
    await expect(runReplay({ inputs: [DEMO], workers: 2, sinks: [failing] })).rejects.toThrow('disk full');
    await expect(
      runReplay({
        inputs: [DEMO],
        workers: 2,
        onStart: () => {
          throw new UsageError('cannot write the summary');
        },
      }),
    ).rejects.toThrow('cannot write the summary');
  }, 60_000);

  it('refuses what cannot cross threads, and a thread count below 1, before reading anything', async () => {
    const observer = (): void => {};
    await expect(runReplay({ inputs: [DEMO], workers: 2, pipeline: { observer } })).rejects.toThrow(new UsageError('pipeline.observer cannot be used with workers > 1: it must see every event on the main thread'));
    await expect(runReplay({ inputs: [DEMO], workers: 2, pipeline: { onEvent: () => {} } })).rejects.toThrow(/^pipeline\.onEvent cannot be used with workers > 1/);
    await expect(runReplay({ inputs: [DEMO], workers: 2, pipeline: { parser: { isKnownFunction: () => true } } })).rejects.toThrow(/isKnownFunction cannot be used with workers > 1/);
    await expect(runReplay({ inputs: [DEMO], workers: 0 })).rejects.toThrow(UsageError);
    await expect(runReplay({ inputs: [DEMO], workers: 1.5 })).rejects.toThrow(/workers must be a whole number of at least 1, got 1\.5/);
    // Single-threaded, the observer is fine and the pipeline is in the result.
    let observed = 0;
    const r = await runReplay({ inputs: [DEMO], pipeline: { observer: () => void observed++ } });
    expect(observed).toBeGreaterThan(0);
    expect(r.pipeline.engine.profiles.size).toBe(12);
  }, 60_000);
});
