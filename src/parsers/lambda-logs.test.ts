import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { InvocationEvent, LogEvent } from '../core/events.ts';
import { createParser, type Parser, type ParserOptions } from './index.ts';
import { RecordingSink } from './test-sink.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

interface RawEvent {
  id: string;
  timestamp: number;
  message: string;
}

function readNdjson(name: string): RawEvent[] {
  return readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RawEvent);
}

const OWNER = '123456789012';
const STREAM = '2024/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function feed(parser: Parser, events: RawEvent[], group: string, stream = STREAM, sink = new RecordingSink()): RecordingSink {
  for (const e of events) {
    const le: LogEvent = { logGroup: group, logStream: stream, owner: OWNER, id: e.id, timestamp: e.timestamp, message: e.message };
    parser.logEvent(le, { file: 'fixture' }, sink);
    sink.endInput();
  }
  return sink;
}

let seq = 0;
function lines(messages: string[], t0 = 1_704_103_200_000): RawEvent[] {
  return messages.map((message, i) => ({ id: `test-${++seq}`, timestamp: t0 + i, message }));
}

function parserWith(opts: ParserOptions = {}): Parser {
  return createParser({ region: 'us-east-1', ...opts });
}

describe('text format (fixture: a Node.js function session)', () => {
  const sink = feed(parserWith(), readNdjson('lambda-text.ndjson'), '/aws/lambda/orders-api');
  const inv = sink.ofKind('invocation');

  it('turns every REPORT into an invocation and accounts for every other line', () => {
    expect(inv.map((e) => e.requestId)).toEqual([
      'c793869b-ee49-115b-a5b6-4fd21e8dedac',
      'f2704689-c5a9-4b8a-9c4a-d0a9a2a2c5c8',
      '6b5b3e5e-1f0f-4a43-9d0c-8b1c2d3e4f50',
      '0a1b2c3d-0000-4000-8000-000000000001',
      '0a1b2c3d-0000-4000-8000-000000000002',
      '0a1b2c3d-0000-4000-8000-000000000003',
    ]);
    expect(sink.misaccounted()).toEqual([]);
    expect(sink.deadLetters).toEqual([]);
    expect(sink.logEvents).toHaveLength(23);
  });

  it('reads every REPORT field as a float, with function identity from the log group and owner', () => {
    expect(inv[0]).toEqual({
      kind: 'invocation',
      time: 1704103200295,
      fn: { name: 'orders-api', account: OWNER, region: 'us-east-1', arn: 'arn:aws:lambda:us-east-1:123456789012:function:orders-api' },
      id: '37813286316283174000286913208929683394540733491213533189',
      requestId: 'c793869b-ee49-115b-a5b6-4fd21e8dedac',
      version: '$LATEST',
      durationMs: 128.83,
      billedDurationMs: 200,
      memorySizeMB: 128,
      maxMemoryUsedMB: 74,
      initDurationMs: 166.62,
      status: 'success',
      format: 'text',
    });
  });

  it('marks only the first request of the environment as a cold start', () => {
    expect(inv.map((e) => e.initDurationMs !== undefined)).toEqual([true, false, false, false, false, false]);
  });

  it('takes the status of a preceding `Task timed out` line when the REPORT has none (space before tab)', () => {
    expect(inv[1]).toMatchObject({ status: 'timeout', durationMs: 5005.36, billedDurationMs: 5000, memorySizeMB: 128, maxMemoryUsedMB: 46 });
  });

  it('marks an OOM kill (peak above configured memory, `Process exited` after the REPORT) as a crash', () => {
    expect(inv[2]).toMatchObject({ status: 'crash', maxMemoryUsedMB: 129, memorySizeMB: 128, errorType: 'Runtime.OutOfMemory' });
  });

  it('takes `Invoke Error` as an error with its errorType', () => {
    expect(inv[3]).toMatchObject({ status: 'error', errorType: 'TypeError', durationMs: 10.46 });
  });

  it('reads `Status: timeout` followed by XRAY fields', () => {
    expect(inv[4]).toMatchObject({ status: 'timeout', durationMs: 3000, billedDurationMs: 3000, maxMemoryUsedMB: 80 });
  });

  it('takes `Runtime exited` before the REPORT as a crash even at exactly the memory limit', () => {
    expect(inv[5]).toMatchObject({ status: 'crash', errorType: 'Runtime.ExitError', maxMemoryUsedMB: 128 });
  });

  it('reads the instrumentation egress line in an app line', () => {
    expect(sink.ofKind('egress')).toEqual([
      {
        kind: 'egress',
        time: 1704103200210,
        fn: inv[0].fn,
        id: '37813286316283174000286913208929683394540733491213533187',
        host: 'api.stripe.com',
        port: 443,
        protocol: 'tls',
        via: 'instrumentation',
      },
    ]);
  });

  it('counts platform and app lines as ignored with their reason', () => {
    expect(sink.countIgnored('platform')).toBe(1 + 6 + 4); // INIT_START, START ×6, END ×4
    expect(sink.countIgnored('app')).toBe(1);
    expect(sink.countIgnored('invocation-failure-line')).toBe(4);
  });

  it('shares one FunctionRef object across a function’s events', () => {
    expect(new Set(sink.events.map((e) => e.fn)).size).toBe(1);
  });
});

