import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createParser, decodePayload } from './index.ts';
import { RecordingSink } from './test-sink.ts';

const GROUP = '/aws/lambda/orders-api';
const STREAM = '2024/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const REPORT = 'REPORT RequestId: r1\tDuration: 1.79 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 46 MB\t\n';

function dataMessage(events: { id?: unknown; timestamp?: unknown; message?: unknown }[], extra: Record<string, unknown> = {}) {
  return {
    owner: '111111111111',
    logGroup: GROUP,
    logStream: STREAM,
    subscriptionFilters: ['fnwatch'],
    messageType: 'DATA_MESSAGE',
    logEvents: events,
    ...extra,
  };
}

const report = (id: unknown, message = REPORT) => ({ id, timestamp: 1_704_103_200_000, message });

function parse(data: Uint8Array | string, opts = {}) {
  const sink = new RecordingSink();
  createParser({ region: 'eu-west-1', ...opts }).payload(data, { shard: 'shardId-000000000000', sequence: '49590' }, sink);
  return sink;
}

/** The same bytes as a view at an offset into a larger ArrayBuffer, as socket reads hand them over. */
function viewInto(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(bytes.length + 16);
  big.fill(0x78);
  big.set(bytes, 8);
  return new Uint8Array(big.buffer, 8, bytes.length);
}

