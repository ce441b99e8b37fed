/**
 * What the two ways of reading a shard (GetRecords polling, enhanced fan-out) share: where to start,
 * what one fetch yields, backoff, and the events they report.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHARD_END } from './lease-table.ts';

/** Where a read starts. */
export interface StartPosition {
  type: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'AFTER_SEQUENCE_NUMBER';
  sequence?: string;
  /** epoch ms, for AT_TIMESTAMP */
  timestamp?: number;
}

/** One fetch from a shard: a GetRecords response or a SubscribeToShard event that carried something. */
export interface Fetched {
  records: KinesisRecord[];
  /** Data and partition-key bytes, for the 2 MB/s read budget and the memory bound */
  bytes: number;
  millisBehindLatest?: number;
  /** The shard is closed and every record in it has been returned */
  end: boolean;
  /** Children named by the service at the end (absent from kinesalite) */
  childShardIds?: string[];
}

/** Reads one shard from a start position until its end or until the signal aborts. */
export interface ShardReader {
  read(shardId: string, start: StartPosition, signal: AbortSignal): AsyncGenerator<Fetched, void, void>;
}

/** What readers and the source report as they go (metrics, logs, tests). */
export type KinesisSourceEvent =
  | { type: 'lease-acquired'; shard: string; checkpoint: string }
  | { type: 'lease-lost'; shard: string; reason: string }
  | { type: 'lease-released'; shard: string }
  | { type: 'shard-started'; shard: string; position: string }
  | { type: 'shard-end'; shard: string; children: string[] }
  | { type: 'checkpoint'; shard: string; sequence: string }
  | { type: 'throttled'; shard: string; operation: string; delayMs: number }
  | { type: 'iterator-renewed'; shard: string; after?: string }
  | { type: 'subscribed'; shard: string; position: string }
  | { type: 'retry'; shard?: string; operation: string; error: string; delayMs: number }
  | { type: 'lag'; shard: string; millisBehindLatest: number };

/** Exponential backoff with jitter. */
export interface Backoff {
  /** First delay (default 250 ms); doubles per consecutive failure */
  baseMs: number;
  /** Longest delay (default 10 s) */
  maxMs: number;
}

/** 250 ms doubling to 10 s. @example backoffDelay(1, DEFAULT_BACKOFF); // 125–250 ms */
export const DEFAULT_BACKOFF: Backoff = Object.freeze({ baseMs: 250, maxMs: 10_000 });

/**
 * The delay before retry `n` (1-based): half fixed, half random, so that throttled shards do not all
 * come back in the same instant.
 *
 * @example
 * backoffDelay(3, DEFAULT_BACKOFF); // somewhere in [500, 1000] ms
 */
export function backoffDelay(n: number, policy: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Where to start reading a lease, from its checkpoint; `undefined` when the shard is finished.
 * A lease created at AT_TIMESTAMP needs the configured timestamp; without one it falls back to
 * TRIM_HORIZON (more records, never fewer).
 *
 * @example
 * startFromCheckpoint('49590338271490256608559692538361571095921575989136588898'); // → { type: 'AFTER_SEQUENCE_NUMBER', sequence: '4959…' }
 */
export function startFromCheckpoint(checkpoint: string, timestamp?: number): StartPosition | undefined {
  switch (checkpoint) {
    case SHARD_END:
      return undefined;
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { type: checkpoint };
    case 'AT_TIMESTAMP':
      return timestamp === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AT_TIMESTAMP', timestamp };
    default:
      return { type: 'AFTER_SEQUENCE_NUMBER', sequence: checkpoint };
  }
}

/**
 * A short description of a start position, for events and errors.
 *
 * @example
 * describePosition({ type: 'AFTER_SEQUENCE_NUMBER', sequence: '4959' }); // → 'after 4959'
 */
export function describePosition(p: StartPosition): string {
  if (p.type === 'AFTER_SEQUENCE_NUMBER') return `after ${p.sequence}`;
  if (p.type === 'AT_TIMESTAMP') return `at ${new Date(p.timestamp ?? 0).toISOString()}`;
  return p.type;
}

/**
 * Sleeps unless the signal aborts first; returns false when aborted.
 *
 * @example
 * if (!(await pause(1_000, signal))) return; // stopped meanwhile
 */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes a record costs against the shard's read budget.
 *
 * @example
 * recordBytes({ Data: new Uint8Array(100), PartitionKey: 'k1' }); // → 102
 */
export function recordBytes(r: KinesisRecord): number {
  return (r.Data?.byteLength ?? 0) + (r.PartitionKey?.length ?? 0);
}
