import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../core/contracts.ts';
import type { DeadLetter, FnEvent } from '../../core/events.ts';
import { writeEventsArrow } from './arrow.ts';
import { arrivalTime, classify, type ReplayEntry } from './formats.ts';
import { ReplayMerge, type MergeOptions, type MergeStats } from './merge.ts';
import { cloudTrailRecord, fixtureDir, invocationRecord, kinesisEntry, ndjson, subscriptionData } from './testing.ts';

const fx = fixtureDir();
afterAll(() => fx.remove());

const T0 = Date.UTC(2024, 0, 1, 10);

async function readAll(paths: string[], opts: MergeOptions = {}): Promise<{ entries: ReplayEntry[]; deadLetters: DeadLetter[]; stats: MergeStats }> {
  const deadLetters: DeadLetter[] = [];
  const merge = await ReplayMerge.open(paths, { ...opts, onDeadLetter: (dl) => deadLetters.push(dl) });
  const entries: ReplayEntry[] = [];
  for (let batch = await merge.next(7); batch.length > 0; batch = await merge.next(7)) entries.push(...batch);
  merge.close();
  return { entries, deadLetters, stats: merge.stats };
}

function items(entries: ReplayEntry[]) {
  return entries.map((e) => {
    if (e.kind !== 'item') throw new Error('expected source items');
    return e.item;
  });
}

const records = [0, 1, 2].map((i) => invocationRecord('orders', `4960000000000000000000000${i}`, T0 + i * 60_000));

describe.each([false, true])('Kinesis record dumps (gzip: %s)', (gzip) => {
  it('reads NDJSON of get-records entries as payload items with file, line and sequence', async () => {
    const path = fx.write(`kinesis-${gzip}.txt`, ndjson(records), gzip);
    const { entries, deadLetters } = await readAll([path]);
    expect(deadLetters).toEqual([]);
    expect(entries.map((e) => e.time)).toEqual([0, 1, 2].map((i) => T0 + i * 60_000 + 200));
    expect(items(entries)).toEqual(
      records.map((r, i) => ({
        type: 'payload',
        data: r.Data,
        arrival: T0 + i * 60_000 + 200,
        position: { file: path, line: i + 1, sequence: r.SequenceNumber },
      })),
    );
  });

  it('reads a whole get-records output, pretty-printed, with record indexes', async () => {
    const doc = { Records: records, NextShardIterator: 'AAAA', MillisBehindLatest: 0 };
    const path = fx.write(`get-records-${gzip}.json`, JSON.stringify(doc, null, 2), gzip);
    const { entries, deadLetters } = await readAll([path]);
    expect(deadLetters).toEqual([]);
    expect(items(entries).map((i) => i.position)).toEqual(records.map((r, i) => ({ file: path, record: i, sequence: r.SequenceNumber })));
  });

  it('dead-letters bad lines with their file and line, and reads the rest', async () => {
    const text = [
      JSON.stringify(records[0]),
      '{"SequenceNumber":"1","Data":', // truncated
      JSON.stringify({ SequenceNumber: '2', ApproximateArrivalTimestamp: 1, PartitionKey: 'p' }), // no Data
      JSON.stringify(records[1]),
      '',
      'not json at all',
      JSON.stringify(records[2]),
    ].join('\n');
    const path = fx.write(`kinesis-bad-${gzip}.ndjson`, text, gzip);
    const { entries, deadLetters, stats } = await readAll([path]);
    expect(items(entries).map((i) => i.position.line)).toEqual([1, 4, 7]);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual([
      ['bad-json', { file: path, line: 2 }],
      ['bad-shape', { file: path, line: 3 }],
      ['bad-json', { file: path, line: 6 }],
    ]);
    expect(deadLetters[0]!.raw).toBe('{"SequenceNumber":"1","Data":');
    expect(stats.deadLetters).toBe(3);
  });
});