describe('text format quirks', () => {
  const report = (body: string) => feed(parserWith(), lines([body]), '/aws/lambda/f').ofKind('invocation')[0];

  it('SnapStart: Restore Duration without Init Duration, and Billed Restore Duration is not taken for Duration', () => {
    const sink = feed(parserWith(), readNdjson('lambda-snapstart.ndjson'), '/aws/lambda/java-fn', '2024/01/01/[7]aa11bb22cc33dd44ee55ff6600112233');
    const [ev] = sink.ofKind('invocation');
    expect(ev).toMatchObject({ durationMs: 89.51, billedDurationMs: 364, memorySizeMB: 512, restoreDurationMs: 310.21, version: '7' });
    expect(ev.initDurationMs).toBeUndefined();
    expect(sink.misaccounted()).toEqual([]);
  });

  it('reads float billed durations and a missing Max Memory Used as undefined', () => {
    const ev = report('REPORT RequestId: r-1\tDuration: 1.79 ms\tBilled Duration: 1.8 ms\tMemory Size: 128 MB\n');
    expect(ev).toMatchObject({ durationMs: 1.79, billedDurationMs: 1.8, memorySizeMB: 128, status: 'success' });
    expect(ev.maxMemoryUsedMB).toBeUndefined();
  });

  it('accepts spaces instead of tabs and a trailing tab + newline', () => {
    const ev = report('REPORT RequestId: r-2 Duration: 2.00 ms Billed Duration: 3 ms Memory Size: 256 MB Max Memory Used: 60 MB Init Duration: 100.5 ms\t\n');
    expect(ev).toMatchObject({ requestId: 'r-2', durationMs: 2, billedDurationMs: 3, memorySizeMB: 256, maxMemoryUsedMB: 60, initDurationMs: 100.5 });
  });

  it('keeps Duration apart from Init Duration whatever the field order', () => {
    const ev = report('REPORT RequestId: r-3\tInit Duration: 400.00 ms\tBilled Duration: 900 ms\tDuration: 500.00 ms\n');
    expect(ev).toMatchObject({ durationMs: 500, initDurationMs: 400, billedDurationMs: 900 });
  });

  it('maps Status: error with Error Type, and unknown Status values to error', () => {
    expect(report('REPORT RequestId: r-4\tDuration: 9.00 ms\tStatus: error\tError Type: Runtime.OutOfMemory\n')).toMatchObject({
      status: 'error',
      errorType: 'Runtime.OutOfMemory',
    });
    expect(report('REPORT RequestId: r-5\tDuration: 9.00 ms\tStatus: somethingnew\n')).toMatchObject({ status: 'error' });
  });

  it('a REPORT with a Status keeps it over a pending failure line', () => {
    const sink = feed(parserWith(), lines(['2024-01-01T00:00:00.000Z r-6 Task timed out after 3.00 seconds', 'REPORT RequestId: r-6\tDuration: 3000.00 ms\tStatus: error\n']), '/aws/lambda/f');
    expect(sink.ofKind('invocation')[0].status).toBe('error');
  });

  it('a failure line for another request does not leak into the next REPORT', () => {
    const sink = feed(
      parserWith(),
      lines(['2024-01-01T00:00:00.000Z other-req Task timed out after 3.00 seconds', 'REPORT RequestId: r-7\tDuration: 3.00 ms\n']),
      '/aws/lambda/f',
    );
    expect(sink.ofKind('invocation')[0].status).toBe('success');
  });

  it('the newer `RequestId: … Error: Task timed out after` form marks a timeout', () => {
    const sink = feed(parserWith(), lines(['RequestId: r-8 Error: Task timed out after 3.00 seconds', 'REPORT RequestId: r-8\tDuration: 3000.00 ms\n']), '/aws/lambda/f');
    expect(sink.ofKind('invocation')[0].status).toBe('timeout');
  });

  it('timeout outranks an earlier Invoke Error for the same request', () => {
    const sink = feed(
      parserWith(),
      lines([
        '2024-01-01T00:00:00.000Z\tr-9\tERROR\tInvoke Error \t{"errorType":"Error","errorMessage":"x"}',
        '2024-01-01T00:00:03.000Z r-9 Task timed out after 3.00 seconds',
        'REPORT RequestId: r-9\tDuration: 3000.00 ms\n',
      ]),
      '/aws/lambda/f',
    );
    expect(sink.ofKind('invocation')[0]).toMatchObject({ status: 'timeout', errorType: 'Error' });
  });

  it('dead-letters a REPORT with a non-numeric value, and a 1 MB REPORT line, with a truncated sample', () => {
    const sink = feed(parserWith(), lines(['REPORT RequestId: r\tDuration: abc ms\n', 'REPORT RequestId: r\tDuration: 1.00 ms' + ' x'.repeat(512 * 1024)]), '/aws/lambda/f');
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['bad-field', 'oversize-line']);
    expect(sink.deadLetters[0].position).toMatchObject({ file: 'fixture', logGroup: '/aws/lambda/f' });
    expect(sink.deadLetters[1].raw!.length).toBeLessThan(5000);
    expect(sink.misaccounted()).toEqual([]);
  });

  it('ignores a 1 MB application line', () => {
    const sink = feed(parserWith(), lines([`2024-01-01T00:00:00.000Z\tr\tINFO\t${'y'.repeat(1 << 20)}`]), '/aws/lambda/f');
    expect(sink.ignoredReasons).toEqual(['app']);
  });
});

