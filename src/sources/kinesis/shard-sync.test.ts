import type { Shard } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { SHARD_END } from './lease-table.ts';
import { childrenOf, leasesToCreate } from './shard-sync.ts';

const open = (id: string, parent?: string, adjacent?: string): Shard => ({
  ShardId: id,
  ParentShardId: parent,
  AdjacentParentShardId: adjacent,
  HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' },
  SequenceNumberRange: { StartingSequenceNumber: '1' },
});
const closed = (id: string, parent?: string): Shard => ({ ...open(id, parent), SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '5' } });

// shard 0 split into 2 and 3; 3 merged with 1 into 4
const resharded = [closed('s0'), closed('s1'), open('s2', 's0'), closed('s3', 's0'), open('s4', 's3', 's1')];

describe('leasesToCreate', () => {
  it('seeds a new table from TRIM_HORIZON with parents recorded', () => {
    const leases = leasesToCreate(resharded, new Set(), 'TRIM_HORIZON', true);
    expect(leases.map((l) => [l.leaseKey, l.checkpoint, l.parentShardIds])).toEqual([
      ['s0', 'TRIM_HORIZON', []],
      ['s1', 'TRIM_HORIZON', []],
      ['s2', 'TRIM_HORIZON', ['s0']],
      ['s3', 'TRIM_HORIZON', ['s0']],
      ['s4', 'TRIM_HORIZON', ['s3', 's1']],
    ]);
    expect(leases[0]).toMatchObject({ startingHashKey: '0', endingHashKey: '9', leaseCounter: 0 });
    expect(leases[0]!.leaseOwner).toBeUndefined();
  });

  it('seeds LATEST on open shards and marks closed ones finished', () => {
    const leases = leasesToCreate(resharded, new Set(), 'LATEST', true);
    expect(Object.fromEntries(leases.map((l) => [l.leaseKey, l.checkpoint]))).toEqual({
      s0: SHARD_END,
      s1: SHARD_END,
      s2: 'LATEST',
      s3: SHARD_END,
      s4: 'LATEST',
    });
    expect(leasesToCreate(resharded, new Set(), { timestamp: 5 }, true).every((l) => l.checkpoint === 'AT_TIMESTAMP')).toBe(true);
  });

  it('reads children of a reshard from their start once the table exists', () => {
    const leases = leasesToCreate(resharded, new Set(['s0', 's1']), 'LATEST', false);
    expect(leases.map((l) => [l.leaseKey, l.checkpoint])).toEqual([
      ['s2', 'TRIM_HORIZON'],
      ['s3', 'TRIM_HORIZON'],
      ['s4', 'TRIM_HORIZON'],
    ]);
  });
});

describe('childrenOf', () => {
  it('finds split and merge children through both parent fields', () => {
    expect(childrenOf(resharded, 's0')).toEqual(['s2', 's3']);
    expect(childrenOf(resharded, 's1')).toEqual(['s4']);
    expect(childrenOf(resharded, 's4')).toEqual([]);
  });
});
