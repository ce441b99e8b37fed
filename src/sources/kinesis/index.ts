/**
 * The Kinesis source: shard leases and checkpoints in DynamoDB (KCL lease-table model), GetRecords
 * polling or enhanced fan-out, bounded batches acknowledged by the runner.
 *
 * @example
 * import { KinesisSource } from './sources/kinesis/index.ts';
 * const source = new KinesisSource({ stream: 'fnwatch-logs', application: 'fnwatch-prod' });
 */
export { KinesisSource, type KinesisSourceOptions, type KinesisSourceStats, type ShardStats } from './source.ts';
export { createKinesisClient, createDynamoClient, configuredEndpoint, isPlainHttp, type ClientOptions } from './clients.ts';
export { LeaseTable, SHARD_END, type Lease } from './lease-table.ts';
export type { InitialPosition } from './shard-sync.ts';
export type { KinesisSourceEvent } from './reader.ts';
export type { PollingOptions } from './polling.ts';
export type { EfoOptions } from './efo.ts';
