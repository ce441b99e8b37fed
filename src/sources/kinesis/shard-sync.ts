/**
 * Shard sync: list the stream's shards and create a lease for every shard that has none. Run at
 * start and whenever a shard reaches its end, so children of a split or merge get leases (kinesalite
 * sends no ChildShards at the end of a closed parent; ListShards' parent ids are what we rely on).
 */
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { kinesisError, withTimeout } from './errors.ts';
import { newLease, SHARD_END, type Lease, type LeaseTable } from './lease-table.ts';

/** Where a worker starts on a shard that has never been checkpointed. */
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | { timestamp: number };

/**
 * Every shard of the stream, open and closed (ListShards, paged).
 *
 * @example
 * const shards = await listShards(kinesis, 'fnwatch-logs', 'http://127.0.0.1:4567');
 */
export async function listShards(kinesis: KinesisClient, stream: string, endpoint: string, timeoutMs = 10_000): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    try {
      const input = token ? { NextToken: token } : { StreamName: stream };
      const out = await withTimeout(timeoutMs, undefined, (abortSignal) => kinesis.send(new ListShardsCommand(input), { abortSignal }));
      shards.push(...(out.Shards ?? []));
      token = out.NextToken;
    } catch (err) {
      throw kinesisError(err, 'ListShards', stream, endpoint);
    }
  } while (token);
  return shards;
}

/**
 * The leases to create for shards that have none. On an empty table (the first worker of the
 * application) new shards start at the configured initial position, except that closed shards are
 * already finished when starting at LATEST; later, a new shard is a reshard's child and is read from
 * its start.
 *
 * @example
 * const toCreate = leasesToCreate(shards, new Set(existing.map((l) => l.leaseKey)), 'TRIM_HORIZON', existing.length === 0);
 */
export function leasesToCreate(shards: readonly Shard[], existing: ReadonlySet<string>, initial: InitialPosition, seeding: boolean): Lease[] {
  const out: Lease[] = [];
  for (const s of shards) {
    if (!s.ShardId || existing.has(s.ShardId)) continue;
    const closed = s.SequenceNumberRange?.EndingSequenceNumber !== undefined;
    let checkpoint: string;
    if (!seeding || initial === 'TRIM_HORIZON') checkpoint = 'TRIM_HORIZON';
    else if (initial === 'LATEST') checkpoint = closed ? SHARD_END : 'LATEST';
    else checkpoint = 'AT_TIMESTAMP';
    const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => typeof p === 'string' && p !== '');
    const range = s.HashKeyRange?.StartingHashKey && s.HashKeyRange.EndingHashKey
      ? { startingHashKey: s.HashKeyRange.StartingHashKey, endingHashKey: s.HashKeyRange.EndingHashKey }
      : undefined;
    out.push(newLease(s.ShardId, checkpoint, parents, range));
  }
  return out;
}

/**
 * Lists shards and creates the missing leases; returns the shards (for child lookups) and how many
 * leases were created by this call.
 *
 * @example
 * await syncShards(kinesis, table, 'fnwatch-logs', 'TRIM_HORIZON', endpoint);
 */
export async function syncShards(
  kinesis: KinesisClient,
  table: LeaseTable,
  stream: string,
  initial: InitialPosition,
  endpoint: string,
  timeoutMs = 10_000,
): Promise<{ shards: Shard[]; created: number }> {
  const shards = await listShards(kinesis, stream, endpoint, timeoutMs);
  const leases = await table.list();
  const toCreate = leasesToCreate(shards, new Set(leases.map((l) => l.leaseKey)), initial, leases.length === 0);
  let created = 0;
  for (const lease of toCreate) if (await table.create(lease)) created++;
  return { shards, created };
}

/**
 * The shard ids whose parent (or adjacent parent) is `shardId`.
 *
 * @example
 * childrenOf(shards, 'shardId-000000000000'); // → ['shardId-000000000002', 'shardId-000000000003']
 */
export function childrenOf(shards: readonly Shard[], shardId: string): string[] {
  return shards.filter((s) => s.ParentShardId === shardId || s.AdjacentParentShardId === shardId).map((s) => s.ShardId!);
}