describe('subscription payload encodings', () => {
  const doc = dataMessage([report('31953106606966983378809025079804211143289615424298221568')]);
  const json = JSON.stringify(doc);
  const gz = gzipSync(json);
  const cases: [string, Uint8Array | string][] = [
    ['raw gzip bytes (Kinesis SDK v3)', gz],
    ['base64 of gzip (Lambda event source, fixtures)', gz.toString('base64')],
    ['base64 text handed over as bytes', Buffer.from(gz.toString('base64'))],
    ['already-decoded JSON text', json],
    ['JSON bytes', Buffer.from(json)],
    ['a Uint8Array view into a larger buffer', viewInto(gz)],
  ];
  for (const [name, data] of cases) {
    it(name, () => {
      const sink = parse(data);
      expect(sink.deadLetters).toEqual([]);
      expect(sink.logEvents).toHaveLength(1);
      expect(sink.logEvents[0].le).toEqual({
        logGroup: GROUP,
        logStream: STREAM,
        owner: '111111111111',
        region: 'eu-west-1',
        id: '31953106606966983378809025079804211143289615424298221568',
        timestamp: 1_704_103_200_000,
        message: REPORT,
      });
      expect(sink.ofKind('invocation')[0]).toMatchObject({
        fn: { name: 'orders-api', account: '111111111111', region: 'eu-west-1' },
        id: '31953106606966983378809025079804211143289615424298221568',
        durationMs: 1.79,
      });
    });
  }

  it('decodePayload (the benchmark floor) decodes the same encodings', () => {
    for (const [, data] of cases.filter(([n]) => !n.startsWith('base64 text handed'))) expect(decodePayload(data)).toEqual(doc);
  });

  it('counts a CONTROL_MESSAGE and skips it', () => {
    const sink = parse(gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }] })));
    expect(sink.controls).toBe(1);
    expect([sink.logEvents.length, sink.events.length, sink.deadLetters.length, sink.ignoredReasons.length]).toEqual([0, 0, 0, 0]);
  });

  it('keeps moto’s numeric ids as strings and dedupes them per stream', () => {
    const data = gzipSync(JSON.stringify(dataMessage([report(0), report(1), report(0)])));
    const sink = parse(data);
    expect(sink.logEvents.map((o) => o.le.id)).toEqual(['0', '1', '0']);
    expect(sink.ofKind('invocation')).toHaveLength(2);
    expect(sink.ignoredReasons).toEqual(['duplicate']);
    // the same small id in another stream is another event
    const p = createParser();
    const s2 = new RecordingSink();
    p.payload(JSON.stringify(dataMessage([report(7)])), {}, s2);
    p.payload(JSON.stringify(dataMessage([report(7)], { logStream: '2024/01/01/[$LATEST]ffff' })), {}, s2);
    expect(s2.ofKind('invocation')).toHaveLength(2);
  });

  it('dedupes a redelivered payload on the 56-digit event id; dedupeIds: 0 disables it', () => {
    const data = gzipSync(JSON.stringify(dataMessage([report('31953106606966983378809025079804211143289615424298221568')])));
    const p = createParser();
    const sink = new RecordingSink();
    p.payload(data, {}, sink);
    p.payload(data, {}, sink);
    expect(sink.ofKind('invocation')).toHaveLength(1);
    expect(sink.countIgnored('duplicate')).toBe(1);
    const off = createParser({ dedupeIds: 0 });
    const s2 = new RecordingSink();
    off.payload(data, {}, s2);
    off.payload(data, {}, s2);
    expect(s2.ofKind('invocation')).toHaveLength(2);
  });

  it('keeps exactly the last dedupeIds real (56-digit) ids, in or out of order', () => {
    const p = createParser({ dedupeIds: 3 });
    const sink = new RecordingSink();
    const id = (n: number) => (1_704_103_200_000n * 2n ** 144n + BigInt(n)).toString();
    for (const n of [1, 2, 3, 2, 1, 4, 1, 5, 6, 7, 4, 3]) p.payload(JSON.stringify(dataMessage([report(id(n))])), {}, sink);
    expect(sink.logEvents.map((o) => (o.ignored[0] === 'duplicate' ? 'dup' : 'new'))).toEqual(
      ['new', 'new', 'new', 'dup', 'dup', 'new', 'new', 'new', 'new', 'new', 'new', 'new'],
    );
  });

  it('remembers at least dedupeIds ids, and forgets older ones', () => {
    const p = createParser({ dedupeIds: 2 });
    const sink = new RecordingSink();
    const ids = ['a', 'b', 'a', 'c', 'd', 'e', 'a'].map((c) => c.repeat(30));
    for (const id of ids) p.payload(JSON.stringify(dataMessage([report(id)])), {}, sink);
    expect(sink.logEvents.map((o) => o.ignored)).toEqual([[], [], ['duplicate'], [], [], [], []]);
  });

  it('calls logEvent once per entry, then parses it, and copies the position with logEventId/logGroup on dead letters', () => {
    const data = JSON.stringify(dataMessage([report('a'.repeat(56)), report('b'.repeat(56), 'REPORT RequestId: x\tDuration: NaN ms')]));
    const sink = parse(data);
    expect(sink.logEvents).toHaveLength(2);
    expect(sink.deadLetters).toHaveLength(1);
    expect(sink.deadLetters[0]).toMatchObject({
      reason: 'bad-field',
      position: { shard: 'shardId-000000000000', sequence: '49590', logGroup: GROUP, logEventId: 'b'.repeat(56) },
      raw: 'REPORT RequestId: x\tDuration: NaN ms',
      time: 1_704_103_200_000,
    });
  });
});

