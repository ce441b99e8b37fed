/**
 * The live path (log group → subscription filter → Kinesis → gzip DATA_MESSAGE) and the direct path
 * (FilterLogEvents) must give the pipeline the same events. moto delivers subscription records into
 * its own Kinesis, so both run against one local server.
 */
import { PutSubscriptionFilterCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.ts';
import type { FnEvent } from '../../core/events.ts';
import { Pipeline } from '../../pipeline/pipeline.ts';
import { createLogsClient } from './client.ts';
import { FilterLogEventsSource } from './filter.ts';
import { resolveLogGroups } from './groups.ts';
import { useFakeAwsEnv } from './testing/aws-env.ts';
import { HOUR, LambdaLogWriter, MIN, putLogEvents } from './testing/lambda-dataset.ts';
import { startMoto, type Moto } from './testing/moto.ts';
import { RateLimiter } from './throttle.ts';

const restoreEnv = useFakeAwsEnv();
let moto: Moto;
let logs: CloudWatchLogsClient;
let kinesis: KinesisClient;
const ACCOUNT = '123456789012';
const STREAM_NAME = 'fnwatch-logs';

beforeAll(async () => {
  moto = await startMoto();
  logs = createLogsClient({ endpoint: moto.endpoint });
  kinesis = new KinesisClient({ endpoint: moto.endpoint, requestHandler: new NodeHttpHandler() });
});
afterAll(async () => {
  await moto?.stop();
  restoreEnv();
});

/** Events without their delivery id, which differs by path by design (subscription ids vs FilterLogEvents ids). */
function canonical(events: FnEvent[]): string[] {
  return events.map((e) => JSON.stringify({ ...e, id: undefined })).sort();
}

describe('subscription filter into Kinesis, end to end on moto', () => {
  it('gives the pipeline the same events as FilterLogEvents and as the log events themselves', async () => {
    const t0 = Math.floor((Date.now() - 86_400_000) / HOUR) * HOUR;
    const w = new LambdaLogWriter(3);
    w.steady('orders-api', t0, t0 + 2 * HOUR, 240, { streams: 3 });
    w.steady('billing', t0, t0 + 2 * HOUR, 60, { durationMs: () => 900 });
    for (let t = t0 + MIN; t < t0 + 2 * HOUR; t += 10 * MIN) w.egress('orders-api', t, 'api.stripe.com', 443);
    w.invocation('billing', t0 + HOUR, { durationMs: 3000, status: 'timeout' });
    const groups = ['/aws/lambda/billing', '/aws/lambda/orders-api'];

    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM_NAME, ShardCount: 2 }));
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM_NAME }));
    const streamArn = summary.StreamDescriptionSummary!.StreamARN!;
    // Groups must exist before the filter: one setup event creates each (delivered to no one).
    for (const g of groups) {
      await putLogEvents(logs, [{ logGroup: g, logStream: 'setup', timestamp: t0 - HOUR, message: 'group created' }]);
      await logs.send(
        new PutSubscriptionFilterCommand({
          logGroupName: g,
          filterName: 'fnwatch',
          filterPattern: '',
          destinationArn: streamArn,
          roleArn: `arn:aws:iam::${ACCOUNT}:role/cwl-to-kinesis`,
        }),
      );
    }
    await putLogEvents(logs, w.events);

    // The live path: every Kinesis record's Data is a gzip DATA_MESSAGE.
    const viaKinesis: FnEvent[] = [];
    const kinesisPipeline = new Pipeline({ onEvent: (e) => viaKinesis.push(e), parser: { region: 'us-east-1' } });
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: STREAM_NAME }))).Shards ?? [];
    let records = 0;
    for (const shard of shards) {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: STREAM_NAME, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
        for (const r of page.Records ?? []) {
          records++;
          const doc = JSON.parse(gunzipSync(r.Data!).toString('utf8')) as { messageType: string; owner: string };
          expect(doc.messageType).toBe('DATA_MESSAGE');
          expect(doc.owner).toBe(ACCOUNT);
          kinesisPipeline.process({ type: 'payload', data: r.Data!, position: { shard: shard.ShardId, sequence: r.SequenceNumber } });
        }
        if ((page.Records ?? []).length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    kinesisPipeline.finish();
    // At least one record per log stream (3 orders-api environments + 1 billing); moto may split a
    // PutLogEvents call into several deliveries, which the event equality below makes irrelevant.
    expect(records).toBeGreaterThanOrEqual(4);

    // The direct path: FilterLogEvents over the same groups.
    const viaFilter: FnEvent[] = [];
    const filterAlerts: Alert[] = [];
    const filterPipeline = new Pipeline({ onEvent: (e) => viaFilter.push(e), onAlert: (a) => filterAlerts.push(a) });
    const refs = await resolveLogGroups(logs, { names: groups });
    const src = new FilterLogEventsSource(logs, { logGroups: refs, from: t0, to: t0 + 3 * HOUR, limiter: new RateLimiter(1000) });
    for await (const b of src.batches()) filterPipeline.processBatch(b.items);
    filterPipeline.finish();

    // The log events as written, in time order.
    const direct: FnEvent[] = [];
    const directAlerts: Alert[] = [];
    const directPipeline = new Pipeline({ onEvent: (e) => direct.push(e), onAlert: (a) => directAlerts.push(a) });
    for (const e of w.sorted()) directPipeline.processLogEvent({ ...e, owner: ACCOUNT, region: 'us-east-1' });
    directPipeline.finish();

    expect(direct.filter((e) => e.kind === 'invocation')).toHaveLength(301);
    expect(direct.filter((e) => e.kind === 'egress')).toHaveLength(12);
    expect(canonical(viaKinesis)).toEqual(canonical(direct));
    expect(canonical(viaFilter)).toEqual(canonical(direct));
    // Same order too for the range read, so the same alerts.
    expect(viaFilter.map((e) => JSON.stringify({ ...e, id: undefined }))).toEqual(direct.map((e) => JSON.stringify({ ...e, id: undefined })));
    expect(filterAlerts).toEqual(directAlerts);
    expect(kinesisPipeline.counts).toMatchObject({ log_events: w.events.length, dead_letter: 0 });
  });
});