describe('versions', () => {
  it('emits a version change when START shows a new version, not on first sighting', () => {
    const p = parserWith();
    const sink = new RecordingSink();
    feed(p, lines(['START RequestId: a Version: 3\n', 'REPORT RequestId: a\tDuration: 1.00 ms\n']), '/aws/lambda/f', '2024/01/01/[3]aaaa', sink);
    feed(p, lines(['START RequestId: b Version: 3\n']), '/aws/lambda/f', '2024/01/01/[3]bbbb', sink);
    feed(p, lines(['START RequestId: c Version: 4\n', 'REPORT RequestId: c\tDuration: 1.00 ms\n']), '/aws/lambda/f', '2024/01/01/[4]cccc', sink);
    const changes = sink.ofKind('change');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ change: 'version', version: '4', detail: 'START Version', fn: { name: 'f' } });
    expect(sink.ofKind('invocation').map((e) => e.version)).toEqual(['3', '4']);
    expect(sink.misaccounted()).toEqual([]);
  });

  it('takes the version from the stream name when START lines were filtered out', () => {
    const p = parserWith();
    const sink = new RecordingSink();
    feed(p, lines(['REPORT RequestId: a\tDuration: 1.00 ms\n']), '/aws/lambda/f', '2024/01/01/[5]aaaa', sink);
    feed(p, lines(['REPORT RequestId: b\tDuration: 1.00 ms\n']), '/aws/lambda/f', '2024/01/01/[6]bbbb', sink);
    expect(sink.ofKind('invocation').map((e) => e.version)).toEqual(['5', '6']);
    expect(sink.ofKind('change')).toMatchObject([{ change: 'version', version: '6' }]);
    // the change comes before the invocation that revealed it
    expect(sink.events.map((e) => e.kind)).toEqual(['invocation', 'change', 'invocation']);
  });

  it('tracks versions per function, account and region', () => {
    const p = parserWith();
    const sink = new RecordingSink();
    feed(p, lines(['START RequestId: a Version: 1\n']), '/aws/lambda/f', '2024/01/01/[1]aaaa', sink);
    feed(p, lines(['START RequestId: b Version: 2\n']), '/aws/lambda/g', '2024/01/01/[2]bbbb', sink);
    expect(sink.ofKind('change')).toEqual([]);
  });
});