describe('bad payloads become dead letters with distinct reasons', () => {
  const good = gzipSync(JSON.stringify(dataMessage([report('1')])));
  const cases: [string, Uint8Array | string, string][] = [
    ['bad base64', 'H4sI!!!not*base64', 'bad-base64'],
    ['truncated gzip', good.subarray(0, good.length - 12), 'bad-gzip'],
    ['truncated gzip, base64', good.subarray(0, 20).toString('base64'), 'bad-gzip'],
    ['invalid JSON', '{"messageType":"DATA_MESSAGE",', 'bad-json'],
    ['invalid JSON inside gzip', gzipSync('{"owner":'), 'bad-json'],
    ['invalid UTF-8', gzipSync(Buffer.concat([Buffer.from('{"messageType":"DATA_MESSAGE","logGroup":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])), 'bad-utf8'],
    ['JSON that is not an object', '[1,2,3]', 'bad-payload'],
    ['unknown messageType', '{"messageType":"SOMETHING"}', 'bad-payload'],
    ['logEvents not an array', JSON.stringify(dataMessage([]).logEvents === undefined ? {} : { ...dataMessage([]), logEvents: 'x' }), 'bad-payload'],
    ['logGroup missing', JSON.stringify({ ...dataMessage([report('1')]), logGroup: undefined }), 'bad-payload'],
    ['empty bytes', new Uint8Array(0), 'bad-payload'],
    ['binary noise', Buffer.from([0x00, 0x01, 0x02, 0xff]), 'bad-payload'],
  ];
  for (const [name, data, reason] of cases) {
    it(name, () => {
      const sink = parse(data);
      expect(sink.deadLetters.map((d) => d.reason)).toEqual([reason]);
      expect(sink.deadLetters[0].position).toEqual({ shard: 'shardId-000000000000', sequence: '49590' });
      expect(sink.deadLetters[0].detail).toMatch(/\S/);
      expect(sink.logEvents).toHaveLength(0);
    });
  }

  it('a non-bytes, non-string payload is a dead letter, not a crash', () => {
    const sink = parse(42 as unknown as string);
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['bad-payload']);
  });

  it('a decompression bomb is refused as bad-gzip', () => {
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20), { level: 1 });
    expect(parse(bomb).deadLetters.map((d) => d.reason)).toEqual(['bad-gzip']);
  });

  it('wrong field types in one entry dead-letter that entry only', () => {
    const sink = parse(
      JSON.stringify(
        dataMessage([
          { id: '1', timestamp: '1704103200000', message: REPORT },
          { id: '2', timestamp: 1_704_103_200_000, message: { text: 'x' } },
          { id: { x: 1 }, timestamp: 1, message: REPORT },
          'not an object' as never,
          report('5'),
        ]),
      ),
    );
    expect(sink.deadLetters.map((d) => [d.reason, d.detail])).toEqual([
      ['bad-field', 'logEvents[0].timestamp is string, expected epoch ms'],
      ['bad-field', 'logEvents[1].message is object, expected a string'],
      ['bad-field', 'logEvents[2].id is object, expected a string'],
      ['bad-field', 'logEvents[3] is not an object'],
    ]);
    expect(sink.ofKind('invocation')).toHaveLength(1);
  });
});

describe('logEvent() and other payload shapes', () => {
  it('validates an already-split log event', () => {
    const p = createParser();
    const sink = new RecordingSink();
    p.logEvent({ logGroup: GROUP, logStream: STREAM, timestamp: 'x' as never, message: REPORT }, { line: 3 }, sink);
    p.logEvent({ logGroup: GROUP, logStream: STREAM, timestamp: 1, message: 12 as never }, { line: 4 }, sink);
    p.logEvent(null as never, { line: 5 }, sink);
    p.logEvent({ logGroup: GROUP, logStream: STREAM, timestamp: 1, message: REPORT }, { line: 6 }, sink);
    expect(sink.deadLetters.map((d) => [d.reason, d.position.line])).toEqual([
      ['bad-field', 3],
      ['bad-field', 4],
      ['bad-field', 5],
    ]);
    expect(sink.logEvents).toHaveLength(1);
    expect(sink.ofKind('invocation')).toHaveLength(1);
  });

  it('reads a CloudTrail file’s {Records:[…]} and an EventBridge CloudTrail event as payloads', () => {
    const rec = {
      eventVersion: '1.09',
      eventTime: '2024-01-01T10:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'DeleteFunction20150331',
      awsRegion: 'us-east-1',
      recipientAccountId: '111111111111',
      eventID: 'e-1',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111111111111:user/alice' },
      requestParameters: { functionName: 'old-fn' },
    };
    const sink = parse(gzipSync(JSON.stringify({ Records: [rec] })));
    expect(sink.ofKind('change')).toMatchObject([{ change: 'delete', fn: { name: 'old-fn' } }]);
    const sink2 = parse(JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.lambda', detail: { ...rec, eventID: 'e-2' } }));
    expect(sink2.ofKind('change')).toHaveLength(1);
  });
});
