/**
 * Which leases a worker should take, following KCL's lease taker: no clocks are compared between
 * workers; a lease is expired when *this* worker has seen its counter unchanged for the failover
 * time. Each worker aims for ceil(active leases / live workers), taking free or expired leases
 * first, and otherwise stealing one lease at a time from the most loaded worker.
 */
import { SHARD_END, type Lease } from './lease-table.ts';

/**
 * Tracks, per lease, since when its counter has been the value last seen (local monotonic time).
 *
 * @example
 * const clock = new ExpiryClock(10_000);
 * clock.observe(await table.list(), performance.now());
 * clock.isExpired(lease, performance.now()); // true once its counter has not moved for 10 s
 */
export class ExpiryClock {
  private readonly seen = new Map<string, { counter: number; since: number }>();

  constructor(readonly failoverMs: number) {}

  /** Records a fresh scan of the table. Leases missing from it are forgotten. */
  observe(leases: readonly Lease[], now: number): void {
    const keys = new Set<string>();
    for (const l of leases) {
      keys.add(l.leaseKey);
      const s = this.seen.get(l.leaseKey);
      if (!s || s.counter !== l.leaseCounter) this.seen.set(l.leaseKey, { counter: l.leaseCounter, since: now });
    }
    for (const k of this.seen.keys()) if (!keys.has(k)) this.seen.delete(k);
  }

  /** Free (no owner), or its counter unchanged for at least the failover time. */
  isExpired(lease: Lease, now: number): boolean {
    if (lease.leaseOwner === undefined) return true;
    const s = this.seen.get(lease.leaseKey);
    if (!s || s.counter !== lease.leaseCounter) return false;
    return now - s.since >= this.failoverMs;
  }
}

/** What one balancing pass decided. */
export interface TakePlan {
  /** Free or expired leases to take */
  take: Lease[];
  /** One lease to steal from the most loaded worker, when nothing free was left */
  steal?: Lease;
  /** Leases this worker aims to hold */
  target: number;
  /** Live workers counted (this one included) */
  workers: number;
}

/**
 * Plans one pass of the lease taker.
 *
 * @param held keys this worker holds and renews
 * @param expired whether a lease is free or expired from this worker's point of view
 * @example
 * const plan = planTakes(leases, 'w1', new Set(), (l) => clock.isExpired(l, now));
 * for (const l of plan.take) await table.take(l, 'w1');
 */
export function planTakes(
  leases: readonly Lease[],
  me: string,
  held: ReadonlySet<string>,
  expired: (lease: Lease) => boolean,
  opts: { maxLeases?: number; random?: () => number } = {},
): TakePlan {
  const active = leases.filter((l) => l.checkpoint !== SHARD_END);
  const counts = new Map<string, number>([[me, 0]]);
  const available: Lease[] = [];
  for (const l of active) {
    if (held.has(l.leaseKey)) {
      counts.set(me, counts.get(me)! + 1);
    } else if (l.leaseOwner === undefined || l.leaseOwner === me || expired(l)) {
      // A lease in our name that we do not renew is left over from an earlier run of this worker id.
      available.push(l);
    } else {
      counts.set(l.leaseOwner, (counts.get(l.leaseOwner) ?? 0) + 1);
    }
  }
  const workers = counts.size;
  let target = active.length === 0 ? 0 : Math.ceil(active.length / workers);
  if (opts.maxLeases !== undefined) target = Math.min(target, opts.maxLeases);
  const need = target - counts.get(me)!;
  if (need <= 0) return { take: [], target, workers };
  if (available.length > 0) return { take: shuffle(available, opts.random).slice(0, need), target, workers };

  let victim: string | undefined;
  let most = 0;
  for (const [owner, n] of counts) {
    if (owner !== me && n > most) {
      victim = owner;
      most = n;
    }
  }
  // Stealing from a worker at target only helps when we need more than one more lease.
  if (victim === undefined || most < target + (need > 1 ? 0 : 1)) return { take: [], target, workers };
  const candidates = active.filter((l) => l.leaseOwner === victim && !held.has(l.leaseKey));
  const steal = candidates[Math.floor((opts.random ?? Math.random)() * candidates.length)];
  return { take: [], steal, target, workers };
}

function shuffle<T>(items: T[], random: () => number = Math.random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
