import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from './clients.ts';
import { LeaseTable } from './lease-table.ts';
import type { KinesisSourceEvent } from './reader.ts';
import { KinesisSource } from './source.ts';
import { collect } from './testing/collect.ts';
import { createStream, putRecords, useFakeAwsEnv } from './testing/aws.ts';
import { startDynalite, startKinesisLocal, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let kinesisLocal: LocalServer;
let dynalite: LocalServer;

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  [kinesisLocal, dynalite] = await Promise.all([startKinesisLocal(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([kinesisLocal?.stop(), dynalite?.stop()]);
  restoreEnv();
});

describe('enhanced fan-out on kinesis-local', () => {
  it('registers a consumer, delivers records over SubscribeToShard and renews the subscription from the continuation', async () => {
    const kinesis = createKinesisClient({ endpoint: kinesisLocal.endpoint });
    const dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
    await createStream(kinesis, 'efo', 1);
    const first = await putRecords(kinesis, 'efo', Array.from({ length: 20 }, (_, i) => ({ data: `first-${i}`, key: `k${i}` })));
    const events: KinesisSourceEvent[] = [];
    const source = new KinesisSource({
      stream: 'efo',
      application: 'app-efo',
      mode: 'efo',
      kinesisEndpoint: kinesisLocal.endpoint,
      dynamodbEndpoint: dynalite.endpoint,
      checkpointIntervalMs: 200,
      efo: { renewAfterMs: 2_500 },
      onEvent: (e) => e.type !== 'lag' && events.push(e),
    });
    const c = collect(source);
    try {
      await expect.poll(() => c.records.length, { timeout: 20_000 }).toBe(20);
      await expect.poll(() => events.filter((e) => e.type === 'subscribed').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const second = await putRecords(kinesis, 'efo', Array.from({ length: 10 }, (_, i) => ({ data: `second-${i}`, key: `k${i}` })));
      await expect.poll(() => c.records.length, { timeout: 10_000 }).toBe(30);
      expect(c.records.map((r) => r.sequence)).toEqual([...first, ...second].map((p) => p.sequence));
      expect(c.records[0]!.data).toBe('first-0');
      const subscribed = events.filter((e) => e.type === 'subscribed') as { position: string }[];
      expect(subscribed[0]!.position).toBe('TRIM_HORIZON');
      expect(subscribed[1]!.position).toBe(`after ${first[19]!.sequence}`);
      await expect.poll(async () => (await new LeaseTable(dynamodb, 'app-efo').list())[0]?.checkpoint, { timeout: 5_000 }).toBe(second[9]!.sequence);
    } finally {
      await source.close();
      kinesis.destroy();
      dynamodb.destroy();
    }
  });
});
