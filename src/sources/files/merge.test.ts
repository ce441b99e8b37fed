import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../core/contracts.ts';
import { UsageError } from '../../core/contracts.ts';
import type { DeadLetter } from '../../core/events.ts';
import { writeEventsArrow } from './arrow.ts';
import type { ReplayEntry } from './formats.ts';
import { openReplaySource } from './index.ts';
import { expandInputs } from './inputs.ts';
import { ReplayMerge, type MergeOptions } from './merge.ts';
import { cloudTrailRecord, fixtureDir, invocationRecord, ndjson } from './testing.ts';

const fx = fixtureDir();
afterAll(() => fx.remove());

const T0 = Date.UTC(2024, 0, 1, 10);
const MIN = 60_000;

async function drain(merge: ReplayMerge, max = 5): Promise<ReplayEntry[]> {
  const out: ReplayEntry[] = [];
  for (let b = await merge.next(max); b.length > 0; b = await merge.next(max)) out.push(...b);
  merge.close();
  return out;
}

async function read(paths: string[], opts: MergeOptions = {}) {
  const merge = await ReplayMerge.open(paths, opts);
  const entries = await drain(merge);
  return { entries, stats: merge.stats };
}

/** `file#line` of each entry, to see where the merge took it from. */
function origins(entries: ReplayEntry[]): string[] {
  return entries.map((e) => {
    const pos = e.kind === 'item' ? e.item.position : e.position;
    return `${pos.file!.split('/').pop()}#${pos.line ?? pos.record}`;
  });
}

function trailAt(minutes: number[], tag: string) {
  return { Records: minutes.map((m, i) => cloudTrailRecord('orders', 'GetObject', new Date(T0 + m * MIN).toISOString(), `${tag}-${i}`)) };
}

describe('event-time merge across files', () => {
  it('interleaves files by item time: Kinesis arrival, log-event timestamp, CloudTrail eventTime', async () => {
    // Kinesis arrival is the event time + 200 ms (see invocationRecord)
    const kinesis = fx.write('m1/shard-0.ndjson.gz', ndjson([0, 3, 6].map((m) => invocationRecord('orders', `k${m}`, T0 + m * MIN))), true);
    const logs = fx.write(
      'm1/events.ndjson',
      ndjson([1, 4, 7].map((m) => ({ logGroup: '/aws/lambda/orders', logStream: 's', timestamp: T0 + m * MIN, message: `m${m}` }))),
    );
    const trail = fx.write('m1/trail.json.gz', JSON.stringify(trailAt([5, 2, 8], 'ct')), true);
    const { entries, stats } = await read([kinesis, logs, trail]);
    expect(origins(entries)).toEqual([
      'shard-0.ndjson.gz#1',
      'events.ndjson#1',
      'trail.json.gz#1', // eventTime minute 2 is the file's second record: files are sorted when read
      'shard-0.ndjson.gz#2',
      'events.ndjson#2',
      'trail.json.gz#1',
      'shard-0.ndjson.gz#3',
      'events.ndjson#3',
      'trail.json.gz#1',
    ]);
    const times = entries.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(stats).toMatchObject({ files: 3, entries: 9, outOfOrder: 0, firstTime: T0 + 200, lastTime: T0 + 8 * MIN });
  });

  it('keeps input order among equal times, and counts what a file leaves out of order', async () => {
    const row = (m: number, msg: string) => ({ logGroup: 'g', logStream: 's', timestamp: T0 + m * MIN, message: msg });
    const a = fx.write('m2/a.ndjson', ndjson([row(0, 'a0'), row(5, 'a5'), row(2, 'a2-late')]));
    const b = fx.write('m2/b.ndjson', ndjson([row(0, 'b0'), row(5, 'b5')]));
    const { entries, stats } = await read([a, b]);
    const messages = entries.map((e) => (e.kind === 'item' && e.item.type === 'log-event' ? e.item.event.message : '?'));
    expect(messages).toEqual(['a0', 'b0', 'a5', 'a2-late', 'b5']);
    expect(stats.outOfOrder).toBe(1);
  });

  it('opens a file only when the merge reaches it: sequential files are read one or two at a time', async () => {
    const paths: string[] = [];
    for (let f = 0; f < 30; f++) {
      paths.push(fx.write(`m3/trail-${String(f).padStart(2, '0')}.json.gz`, JSON.stringify(trailAt([f * 5, f * 5 + 1, f * 5 + 4], `f${f}`)), true));
    }
    const merge = await ReplayMerge.open([join(fx.dir, 'm3')]);
    const seenOpen: number[] = [];
    const entries: ReplayEntry[] = [];
    for (let b = await merge.next(2); b.length > 0; b = await merge.next(2)) {
      seenOpen.push(merge.openFiles);
      entries.push(...b);
    }
    merge.close();
    expect(entries).toHaveLength(90);
    expect(merge.stats.maxOpen).toBeLessThanOrEqual(2);
    expect(Math.max(...seenOpen)).toBeLessThanOrEqual(2);
    expect(merge.bytesDone()).toBe(merge.stats.bytesTotal);
  });

  it('keeps only items with from <= time < to, counting the rest', async () => {
    const path = fx.write('m4/shard.ndjson', ndjson([0, 1, 2, 3, 4].map((m) => invocationRecord('orders', `s${m}`, T0 + m * MIN))));
    const { entries, stats } = await read([path], { from: T0 + MIN, to: T0 + 3 * MIN + 200 });
    expect(entries.map((e) => e.time)).toEqual([T0 + MIN + 200, T0 + 2 * MIN + 200]);
    expect(stats.filtered).toBe(3);
  });
});

