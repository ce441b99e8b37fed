import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FnEvent } from '../../core/events.ts';
import { readEventsArrow, writeEventsArrow } from './arrow.ts';

const dir = mkdtempSync(join(tmpdir(), 'fnwatch-arrow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };

const sample: FnEvent[] = [
  {
    kind: 'invocation', time: 1_767_225_600_123, fn, id: '3195310660696698337880902507980421114328961542429822156',
    requestId: 'c793869b-ee49-115b-a5b6-4fd21e8dedac', version: '$LATEST', durationMs: 128.83, billedDurationMs: 129,
    memorySizeMB: 512, maxMemoryUsedMB: 74, initDurationMs: 166.62, status: 'success', format: 'text',
  },
  { kind: 'invocation', time: 1_767_225_601_000, fn: { name: 'bare' }, status: 'timeout', durationMs: 3000, format: 'json', errorType: 'Sandbox.Timedout' },
  {
    kind: 'resource_access', time: 1_767_225_602_000, fn: { ...fn, arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders-api' },
    id: 'e1f2', role: 'orders-api-role', service: 's3', action: 's3:GetObject',
    resources: ['arn:aws:s3:::orders/in/*', 'arn:aws:s3:::orders'], sourceIp: '3.80.1.2', userAgent: 'aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x', readOnly: true,
  },
  { kind: 'resource_access', time: 1_767_225_603_000, fn, service: 'iam', action: 'iam:CreateAccessKey', resources: [], errorCode: 'AccessDenied', readOnly: false },
  { kind: 'egress', time: 1_767_225_604_000, fn, host: 'api.stripe.com', port: 443, protocol: 'tls', via: 'instrumentation' },
  { kind: 'egress', time: 1_767_225_605_000, fn, host: '169.254.169.254', via: 'flow', bytes: 1200 },
  { kind: 'change', time: 1_767_225_606_000, fn, change: 'code', detail: 'UpdateFunctionCode20150331v2', actor: 'arn:aws:iam::111111111111:user/ci' },
  { kind: 'change', time: 1_767_225_607_000, fn, change: 'publish', version: '7' },
];

describe('Arrow events file', () => {
  it('round-trips every event kind, keeping absent fields absent', async () => {
    const path = join(dir, 'sample.arrow');
    expect(await writeEventsArrow(path, sample)).toBe(sample.length);
    const back: FnEvent[] = [];
    for await (const ev of readEventsArrow(path)) back.push(ev);
    expect(back).toStrictEqual(sample);
  });

  it('streams many batches from an async source, with dictionaries growing batch by batch, and reads them back in order', async () => {
    const path = join(dir, 'many.arrow');
    const batchRows = 1000;
    const n = batchRows * 3 + 17;
    async function* gen(): AsyncIterable<FnEvent> {
      for (let i = 0; i < n; i++) {
        yield i % 3 === 0
          ? { kind: 'egress', time: i, fn: { name: `f${Math.floor(i / 700)}` }, host: `h${i % 7}.example.com`, port: 443, via: 'instrumentation' }
          : { kind: 'invocation', time: i, fn: { name: `f${Math.floor(i / 700)}` }, durationMs: i / 10, status: 'success', format: 'text' };
      }
    }
    expect(await writeEventsArrow(path, gen(), batchRows)).toBe(n);
    let count = 0;
    let last = -1;
    for await (const ev of readEventsArrow(path)) {
      expect(ev.time).toBe(last + 1);
      expect(ev.fn.name).toBe(`f${Math.floor(ev.time / 700)}`);
      if (ev.kind === 'egress') expect(ev.host).toBe(`h${ev.time % 7}.example.com`);
      last = ev.time;
      count++;
    }
    expect(count).toBe(n);
  });

  it('writes an empty file that reads back as no events', async () => {
    const path = join(dir, 'empty.arrow');
    expect(await writeEventsArrow(path, [])).toBe(0);
    const back: FnEvent[] = [];
    for await (const ev of readEventsArrow(path)) back.push(ev);
    expect(back).toEqual([]);
  });

  it('rejects a file that is not Arrow with a clear error', async () => {
    const path = join(dir, 'junk.arrow');
    writeFileSync(path, 'this is not arrow at all\n');
    await expect(async () => {
      for await (const _ of readEventsArrow(path)) void _;
    }).rejects.toThrow(/junk\.arrow/);
  });

  it('reports a missing file as an error', async () => {
    await expect(async () => {
      for await (const _ of readEventsArrow(join(dir, 'missing.arrow'))) void _;
    }).rejects.toThrow(/missing\.arrow.*ENOENT/);
  });

  it('rejects an unwritable path instead of crashing', async () => {
    await expect(writeEventsArrow(join(dir, 'no', 'such', 'dir', 'x.arrow'), sample)).rejects.toThrow(/ENOENT/);
  });
});
