import { describe, expect, it } from 'vitest';
import { ExpiryClock, planTakes } from './lease-balance.ts';
import { newLease, SHARD_END, type Lease } from './lease-table.ts';

function lease(key: string, owner?: string, counter = 1, checkpoint = 'TRIM_HORIZON'): Lease {
  return { ...newLease(key, checkpoint), leaseOwner: owner, leaseCounter: counter };
}
const shards = (n: number, owner?: string): Lease[] => Array.from({ length: n }, (_, i) => lease(`shard-${i}`, owner));
const never = (): boolean => false;

/** Runs balancing passes for a set of workers until nothing changes; returns leases per worker. */
function settle(leases: Lease[], workers: string[]): Map<string, number> {
  for (let round = 0; round < 50; round++) {
    let changed = false;
    for (const w of workers) {
      const held = new Set(leases.filter((l) => l.leaseOwner === w).map((l) => l.leaseKey));
      const plan = planTakes(leases, w, held, (l) => l.leaseOwner === undefined);
      for (const l of plan.steal ? [...plan.take, plan.steal] : plan.take) {
        l.leaseOwner = w;
        l.leaseCounter++;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const counts = new Map(workers.map((w) => [w, 0]));
  for (const l of leases) if (l.leaseOwner) counts.set(l.leaseOwner, counts.get(l.leaseOwner)! + 1);
  return counts;
}

describe('planTakes', () => {
  it('takes every free lease when alone', () => {
    const plan = planTakes(shards(4), 'a', new Set(), (l) => l.leaseOwner === undefined);
    expect(plan.take).toHaveLength(4);
    expect(plan.target).toBe(4);
    expect(plan.workers).toBe(1);
  });

  it('steals one lease at a time from the most loaded worker until 2/2', () => {
    const leases = shards(4, 'a');
    const first = planTakes(leases, 'b', new Set(), never);
    expect(first.take).toEqual([]);
    expect(first.target).toBe(2);
    expect(first.workers).toBe(2);
    expect(first.steal?.leaseOwner).toBe('a');
    expect(settle(leases, ['a', 'b'])).toEqual(new Map([['a', 2], ['b', 2]]));
  });

  it('balances uneven counts without stealing back and forth', () => {
    expect(settle(shards(5, 'a'), ['a', 'b'])).toEqual(new Map([['a', 3], ['b', 2]]));
    const three = settle(shards(4, 'a'), ['a', 'b', 'c']);
    expect([...three.values()].sort()).toEqual([1, 1, 2]);
    expect(settle(shards(2, 'a'), ['a', 'b', 'c']).get('a')).toBe(1);
  });

  it('takes expired leases before stealing, and counts their owner as gone', () => {
    const leases = [lease('s0', 'dead'), lease('s1', 'dead'), lease('s2', 'a'), lease('s3', 'a')];
    const expired = (l: Lease): boolean => l.leaseOwner === 'dead';
    const plan = planTakes(leases, 'b', new Set(), expired);
    expect(plan.workers).toBe(2);
    expect(plan.take.map((l) => l.leaseKey).sort()).toEqual(['s0', 's1']);
    expect(plan.steal).toBeUndefined();
  });

  it('leaves finished shards out of the count', () => {
    const leases = [lease('s0', undefined, 3, SHARD_END), lease('s1', 'a'), lease('s2', 'a')];
    const plan = planTakes(leases, 'b', new Set(), never);
    expect(plan.target).toBe(1);
    expect(plan.take).toEqual([]);
    expect(plan.steal?.leaseKey).toMatch(/s1|s2/);
  });

  it('retakes leases left in its own name by an earlier run', () => {
    const plan = planTakes([lease('s0', 'me'), lease('s1', 'me')], 'me', new Set(), never);
    expect(plan.take).toHaveLength(2);
  });

  it('honours maxLeases', () => {
    const plan = planTakes(shards(6), 'a', new Set(), (l) => l.leaseOwner === undefined, { maxLeases: 2 });
    expect(plan.take).toHaveLength(2);
  });

  it('does nothing at target', () => {
    const leases = [lease('s0', 'a'), lease('s1', 'b')];
    const plan = planTakes(leases, 'a', new Set(['s0']), never);
    expect(plan.take).toEqual([]);
    expect(plan.steal).toBeUndefined();
  });
});

describe('ExpiryClock', () => {
  it('expires a lease whose counter has not moved for the failover time, from when this worker saw it', () => {
    const clock = new ExpiryClock(1000);
    const l = lease('s0', 'x', 5);
    clock.observe([l], 0);
    expect(clock.isExpired(l, 999)).toBe(false);
    expect(clock.isExpired(l, 1000)).toBe(true);
    const renewed = { ...l, leaseCounter: 6 };
    expect(clock.isExpired(renewed, 1500)).toBe(false);
    clock.observe([renewed], 1500);
    expect(clock.isExpired(renewed, 2400)).toBe(false);
    expect(clock.isExpired(renewed, 2500)).toBe(true);
  });

  it('treats unowned leases as free and unseen ones as live', () => {
    const clock = new ExpiryClock(1000);
    expect(clock.isExpired(lease('free'), 0)).toBe(true);
    expect(clock.isExpired(lease('unseen', 'x'), 1e9)).toBe(false);
  });
});
