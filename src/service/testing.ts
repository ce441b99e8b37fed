/**
 * Helpers for the service tests and the latency benchmark: local AWS stand-ins with a stream fed
 * from a record dump, the `runReplay` reference over the same records, and small readers for the
 * lease table, the ops endpoints and alert files. Everything listens on 127.0.0.1 only.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { readFileSync, existsSync } from 'node:fs';
import type { Alert } from '../core/alert.ts';
import { alertKind } from '../core/alert.ts';
import { runReplay } from '../sources/files/replay.ts';
import { createDynamoClient, createKinesisClient, LeaseTable, type Lease } from '../sources/kinesis/index.ts';
import { createStream, putRecords, readRecordDumps, startEmbedded, type EmbeddedServer, type ProducerRecord } from './embedded.ts';

/** The fake AWS environment every source's tests use (static credentials, no metadata, no config files). */
export { FAKE_AWS_ENV, useFakeAwsEnv as useFakeAws } from '../sources/kinesis/testing/aws.ts';

/** kinesalite + dynalite and clients for them. */
export interface LocalAws {
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * The config of a Kinesis source on the local servers, with the short intervals the service tests
 * use; `extra` adds or overrides keys.
 *
 * @example
 * parseServiceConfig({ sources: [localKinesisSource(aws, 'orders', { failover: '3s' })], http: { enabled: false } });
 */
export function localKinesisSource(aws: LocalAws, stream: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'kinesis',
    streamName: stream,
    applicationName: `app-${stream}`,
    endpoint: aws.kinesisEndpoint,
    dynamodbEndpoint: aws.dynamoEndpoint,
    region: 'us-east-1',
    pollInterval: '50ms',
    idleInterval: '100ms',
    checkpointInterval: '200ms',
    ...extra,
  };
}

/**
 * @example
 * const aws = await startLocalAws();
 * afterAll(() => aws.stop());
 */
export async function startLocalAws(): Promise<LocalAws> {
  const servers: EmbeddedServer[] = [await startEmbedded('kinesalite'), await startEmbedded('dynalite')];
  const [k, d] = servers as [EmbeddedServer, EmbeddedServer];
  const kinesis = createKinesisClient({ endpoint: k.endpoint, region: 'us-east-1' });
  const dynamodb = createDynamoClient({ endpoint: d.endpoint, region: 'us-east-1' });
  return {
    kinesisEndpoint: k.endpoint,
    dynamoEndpoint: d.endpoint,
    kinesis,
    dynamodb,
    stop: async () => {
      kinesis.destroy();
      dynamodb.destroy();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/**
 * Creates a stream and puts the records; returns the last sequence number per shard.
 *
 * @example
 * const last = await feedStream(aws, 'equiv', 1, readRecordDumps(DEMO_DATASET));
 */
export async function feedStream(aws: LocalAws, stream: string, shards: number, records: readonly ProducerRecord[]): Promise<Map<string, string>> {
  await createStream(aws.kinesis, stream, shards);
  return putRecords(aws.kinesis, stream, records);
}

/**
 * The leases of an application (its lease table).
 *
 * @example
 * const [lease] = await listLeases(aws, 'app-equiv'); // lease.checkpoint, lease.leaseOwner
 */
export function listLeases(aws: LocalAws, application: string): Promise<Lease[]> {
  return new LeaseTable(aws.dynamodb, application).list();
}

/**
 * The alerts `runReplay` raises over a directory of record dumps (the reference).
 *
 * @example
 * const reference = await replayReference(DEMO_DATASET);
 */
export async function replayReference(dir: string): Promise<Alert[]> {
  return (await runReplay({ inputs: [dir] })).alerts;
}

/**
 * Alerts in an NDJSON file (a file sink), in file order; [] when it does not exist yet.
 *
 * @example
 * const uids = readAlertFile('alerts.ndjson').map((a) => a.finding_info.uid);
 */
export function readAlertFile(path: string): Alert[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Alert);
}

/**
 * `uid kind activity` per alert, grouped by function, in order: what "the same alerts" means.
 *
 * @example
 * expect(alertsByFunction(served)).toEqual(alertsByFunction(replayed));
 */
export function alertsByFunction(alerts: readonly Alert[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of alerts) (out[a.resources[0]?.name ?? '-'] ??= []).push(`${a.finding_info.uid} ${alertKind(a)} ${a.activity_id}`);
  return out;
}

/**
 * GET on a local URL: status and body.
 *
 * @example
 * const { status } = await httpGet(`${service.ops!.url}/readyz`);
 */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/**
 * Polls `check` every 50 ms until it returns a value other than undefined, or fails after `timeoutMs`.
 *
 * @example
 * await waitFor('ready', () => (service.ready ? true : undefined));
 */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { readRecordDumps };

/**
 * Every sequence number in a shard, in order (GetRecords from TRIM_HORIZON).
 *
 * @example
 * const seqs = await shardSequences(aws, 'crash', 'shardId-000000000000');
 */
export async function shardSequences(aws: LocalAws, stream: string, shard: string): Promise<string[]> {
  const { GetShardIteratorCommand, GetRecordsCommand } = await import('@aws-sdk/client-kinesis');
  let iterator = (await aws.kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  const out: string[] = [];
  while (iterator) {
    const r = await aws.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    for (const rec of r.Records ?? []) out.push(rec.SequenceNumber!);
    if ((r.Records ?? []).length === 0 && r.MillisBehindLatest === 0) break;
    iterator = r.NextShardIterator;
  }
  return out;
}