describe('JSON format (fixture)', () => {
  const sink = feed(parserWith(), readNdjson('lambda-json.ndjson'), '/aws/lambda/fnw10', '2025/01/07/[$LATEST]002cf782aabbccdd');
  const inv = sink.ofKind('invocation');

  it('reads platform.report metrics, status and errorType', () => {
    expect(inv).toHaveLength(5); // the last is a Managed Instances report
    expect(inv[0]).toMatchObject({
      requestId: '06e8554f-3109-426f-8992-0c834de2ac20',
      durationMs: 329.177,
      billedDurationMs: 330,
      memorySizeMB: 1792,
      maxMemoryUsedMB: 125,
      initDurationMs: 503.083,
      status: 'success',
      format: 'json',
      version: '$LATEST',
    });
    expect(inv.slice(1, 4).map((e) => [e.status, e.errorType])).toEqual([
      ['timeout', undefined],
      ['error', 'Runtime.HandlerNotFound'],
      ['error', 'Runtime.ExitError'],
    ]);
    expect(sink.misaccounted()).toEqual([]);
    expect(sink.deadLetters).toEqual([]);
  });

  it('reads egress records whose message is a JSON string or an object', () => {
    expect(sink.ofKind('egress').map((e) => [e.host, e.port, e.protocol, e.via])).toEqual([
      ['hooks.slack.com', 443, 'tls', 'instrumentation'],
      ['sqs.us-east-2.amazonaws.com', 443, 'tls', 'instrumentation'],
    ]);
  });

  it('counts platform.logsDropped distinctly', () => {
    expect(sink.countIgnored('logs-dropped')).toBe(1);
  });

  it('reads a Managed Instances report with only durationMs', () => {
    const p = parserWith();
    const s = feed(p, readNdjson('lambda-json.ndjson').slice(-1), '/aws/lambda/mi-fn');
    const [ev] = s.ofKind('invocation') as InvocationEvent[];
    expect(ev).toMatchObject({ durationMs: 2.139, status: 'success', format: 'json' });
    expect([ev.billedDurationMs, ev.memorySizeMB, ev.maxMemoryUsedMB, ev.initDurationMs]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('dead-letters wrong metric types and non-object records, and truncated platform JSON', () => {
    const s = feed(
      parserWith(),
      lines([
        '{"type":"platform.report","record":{"requestId":"x","metrics":{"durationMs":"12"},"status":"success"}}',
        '{"type":"platform.report","record":"nope"}',
        '{"time":"2025-01-07T19:49:07.924Z","type":"platform.report","record":{"requestId":"x","metr',
        '{not json at all, just an app line',
      ]),
      '/aws/lambda/f',
    );
    expect(s.deadLetters.map((d) => d.reason)).toEqual(['bad-field', 'bad-record', 'bad-json']);
    expect(s.ignoredReasons).toEqual(['app']);
  });

  it('a function can switch format mid-stream; each event records the format it came from', () => {
    const s = feed(
      parserWith(),
      lines(['REPORT RequestId: a\tDuration: 1.00 ms\n', '{"type":"platform.report","record":{"requestId":"b","metrics":{"durationMs":2},"status":"success"}}']),
      '/aws/lambda/f',
    );
    expect(s.ofKind('invocation').map((e) => e.format)).toEqual(['text', 'json']);
  });
});

describe('shared custom log groups', () => {
  it('attributes by the custom stream name `YYYY/MM/DD/<function>[<version>]<guid>`', () => {
    const s = feed(parserWith(), lines(['REPORT RequestId: a\tDuration: 1.00 ms\n']), '/shared/app-logs', '2024/01/01/checkout-api[12]0f1e2d3c4b5a6978');
    expect(s.ofKind('invocation')[0]).toMatchObject({ fn: { name: 'checkout-api' }, version: '12' });
  });

  it('attributes by platform.initStart functionName remembered per stream', () => {
    const p = parserWith();
    const s = feed(
      p,
      lines([
        '{"type":"platform.report","record":{"requestId":"early","metrics":{"durationMs":1},"status":"success"}}',
        '{"time":"2025-01-07T19:49:07.089Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","functionName":"billing","functionVersion":"4"}}',
        '{"type":"platform.report","record":{"requestId":"a","metrics":{"durationMs":1},"status":"success"}}',
      ]),
      '/shared/app-logs',
      'env-7f3a',
    );
    expect(s.ignoredReasons[0]).toBe('lambda-unattributed');
    expect(s.ofKind('invocation')).toMatchObject([{ fn: { name: 'billing' }, version: '4' }]);
    expect(s.misaccounted()).toEqual([]);
  });

  it('does not attribute text lines of an unknown stream in a custom group', () => {
    const s = feed(parserWith(), lines(['REPORT RequestId: a\tDuration: 1.00 ms\n']), '/shared/app-logs', 'some-stream');
    expect(s.ignoredReasons).toEqual(['lambda-unattributed']);
  });
});

describe('JSON platform records read without JSON.parse', () => {
  /** The same record with its keys reordered, which takes the JSON.parse path. */
  const reordered = (m: string) => {
    const o = JSON.parse(m) as Record<string, unknown>;
    return JSON.stringify({ record: o.record, type: o.type, time: o.time });
  };

  it('give exactly the events the JSON.parse path gives', () => {
    const raw = readNdjson('lambda-json.ndjson');
    const fast = feed(parserWith(), raw, '/aws/lambda/fnw10', '2025/01/07/[$LATEST]002cf782aabbccdd');
    const slow = feed(parserWith(), raw.map((e) => ({ ...e, message: e.message.startsWith('{"time"') ? reordered(e.message) : e.message })), '/aws/lambda/fnw10', '2025/01/07/[$LATEST]002cf782aabbccdd');
    expect(fast.events).toEqual(slow.events);
    expect(fast.ignoredReasons).toEqual(slow.ignoredReasons);
    expect(fast.events.length).toBeGreaterThan(5);
  });

  it('fall back to JSON.parse, and its validation, for anything unusual', () => {
    const t = '{"time":"2025-01-07T19:49:07.924Z","type":"platform.report","record":';
    const s = feed(
      parserWith(),
      lines([
        `${t}{"requestId":"a","metrics":{"durationMs":"12"},"status":"success"}}`,
        `${t}{"requestId":"a","metrics":{"durationMs":-1},"status":"success"}}`,
        `${t}{"requestId":"a","metrics":{"durationMs":1e3},"status":"success"}}`,
        `${t}{"requestId":"a\\u0041","metrics":{"durationMs":5},"status":"success"}}`,
        `${t}{"requestId":"a","metrics":{"durationMs":5},"status":7}}`,
        `${t}{"requestId":"a","metrics":{"durationMs":5},"status":"success"`,
        `${t}{"requestId":"b","metrics":{"durationMs":5,"billedDurationMs":6},"spans":[{"name":"responseLatency","durationMs":99}],"status":"timeout"}}`,
      ]),
      '/aws/lambda/f',
    );
    expect(s.deadLetters.map((d) => d.reason)).toEqual(['bad-field', 'bad-field', 'bad-field', 'bad-json']);
    expect(s.ofKind('invocation').map((e) => [e.requestId, e.durationMs, e.billedDurationMs, e.status])).toEqual([
      ['a', 1000, undefined, 'success'],
      ['aA', 5, undefined, 'success'],
      ['b', 5, 6, 'timeout'],
    ]);
  });
});

describe('egress records scanned in place', () => {
  const TS = '2025-01-07T19:49:07.924Z';
  const RID = '06e8554f-3109-426f-8992-0c834de2ac20';
  const record = (host: string, port: string, proto: string) => `{"fnwatch":"egress","host":"${host}","port":${port},"proto":"${proto}"}`;
  /** The same record as the scan reads it, and spaced out so that only JSON.parse can read it. */
  const forms = (rec: string) => {
    const spaced = rec.replace(/,"/g, ', "');
    const app = (r: string) => JSON.stringify({ timestamp: TS, level: 'INFO', requestId: RID, message: r });
    return { scanned: [`${TS}\t${RID}\tINFO\t${rec}\n`, app(rec)], parsed: [`${TS}\t${RID}\tINFO\t${spaced}\n`, app(spaced).replace('"level"', ' "level"')] };
  };

  it('give exactly the events and dead letters the JSON.parse path gives', () => {
    const records = [
      record('API.Stripe.com.', '443', 'tls'),
      record('169.254.169.254', '80', 'tcp'),
      record('pool.example.org', '3333', 'tcp'),
      record('', '443', 'tls'), // bad host: a dead letter either way
      record('a', '70000', 'tls'), // bad port: a dead letter either way
    ];
    const run = (pick: 'scanned' | 'parsed') =>
      feed(parserWith(), lines(records.flatMap((r) => forms(r)[pick])), '/aws/lambda/orders-api');
    const scanned = run('scanned');
    const parsed = run('parsed');
    expect(scanned.events.map(({ id: _id, time: _t, ...e }) => e)).toEqual(parsed.events.map(({ id: _id, time: _t, ...e }) => e));
    expect(scanned.deadLetters.map((d) => [d.reason, d.detail])).toEqual(parsed.deadLetters.map((d) => [d.reason, d.detail]));
    expect(scanned.ofKind('egress').map((e) => [e.host, e.port, e.protocol])).toEqual([
      ['api.stripe.com', 443, 'tls'],
      ['api.stripe.com', 443, 'tls'],
      ['169.254.169.254', 80, 'tcp'],
      ['169.254.169.254', 80, 'tcp'],
      ['pool.example.org', 3333, 'tcp'],
      ['pool.example.org', 3333, 'tcp'],
    ]);
    expect(scanned.deadLetters.map((d) => d.reason)).toEqual(['bad-egress', 'bad-egress', 'bad-egress', 'bad-egress']);
    expect(scanned.misaccounted()).toEqual([]);
  });

  it('leave records that are not exactly the hook’s form, or not valid JSON, to JSON.parse', () => {
    const s = feed(
      parserWith(),
      lines([
        `${TS}\t${RID}\tINFO\t${record('a\\u0042', '443', 'tls')}\n`, // escape: JSON.parse reads aB
        `${TS}\t${RID}\tINFO\t${record('a', '0443', 'tls')}\n`, // leading zero: not JSON, an app line
        `${TS}\t${RID}\tINFO\t${record('a', '443', 'tls')} trailing\n`, // text after the record: an app line
        JSON.stringify({ timestamp: TS, level: 'INFO', requestId: RID, message: record('b', '443', 'tls'), type: 'x' }), // extra key, still read
        JSON.stringify({ timestamp: TS, level: 'INFO', requestId: RID, message: record('c\u0001', '443', 'tls') }), // control char: decoded into the record, which is then not JSON
      ]),
      '/aws/lambda/orders-api',
    );
    expect(s.ofKind('egress').map((e) => e.host)).toEqual(['ab', 'b']);
    expect(s.ignoredReasons).toEqual(['app', 'app', 'app']);
    expect(s.misaccounted()).toEqual([]);
  });
});
