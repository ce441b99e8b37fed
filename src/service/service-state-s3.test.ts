import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { startMoto, type Moto } from '../sources/cloudwatch-logs/testing/moto.ts';
import { parseServiceConfig } from './config.ts';
import { DEMO_DATASET } from './demo.ts';
import { createStream, putRecords, readRecordDumps } from './embedded.ts';
import { createS3Client } from './s3-state-store.ts';
import { Service } from './service.ts';
import { feedStream, listLeases, localKinesisSource, startLocalAws, useFakeAws, waitFor, type LocalAws } from './testing.ts';

const records = readRecordDumps(DEMO_DATASET);
const quiet = pino({ level: 'silent' });
const devNull = new Writable({ write: (_c, _e, cb) => cb() });
const BUCKET = 'fnwatch-service-state';
let aws: LocalAws;
let moto: Moto;
let s3: S3Client;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = useFakeAws();
  [aws, moto] = await Promise.all([startLocalAws(), startMoto()]);
  // The SDK's own setting: the service has no S3 endpoint option.
  process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
  s3 = createS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  s3?.destroy();
  await Promise.all([aws?.stop(), moto?.stop()]);
  delete process.env.AWS_ENDPOINT_URL_S3;
  restoreEnv?.();
});

function config(stream: string, s3Url: string, snapshotInterval = '1h') {
  return parseServiceConfig({
    sources: [localKinesisSource(aws, stream)],
    state: { s3: s3Url, snapshotInterval },
    http: { enabled: false },
  });
}

const start = (stream: string, s3Url: string) => Service.start(config(stream, s3Url), { log: quiet, stdout: devNull });

describe('Service with state in S3 (moto)', () => {
  it('snapshots to S3 at shutdown, and a second service restores those baselines and reads nothing again', async () => {
    await feedStream(aws, 's3-state', 1, records);
    const service = await start('s3-state', `s3://${BUCKET}/prod`);
    expect(service.functionsProfiled).toBe(0);
    await waitFor('records consumed', () => (service.recordsSeen >= records.length && Date.now() - service.lastBatchAt > 300 ? true : undefined), 60_000);
    const first = await service.stop();
    expect(first.snapshots).toBe(1); // the interval is 1 h: this is the shutdown snapshot
    expect(first.statePath).toBe(`s3://${BUCKET}/prod/baseline.json`);

    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'prod/baseline.json' }));
    const snap = JSON.parse(await object.Body!.transformToString());
    expect(snap.schema).toBe('fnwatch.baseline/2');
    expect(snap.functions.length).toBe(12);
    const [lease] = await listLeases(aws, 'app-s3-state');
    expect(snap.positions['s3-state']['shardId-000000000000']).toBe(lease?.checkpoint);

    const again = await start('s3-state', `s3://${BUCKET}/prod`);
    expect(again.functionsProfiled).toBe(12);
    await waitFor('ready', () => (again.ready ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    const second = await again.stop();
    expect(second.counts.records).toBe(0);
  }, 90_000);

  it('logs a failed snapshot while running and succeeds at a later interval', async () => {
    const bucket = 'fnwatch-flaky-state';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await createStream(aws.kinesis, 's3-flaky', 1);
    const lines: Array<{ msg: string; state?: string; err?: string }> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
    const service = await Service.start(config('s3-flaky', `s3://${bucket}/prod`, '50ms'), { log, stdout: devNull });
    await waitFor('ready', () => (service.ready ? true : undefined));
    let fed = 0;
    const feed = async (n: number) => {
      await putRecords(aws.kinesis, 's3-flaky', records.slice(fed, fed + n));
      fed += n;
      await waitFor('records consumed', () => (service.recordsSeen >= fed ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 60)); // past the snapshot interval, for the next batch
    };
    await feed(500);
    await waitFor('a snapshot', async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/baseline.json' })).then(() => true, () => undefined)));

    // The bucket goes away while running: snapshots fail, are logged, and the service keeps consuming.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'prod/baseline.json' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'prod/writer.json' })); // the start's claim
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    for (let i = 0; i < 5 && !lines.some((l) => l.msg.startsWith('cannot snapshot')); i++) {
      await feed(100);
    }
    const failed = lines.find((l) => l.msg.startsWith('cannot snapshot'));
    expect(failed?.state).toBe(`s3://${bucket}/prod/baseline.json`);
    expect(failed?.err).toMatch(/bucket "fnwatch-flaky-state" does not exist/);
    expect(service.failed).toBeUndefined();

    // Back again: the next interval writes it.
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const snapshotsBefore = lines.filter((l) => l.msg.startsWith('cannot snapshot')).length;
    await feed(100);
    await feed(100);
    await waitFor('a snapshot', async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/baseline.json' })).then(() => true, () => undefined)));
    const summary = await service.stop();
    expect(lines.filter((l) => l.msg.startsWith('cannot snapshot')).length).toBe(snapshotsBefore);
    const snap = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/baseline.json' }))).Body!.transformToString());
    expect(snap.functions.length).toBe(service.functionsProfiled);
    expect(summary.counts.records).toBe(fed);
  }, 60_000);

  it('refuses to start, naming the bucket and the field, when the bucket does not exist', async () => {
    const err = await start('unused', 's3://no-such-fnwatch-bucket/prod').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^state\.s3: cannot read s3:\/\/no-such-fnwatch-bucket\/prod\/baseline\.json: bucket "no-such-fnwatch-bucket" does not exist/);
    // Refused before any source started: no lease table was created.
    await expect(listLeases(aws, 'app-unused')).rejects.toThrow(/app-unused.*(not found|does not exist|ResourceNotFound)/i);
  });
});