describe('inputs', () => {
  it('walks directories recursively in sorted order, skipping hidden entries', () => {
    fx.write('walk/b/2.ndjson', '{}\n');
    fx.write('walk/b/10.ndjson', '{}\n');
    fx.write('walk/a.ndjson', '{}\n');
    fx.write('walk/.hidden/x.ndjson', '{}\n');
    fx.write('walk/.DS_Store', 'x');
    const files = expandInputs([join(fx.dir, 'walk')]).map((f) => f.path.slice(fx.dir.length + 1));
    expect(files).toEqual(['walk/a.ndjson', 'walk/b/10.ndjson', 'walk/b/2.ndjson']);
  });

  it('rejects a missing path with one line naming it', async () => {
    const missing = join(fx.dir, 'nope', 'shard.ndjson');
    const err = await ReplayMerge.open([missing]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`no such file or directory: ${missing}`);
  });

  it('rejects a path through a file with one line', async () => {
    const file = fx.write('plain.ndjson', '{}\n');
    await expect(ReplayMerge.open([join(file, 'x')])).rejects.toThrow(`not a directory: ${join(file, 'x')}`);
  });

  it('skips files in a directory that are not replay inputs, and says which and why', async () => {
    fx.write('mixed/README.md', '# notes\n');
    fx.write('mixed/manifest.json', JSON.stringify({ name: 'x', files: [] }, null, 2));
    fx.write('mixed/empty.ndjson', '');
    const shard = fx.write('mixed/kinesis/shard-000.ndjson.gz', ndjson([invocationRecord('orders', '1', T0)]), true);
    const { entries, stats } = await read([join(fx.dir, 'mixed')]);
    expect(entries).toHaveLength(1);
    expect(stats.files).toBe(1);
    expect(stats.skipped.map((s) => [s.file.split('/').pop(), s.reason.split(':')[0]])).toEqual([
      ['README.md', 'not a replay input'],
      ['empty.ndjson', 'empty file'],
      ['manifest.json', 'not a replay input'],
    ]);
    expect(shard).toContain('kinesis');
  });

  it('does not read events.arrow found next to raw telemetry (it would count every event twice), unless named', async () => {
    fx.write('dataset/kinesis/shard-000.ndjson.gz', ndjson([invocationRecord('orders', '1', T0)]), true);
    const arrow = join(fx.dir, 'dataset', 'events.arrow');
    await writeEventsArrow(arrow, [{ kind: 'invocation', time: T0, fn: { name: 'orders' }, status: 'success', format: 'text' }]);
    const walked = await read([join(fx.dir, 'dataset')]);
    expect(walked.entries.map((e) => e.kind)).toEqual(['item']);
    expect(walked.stats.skipped).toEqual([{ file: arrow, reason: expect.stringContaining('count twice') }]);
    const named = await read([join(fx.dir, 'dataset'), arrow]);
    expect(named.entries.map((e) => e.kind).sort()).toEqual(['event', 'item']);
  });

  it('refuses a selection with nothing to replay', async () => {
    fx.write('docs-only/README.md', '# nothing here\n');
    await expect(ReplayMerge.open([join(fx.dir, 'docs-only')])).rejects.toThrow(/nothing to replay in .*README\.md: not a replay input/);
  });
});

describe('openReplaySource', () => {
  it('yields batches of source items in merged order with a watermark; ack is a no-op', async () => {
    const a = fx.write('src/a.ndjson', ndjson([0, 2, 4].map((m) => invocationRecord('a', `a${m}`, T0 + m * MIN))));
    const b = fx.write('src/b.ndjson', ndjson([1, 3, 5].map((m) => invocationRecord('b', `b${m}`, T0 + m * MIN))));
    const bad = fx.write('src/c.ndjson', `{"SequenceNumber": "c0", "Da\n${JSON.stringify(invocationRecord('c', 'c6', T0 + 6 * MIN))}\n`);
    const deadLetters: DeadLetter[] = [];
    const source = openReplaySource([a, b, bad], { batchSize: 4, onDeadLetter: (dl) => deadLetters.push(dl) });
    const batches: Batch[] = [];
    for await (const batch of source.batches()) {
      await batch.ack();
      batches.push(batch);
    }
    expect(batches.map((x) => x.items.length)).toEqual([4, 3]);
    expect(batches.map((x) => x.watermark)).toEqual([T0 + 3 * MIN + 200, T0 + 6 * MIN + 200]);
    expect(batches.flatMap((x) => x.items.map((i) => i.position.sequence))).toEqual(['a0', 'b1', 'a2', 'b3', 'a4', 'b5', 'c6']);
    expect(deadLetters).toEqual([expect.objectContaining({ reason: 'bad-json', position: { file: bad, line: 1 } })]);
    expect(source.stats).toMatchObject({ files: 3, entries: 7, deadLetters: 1 });
  });

  it('stops after the current batch once closed', async () => {
    const path = fx.write('src2/a.ndjson', ndjson([0, 1, 2, 3, 4, 5].map((m) => invocationRecord('a', `a${m}`, T0 + m * MIN))));
    const source = openReplaySource([path], { batchSize: 2 });
    let batches = 0;
    for await (const _ of source.batches()) {
      batches++;
      await source.close();
    }
    expect(batches).toBe(1);
  });

  it('refuses Arrow files, which hold normalized events rather than source items', async () => {
    const arrow = join(fx.dir, 'src3.arrow');
    await writeEventsArrow(arrow, [{ kind: 'invocation', time: T0, fn: { name: 'a' }, status: 'success', format: 'text' }]);
    const source = openReplaySource([arrow]);
    const it = source.batches()[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(UsageError);
  });
});