describe.each([false, true])('CloudTrail log files (gzip: %s)', (gzip) => {
  it('reads Records as cloudtrail items, sorted by eventTime within the file', async () => {
    const recs = [
      cloudTrailRecord('orders', 'GetObject', '2024-01-01T10:05:00Z', 'e-2'),
      cloudTrailRecord('orders', 'PutObject', '2024-01-01T10:01:00Z', 'e-1'),
      cloudTrailRecord('orders', 'ListBucket', '2024-01-01T10:09:00Z', 'e-3'),
    ];
    const path = fx.write(`111_CloudTrail_us-east-1_${gzip}.bin`, JSON.stringify({ Records: recs }), gzip);
    const { entries, deadLetters } = await readAll([path]);
    expect(deadLetters).toEqual([]);
    const got = items(entries);
    expect(got.map((i) => (i.type === 'cloudtrail' ? (i.record as { eventID: string }).eventID : i.type))).toEqual(['e-1', 'e-2', 'e-3']);
    // CloudTrail writes a file as one line, so records carry line 1 and their index in Records
    expect(got.map((i) => i.position)).toEqual([1, 0, 2].map((record) => ({ file: path, line: 1, record })));
  });

  it('dead-letters a record that is not an object, and a file that is damaged JSON as one dead letter', async () => {
    const mixed = fx.write(`trail-mixed-${gzip}.json`, JSON.stringify({ Records: [cloudTrailRecord('f', 'GetObject', '2024-01-01T10:00:00Z', 'e'), 42] }), gzip);
    const broken = fx.write(`trail-broken-${gzip}.json`, '{\n  "Records": [\n    {"eventVersion": "1.08", "eventTime": \n', gzip);
    const { entries, deadLetters } = await readAll([mixed, broken]);
    expect(entries).toHaveLength(1);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual(
      expect.arrayContaining([
        ['bad-shape', { file: mixed, line: 1, record: 1 }],
        ['bad-json', { file: broken }],
      ]),
    );
    expect(deadLetters).toHaveLength(2);
  });
});

