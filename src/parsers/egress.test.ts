import { describe, expect, it } from 'vitest';
import type { FunctionRef } from '../core/events.ts';
import { egressFromFields, egressFromRecord, scanEgress, scannedEgress } from './egress.ts';

const FN: FunctionRef = { name: 'orders-api', account: '123456789012', region: 'us-east-1' };
const RECORD = '{"fnwatch":"egress","host":"API.Stripe.com.","port":443,"proto":"tls"}';

/** What scanEgress read, or undefined when it declined. */
function scan(m: string, start: number, escaped: boolean): { host: string; port: number; proto: string; end: number } | undefined {
  return scanEgress(m, start, escaped) ? { ...scannedEgress } : undefined;
}

describe('scanEgress', () => {
  it('reads the hook’s record as JSON text and inside a JSON string, with the same values JSON.parse gives', () => {
    const line = `2024-01-01T00:00:00.000Z\treq\tINFO\t${RECORD}\n`;
    const at = line.indexOf('{');
    const { host, port, proto } = JSON.parse(RECORD) as { host: string; port: number; proto: string };
    const parsed = { host, port, proto };
    expect(scan(line, at, false)).toEqual({ ...parsed, end: at + RECORD.length });
    const app = JSON.stringify({ timestamp: 't', level: 'INFO', requestId: 'r', message: RECORD });
    const value = app.indexOf('"{');
    expect(scan(app, value, true)).toEqual({ ...parsed, end: app.length - 1 }); // up to the record's closing `}`
  });

  it('declines whenever the raw text is not the value or not the exact form, leaving it to JSON.parse', () => {
    const declined = [
      '{"fnwatch":"egress","host":"a\\u0041","port":443,"proto":"tls"}', // escape in a value
      '{"fnwatch":"egress","host":"a\\"","port":443,"proto":"tls"}',
      '{"fnwatch":"egress","host":"a\tb","port":443,"proto":"tls"}', // raw control character: invalid JSON
      '{"fnwatch":"egress","host":"a","port":0443,"proto":"tls"}', // leading zero: invalid JSON
      '{"fnwatch":"egress","host":"a","port":443.,"proto":"tls"}',
      '{"fnwatch":"egress","host":"a","port":1e3,"proto":"tls"}',
      '{"fnwatch":"egress","host":"a","port":-1,"proto":"tls"}',
      '{"fnwatch":"egress","host":"a","port":123456,"proto":"tls"}',
      '{"fnwatch":"egress","host":"a","port":443,"proto":"tls","host":"b"}', // a repeated key: the last wins in JSON.parse
      '{"fnwatch":"egress", "host":"a","port":443,"proto":"tls"}',
      '{"fnwatch":"egress","port":443,"host":"a","proto":"tls"}',
      '{"fnwatch":"egress","host":"a","port":443}',
    ];
    for (const m of declined) expect(scan(m, 0, false), m).toBeUndefined();
    for (const m of declined) {
      const app = JSON.stringify({ message: m });
      expect(scan(app, app.indexOf('"{'), true), app).toBeUndefined();
    }
  });

  it('reads port 0 and an empty host as they are (validation is egressFromFields’ job)', () => {
    expect(scan('{"fnwatch":"egress","host":"","port":0,"proto":"udp"}', 0, false)).toMatchObject({ host: '', port: 0, proto: 'udp' });
    expect(egressFromFields('', 0, 'udp', FN, 1, 'id')).toEqual({ ok: false, detail: 'egress record host is not a host name' });
  });
});

describe('egressFromFields', () => {
  it('gives the event egressFromRecord gives for the same record', () => {
    const rec = JSON.parse(RECORD) as Record<string, unknown>;
    const fromFields = egressFromFields(rec.host, rec.port, rec.proto, FN, 1_700_000_000_000, 'id-1');
    expect(fromFields).toEqual(egressFromRecord(rec, FN, 1_700_000_000_000, 'id-1'));
    expect(fromFields).toEqual({
      ok: true,
      event: { kind: 'egress', time: 1_700_000_000_000, fn: FN, id: 'id-1', host: 'api.stripe.com', via: 'instrumentation', port: 443, protocol: 'tls' },
    });
  });

  it('names the wrong field', () => {
    expect(egressFromFields('a', 70000, 'tls', FN, 1, undefined)).toEqual({ ok: false, detail: 'egress record port is not a port number' });
    expect(egressFromFields('a', 443, 7, FN, 1, undefined)).toEqual({ ok: false, detail: 'egress record proto is not a string' });
  });
});
