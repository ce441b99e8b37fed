/** The service with enhanced fan-out (SubscribeToShard) on kinesis-local, which implements it. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../pipeline/pipeline.ts';
import { createDynamoClient, createKinesisClient, LeaseTable } from '../sources/kinesis/index.ts';
import { startDynalite, startKinesisLocal, type LocalServer } from '../sources/kinesis/testing/servers.ts';
import { parseServiceConfig } from './config.ts';
import { DEMO_DATASET } from './demo.ts';
import { createStream, putRecords, readRecordDumps } from './embedded.ts';
import { Service } from './service.ts';
import { useFakeAws, waitFor } from './testing.ts';

let restoreEnv: () => void;
let kinesisLocal: LocalServer;
let dynalite: LocalServer;

beforeAll(async () => {
  restoreEnv = useFakeAws();
  [kinesisLocal, dynalite] = await Promise.all([startKinesisLocal(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([kinesisLocal?.stop(), dynalite?.stop()]);
  restoreEnv?.();
});

describe('Service with enhanced fan-out', () => {
  it('consumes over SubscribeToShard and parses what a pipeline parses', async () => {
    const records = readRecordDumps(DEMO_DATASET).slice(0, 300);
    const reference = new Pipeline();
    records.forEach((r, i) => reference.process({ type: 'payload', data: r.data, position: { record: i } }));

    const kinesis = createKinesisClient({ endpoint: kinesisLocal.endpoint, region: 'us-east-1' });
    try {
      await createStream(kinesis, 'efo', 1);
      const last = await putRecords(kinesis, 'efo', records);
      const config = parseServiceConfig({
        sources: [
          { type: 'kinesis', streamName: 'efo', applicationName: 'app-efo', efo: true, endpoint: kinesisLocal.endpoint, dynamodbEndpoint: dynalite.endpoint, checkpointInterval: '200ms' },
        ],
        http: { enabled: false },
      });
      const service = await Service.start(config, { log: pino({ level: 'silent' }) });
      await waitFor('records consumed', () => (service.recordsSeen >= records.length ? true : undefined), 30_000);
      const summary = await service.stop();
      expect(summary.counts.events).toEqual(reference.counts.events);
      expect(summary.counts.alerts).toBe(reference.counts.alerts);
      const dynamodb = createDynamoClient({ endpoint: dynalite.endpoint, region: 'us-east-1' });
      const [lease] = await new LeaseTable(dynamodb, 'app-efo').list();
      dynamodb.destroy();
      expect(lease?.checkpoint).toBe(last.get('shardId-000000000000'));
      expect(lease?.leaseOwner).toBeUndefined();
    } finally {
      kinesis.destroy();
    }
  }, 60_000);
});