describe.each([false, true])('aws logs filter-log-events output (gzip: %s)', (gzip) => {
  const output = {
    events: [
      { logStreamName: '2024/01/01/[$LATEST]abc', timestamp: T0, message: 'START RequestId: r1 Version: $LATEST\n', ingestionTime: T0 + 500, eventId: '111' },
      { logStreamName: '2024/01/01/[$LATEST]abc', timestamp: T0 + 20, message: 'END RequestId: r1\n', ingestionTime: T0 + 520, eventId: '112' },
      { logStreamName: '2024/01/01/[$LATEST]abc', message: 'no timestamp' },
    ],
    searchedLogStreams: [],
  };

  it('reads events as log-event items of the group given by --log-group', async () => {
    const path = fx.write(`filter-${gzip}.json`, JSON.stringify(output, null, 4), gzip);
    const { entries, deadLetters } = await readAll([path], { logGroup: '/aws/lambda/orders' });
    expect(items(entries)).toEqual([
      {
        type: 'log-event',
        event: { logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', timestamp: T0, message: output.events[0]!.message, id: '111' },
        position: { file: path, record: 0, logGroup: '/aws/lambda/orders', logEventId: '111' },
      },
      {
        type: 'log-event',
        event: { logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', timestamp: T0 + 20, message: 'END RequestId: r1\n', id: '112' },
        position: { file: path, record: 1, logGroup: '/aws/lambda/orders', logEventId: '112' },
      },
    ]);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual([['bad-field', { file: path, record: 2 }]]);
  });

  it('without --log-group is a usage error naming the file', async () => {
    const path = fx.write(`filter-nogroup-${gzip}.json`, JSON.stringify(output), gzip);
    const err = await readAll([path]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain('--log-group');
  });
});

describe.each([false, true])('log-event NDJSON (gzip: %s)', (gzip) => {
  it('reads {logGroup, logStream, timestamp, message} lines and dead-letters lines of the wrong shape', async () => {
    const lines = [
      { logGroup: '/aws/lambda/a', logStream: 's', timestamp: T0, message: 'm1', owner: '111111111111', region: 'eu-west-1', id: 7 },
      { logGroup: '/aws/lambda/a', logStream: 's', timestamp: 'yesterday', message: 'bad time' },
      { logGroup: '/aws/lambda/a', logStream: 's', timestamp: T0 + 1, message: 'm2' },
      [1, 2, 3],
    ];
    const path = fx.write(`events-${gzip}.log`, ndjson(lines), gzip);
    const { entries, deadLetters } = await readAll([path]);
    expect(items(entries)).toEqual([
      {
        type: 'log-event',
        event: { logGroup: '/aws/lambda/a', logStream: 's', timestamp: T0, message: 'm1', owner: '111111111111', region: 'eu-west-1', id: '7' },
        position: { file: path, line: 1, logGroup: '/aws/lambda/a', logEventId: '7' },
      },
      { type: 'log-event', event: { logGroup: '/aws/lambda/a', logStream: 's', timestamp: T0 + 1, message: 'm2' }, position: { file: path, line: 3, logGroup: '/aws/lambda/a' } },
    ]);
    expect(deadLetters.map((d) => [d.reason, d.position.line, d.detail])).toEqual([
      ['bad-field', 2, 'timestamp must be epoch milliseconds'],
      ['bad-shape', 4, 'expected a {logGroup, logStream, timestamp, message} object'],
    ]);
  });
});

describe.each([false, true])('Arrow event files (gzip: %s)', (gzip) => {
  it('reads normalized events with file and record index', async () => {
    const events: FnEvent[] = [
      { kind: 'invocation', time: T0, fn: { name: 'a' }, status: 'success', format: 'text', durationMs: 12 },
      { kind: 'egress', time: T0 + 5, fn: { name: 'a' }, host: 'api.example.com', port: 443, via: 'instrumentation' },
    ];
    const plain = fx.write(`arrow-src-${gzip}/events.arrow`, '');
    await writeEventsArrow(plain, events);
    const path = gzip ? fx.write('events.arrow.gz', gzipSync(await import('node:fs').then((fs) => fs.readFileSync(plain)))) : plain;
    const { entries, deadLetters } = await readAll([path]);
    expect(deadLetters).toEqual([]);
    expect(entries).toEqual(events.map((event, record) => ({ kind: 'event', time: event.time, event, position: { file: path, record } })));
  });
});

describe('detection', () => {
  it('is by content: a file named .json holding NDJSON, a .ndjson holding one document', async () => {
    const a = fx.write('misnamed.json', ndjson(records));
    const b = fx.write('misnamed.ndjson', JSON.stringify({ Records: [cloudTrailRecord('f', 'GetObject', '2024-01-01T10:00:00Z', 'x')] }, null, 2));
    const { entries, deadLetters } = await readAll([a, b]);
    expect(deadLetters).toEqual([]);
    expect(items(entries).map((i) => i.type).sort()).toEqual(['cloudtrail', 'payload', 'payload', 'payload']);
  });

  it('finds the format of NDJSON whose first line is damaged, and dead-letters that line', async () => {
    const path = fx.write('first-bad.ndjson', '{"SequenceNumber": "0", "Da\n' + ndjson(records.slice(0, 2)));
    const { entries, deadLetters } = await readAll([path]);
    expect(items(entries).map((i) => i.position.line)).toEqual([2, 3]);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual([['bad-json', { file: path, line: 1 }]]);
  });

  it('dead-letters the rest of a truncated gzip file, keeping what came before', async () => {
    const many = Array.from({ length: 400 }, (_, i) => invocationRecord('orders', String(i), T0 + i * 1000));
    const gz = gzipSync(ndjson(many));
    const path = fx.write('truncated.ndjson.gz', gz.subarray(0, Math.floor(gz.length * 0.8)));
    const { entries, deadLetters } = await readAll([path]);
    expect(entries.length).toBeGreaterThan(100);
    expect(entries.length).toBeLessThan(400);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({ reason: 'bad-gzip', position: { file: path } });
  });

  it('refuses a named file that is not a replay input, with a one-line usage error', async () => {
    const path = fx.write('notes.txt', 'hello\n');
    const err = await readAll([path]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/notes\.txt: not a replay input: not JSON; expected /);
    expect((err as Error).message).not.toContain('\n');
  });

  it('classifies each shape', () => {
    expect(classify(records[0])).toBe('kinesis-records');
    expect(classify({ Records: [], MillisBehindLatest: 0 })).toBe('kinesis-get-records');
    expect(classify({ Records: [] })).toBe('cloudtrail');
    expect(classify({ events: [], searchedLogStreams: [] })).toBe('filter-log-events');
    expect(classify({ logGroup: 'g', logStream: 's', timestamp: 1, message: 'm' })).toBe('log-events');
    expect(classify({ schema: 'fnwatch.baseline/1' })).toBeUndefined();
    expect(classify([records[0]])).toBeUndefined();
  });

  it('reads arrival times as the AWS CLI and SDKs print them', () => {
    expect(arrivalTime(1704103200.123)).toBe(1704103200123);
    expect(arrivalTime(1704103200123)).toBe(1704103200123);
    expect(arrivalTime('2024-01-01T10:00:00.123000+00:00')).toBe(1704103200123);
    expect(arrivalTime('1704103200.5')).toBe(1704103200500);
    expect(arrivalTime(undefined)).toBeNaN();
  });

  it('gives a record without a time the time of the record before it, keeping its place', async () => {
    const noTime = kinesisEntry('9', NaN, subscriptionData('/aws/lambda/x', 's', [{ timestamp: T0, message: 'x' }]));
    delete noTime.ApproximateArrivalTimestamp;
    const path = fx.write('no-arrival.ndjson', ndjson([records[1], noTime]));
    const early = fx.write('early.ndjson', ndjson([records[0]]));
    const late = fx.write('late.ndjson', ndjson([records[2]]));
    const { entries } = await readAll([late, path, early]);
    expect(items(entries).map((i) => i.position.sequence)).toEqual([records[0]!.SequenceNumber, records[1]!.SequenceNumber, '9', records[2]!.SequenceNumber]);
  });
});

describe('damaged gzip', () => {
  it('dead-letters a small truncated gzip file after reading its whole lines, and a gzip file with a bad header', async () => {
    const gz = gzipSync(ndjson(records));
    // Without its 8-byte trailer (CRC, size) the data is all there but the stream never ends properly
    const truncated = fx.write('small-truncated.ndjson.gz', gz.subarray(0, gz.length - 8));
    const header = fx.write('bad-header.json.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0xff]), Buffer.alloc(40, 7)]));
    const { entries, deadLetters } = await readAll([truncated, header]);
    expect(items(entries).map((i) => i.position.line)).toEqual([1, 2, 3]);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual(
      expect.arrayContaining([
        ['bad-gzip', { file: truncated, line: 4 }],
        ['bad-gzip', { file: header }],
      ]),
    );
    expect(deadLetters).toHaveLength(2);
  });

  it('dead-letters a truncated gzip CloudTrail document as a whole', async () => {
    const gz = gzipSync(JSON.stringify({ Records: [cloudTrailRecord('f', 'GetObject', '2024-01-01T10:00:00Z', 'x')] }));
    const path = fx.write('trail-truncated.json.gz', gz.subarray(0, gz.length - 30));
    const { entries, deadLetters } = await readAll([path]);
    expect(entries).toEqual([]);
    expect(deadLetters.map((d) => [d.reason, d.position])).toEqual([['bad-gzip', { file: path }]]);
  });
});
