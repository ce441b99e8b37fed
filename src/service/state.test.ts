import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Batch, Source, SourceItem } from '../core/contracts.ts';
import { UsageError } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { DEMO_DATASET } from './demo.ts';
import { readRecordDumps } from './embedded.ts';
import { MergedSource } from './merge-sources.ts';
import { loadState, parseState, PositionTracker, saveState, serviceSnapshot } from './state.ts';

const dir = mkdtempSync(join(tmpdir(), 'fnwatch-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source over fixed batches of payload items (shard, sequence), recording acks. */
class ListSource implements Source {
  readonly acked: number[] = [];
  closed = false;
  constructor(
    readonly name: string,
    private readonly batchesOf: Array<Array<[string, string]>>,
    private readonly gapMs = 0,
  ) {}
  async *batches(): AsyncGenerator<Batch> {
    for (const [i, b] of this.batchesOf.entries()) {
      if (this.closed) return;
      if (this.gapMs) await new Promise((r) => setTimeout(r, this.gapMs));
      const items: SourceItem[] = b.map(([shard, sequence]) => ({ type: 'payload', data: 'x', position: { shard, sequence } }));
      yield { items, ack: () => void this.acked.push(i) };
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const seqs = (b: Batch) => b.items.map((i) => `${i.position.shard}/${i.position.sequence}`);

describe('PositionTracker', () => {
  it('records positions only once a batch is acknowledged', async () => {
    const src = new ListSource('k', [[['s0', '10'], ['s0', '11']], [['s1', '5']]]);
    const t = new PositionTracker(src, 'logs');
    const it = t.batches()[Symbol.asyncIterator]();
    const first = (await it.next()).value as Batch;
    expect(t.processed()).toEqual({ logs: {} });
    await first.ack();
    expect(t.processed()).toEqual({ logs: { s0: '11' } });
    const second = (await it.next()).value as Batch;
    expect(t.processed()).toEqual({ logs: { s0: '11' } });
    await second.ack();
    expect(t.processed()).toEqual({ logs: { s0: '11', s1: '5' } });
    expect(src.acked).toEqual([0, 1]);
  });

  it('drops records at or before the restored position, compared as big integers, per shard', async () => {
    const big = '49590338271490256608559692538361571095921575989136588898';
    const next = (BigInt(big) + 1n).toString();
    const src = new ListSource('k', [[['s0', '9'], ['s0', big], ['s1', '3']], [['s0', next], ['s0', '7']]]);
    const t = new PositionTracker(src, 'logs', { logs: { s0: big }, other: { s1: '99' } });
    const got: string[][] = [];
    for await (const b of t.batches()) {
      got.push(seqs(b));
      await b.ack();
    }
    // Once past the restored position, a shard is not filtered any more.
    expect(got).toEqual([['s1/3'], [`s0/${next}`, 's0/7']]);
    expect(t.skipped).toBe(2);
    expect(src.acked).toEqual([0, 1]); // skipped records are still acknowledged
    expect(t.processed()).toEqual({ logs: { s0: '7', s1: '3' } });
  });
});

describe('saveState / loadState', () => {
  it('round-trips baselines with positions in the train format', () => {
    const p = new Pipeline();
    const path = saveState(join(dir, 'a'), p.snapshot(), { logs: { s0: '42' } });
    expect(loadBaseline(path).schema).toBe('fnwatch.baseline/2');
    expect(loadState(join(dir, 'a'))?.positions).toEqual({ logs: { s0: '42' } });
    expect(loadState(join(dir, 'empty'))).toBeUndefined();
  });

  it('refuses a file that is not a baseline, and ignores malformed positions', () => {
    const bad = join(dir, 'bad');
    saveState(bad, new Pipeline().snapshot(), {});
    writeFileSync(join(bad, 'baseline.json'), '{"schema":"other"}');
    expect(() => loadState(bad)).toThrow(UsageError);
    const odd = join(dir, 'odd');
    saveState(odd, new Pipeline().snapshot(), { logs: { s0: 'not-a-number' } });
    expect(loadState(odd)?.positions).toBeUndefined();
  });
});

describe('parseState', () => {
  it('reads what loadState reads from text, naming where it came from when it is not a baseline', () => {
    const snap = serviceSnapshot(new Pipeline().snapshot(), { logs: { s0: '42' } }, []);
    expect(parseState(JSON.stringify(snap), 's3://b/p/baseline.json')).toEqual(snap);
    expect(parseState(JSON.stringify({ ...snap, positions: { logs: { s0: 'x' } } }), 'here').positions).toBeUndefined();
    expect(() => parseState('[1,', 's3://b/p/baseline.json')).toThrow(/^baseline s3:\/\/b\/p\/baseline\.json is not valid JSON/);
    expect(() => parseState('null', 's3://b/p/baseline.json')).toThrow('baseline s3://b/p/baseline.json has schema undefined; this fnwatch reads fnwatch.baseline/2 and fnwatch.baseline/1');
    expect(() => parseState('{"schema":"fnwatch.baseline/1"}', 'x')).toThrow(UsageError);
  });
});

describe('restart equivalence', () => {
  it('a pipeline restored from saved state raises exactly the alerts of an uninterrupted one', () => {
    const records = readRecordDumps(DEMO_DATASET);
    const run = (p: Pipeline, from: number, to: number): string[] => {
      const out: string[] = [];
      for (let i = from; i < to; i++) {
        for (const a of p.processBatch([{ type: 'payload', data: records[i]!.data, position: { record: i } }])) out.push(`${a.finding_info.uid}/${a.activity_id}`);
      }
      return out;
    };
    const uninterrupted = run(new Pipeline(), 0, records.length);
    expect(uninterrupted.length).toBeGreaterThan(3);
    const restartAt = (cut: number, withOpenAlerts: boolean): string[] => {
      const before = new Pipeline();
      const first = run(before, 0, cut);
      const stateDir = join(dir, `cut-${cut}-${withOpenAlerts}`);
      saveState(stateDir, before.snapshot(), {}, withOpenAlerts ? before.engine.scorer.openAlerts() : []);
      const saved = loadState(stateDir)!;
      const after = new Pipeline({ baseline: saved });
      after.engine.scorer.restoreOpenAlerts(saved.openAlerts!);
      return [...first, ...run(after, cut, records.length)];
    };
    for (let cut = 500; cut < records.length; cut += 500) expect(restartAt(cut, true), `restart at record ${cut}`).toEqual(uninterrupted);
    // Without the open alerts, a restart during the crypto-mining attack (records 3952-4300) alerts on it again.
    expect(restartAt(4200, false)).not.toEqual(uninterrupted);
  }, 60_000);
});

describe('MergedSource', () => {
  it('hands out every batch of every source and closes them all', async () => {
    const a = new ListSource('a', [[['a', '1']], [['a', '2']], [['a', '3']]], 5);
    const b = new ListSource('b', [[['b', '1']], [['b', '2']]], 8);
    const merged = new MergedSource([a, b]);
    const got: string[] = [];
    for await (const batch of merged.batches()) {
      got.push(...seqs(batch));
      await batch.ack();
    }
    expect(got.filter((s) => s.startsWith('a/'))).toEqual(['a/1', 'a/2', 'a/3']);
    expect(got.filter((s) => s.startsWith('b/'))).toEqual(['b/1', 'b/2']);
    expect(a.closed && b.closed).toBe(true);
    expect(merged.name).toBe('a+b');
  });

  it('ends with the error of a source that fails', async () => {
    const ok = new ListSource('ok', [[['a', '1']]], 50);
    const failing: Source = {
      name: 'bad',
      async *batches() {
        throw new UsageError('stream gone');
      },
      close: async () => {},
    };
    const merged = new MergedSource([ok, failing]);
    await expect(
      (async () => {
        for await (const b of merged.batches()) await b.ack();
      })(),
    ).rejects.toThrow('stream gone');
    expect(ok.closed).toBe(true);
  });
});
