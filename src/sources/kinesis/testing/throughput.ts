/**
 * Measures GetRecords throughput on kinesalite (run in its own process): the raw polling reader and
 * the whole source (batches, acks, checkpoints in dynalite), with AWS's per-shard read limits
 * (5 calls/s, 2 MiB/s) and with them lifted.
 *
 * Usage: npx tsx src/sources/kinesis/testing/throughput.ts [records=40000] [shards=2] [bytes=750]
 */
import { randomBytes } from 'node:crypto';
import { ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createDynamoClient, createKinesisClient } from '../clients.ts';
import { PollingReader, type PollingOptions } from '../polling.ts';
import { KinesisSource } from '../source.ts';
import { createStream, useFakeAwsEnv } from './aws.ts';
import { startDynalite, startKinesalite } from './servers.ts';

const [total = 40_000, shardCount = 2, size = 750] = process.argv.slice(2).map(Number);
useFakeAwsEnv();
const kinesalite = await startKinesalite({ childProcess: true });
const dynalite = await startDynalite({ childProcess: true });
const kinesis = createKinesisClient({ endpoint: kinesalite.endpoint });
const dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
const unlimited: PollingOptions = { minIntervalMs: 0, idleIntervalMs: 50, maxBytesPerSecond: Number.MAX_SAFE_INTEGER };
const awsLimits: PollingOptions = { idleIntervalMs: 50 };

try {
  await createStream(kinesis, 'bench', shardCount);
  const payload = randomBytes(size);
  let t = performance.now();
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < total; i += 500) {
    const entries = Array.from({ length: Math.min(500, total - i) }, (_, j) => ({ Data: payload, PartitionKey: `k${i + j}` }));
    puts.push(kinesis.send(new PutRecordsCommand({ StreamName: 'bench', Records: entries })));
    if (puts.length >= 4) await puts.shift();
  }
  await Promise.all(puts);
  console.log(`put ${total} × ${size} B into ${shardCount} shards: ${Math.round(total / ((performance.now() - t) / 1000))} records/s`);

  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: 'bench' }))).Shards!.map((s) => s.ShardId!);
  for (const [label, opts] of [['reader, limits lifted', unlimited], ['reader, AWS limits (5 calls/s, 2 MiB/s per shard)', awsLimits]] as const) {
    t = performance.now();
    let n = 0;
    const done = new AbortController();
    await Promise.all(
      shards.map(async (shard) => {
        const reader = new PollingReader(kinesis, 'bench', kinesalite.endpoint, opts);
        for await (const f of reader.read(shard, { type: 'TRIM_HORIZON' }, done.signal)) {
          n += f.records.length;
          if (n >= total) done.abort();
        }
      }),
    );
    console.log(`GetRecords ${label}: ${n} records, ${Math.round(n / ((performance.now() - t) / 1000))} records/s`);
  }

  for (const [label, opts] of [['source, limits lifted', unlimited], ['source, AWS limits', awsLimits]] as const) {
    const source = new KinesisSource({ stream: 'bench', application: `bench-${label.length}`, kinesis, dynamodb, polling: opts, maxPendingBatches: 8 });
    t = performance.now();
    let n = 0;
    for await (const batch of source.batches()) {
      n += batch.items.length;
      await batch.ack();
      if (n >= total) break;
    }
    const s = (performance.now() - t) / 1000;
    await source.close();
    console.log(`KinesisSource ${label} (batches + acks + checkpoints): ${n} records, ${Math.round(n / s)} records/s, ${(s).toFixed(1)} s`);
  }
} finally {
  kinesis.destroy();
  dynamodb.destroy();
  await kinesalite.stop();
  await dynalite.stop();
}
