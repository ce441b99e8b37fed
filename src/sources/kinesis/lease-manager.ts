/**
 * One worker's side of the lease protocol: renew what it holds every failover/3, take free, expired
 * or (to balance) stolen leases, and write checkpoints. All writes to one lease go through one queue,
 * so a renewal never races this worker's own checkpoint on the same counter; a failed condition is
 * then always another worker, and the lease is given up at once.
 */
import { FnwatchError } from '../../core/contracts.ts';
import { ExpiryClock, planTakes } from './lease-balance.ts';
import { LeaseLostError, type CheckpointExtras, type Lease, type LeaseTable } from './lease-table.ts';

export interface LeaseManagerOptions {
  workerId: string;
  /** A lease whose counter has not moved for this long is expired (KCL failoverTimeMillis, default 10 s) */
  failoverMs: number;
  /** Heartbeat period (default failover/3) */
  renewIntervalMs?: number;
  /** Balancing period (default failover) */
  takeIntervalMs?: number;
  /** Most leases this worker holds (default unlimited) */
  maxLeases?: number;
  /** A table that keeps failing with transient errors for this long fails the source (default 30 s) */
  retryBudgetMs?: number;
}

export interface LeaseManagerHooks {
  /** A lease was taken: start reading its shard. */
  acquired(lease: Lease): void;
  /** A lease was lost (taken by another worker, or not renewed in time): stop its shard, no checkpoint. */
  lost(leaseKey: string, reason: string): void;
  /** The lease table cannot be used (permissions, deleted, unreachable beyond the retry budget). */
  failed(err: FnwatchError): void;
}

interface Held {
  lease: Lease;
  renewedAt: number;
  queue: Promise<unknown>;
}

/**
 * @example
 * const leases = new LeaseManager(table, { workerId: 'w1', failoverMs: 10_000 }, hooks);
 * leases.start();
 * await leases.checkpoint('shardId-000000000000', '4959…');
 * await leases.stop();
 * await leases.releaseAll();
 */
export class LeaseManager {
  private readonly held = new Map<string, Held>();
  private readonly clock: ExpiryClock;
  private renewTimer: NodeJS.Timeout | undefined;
  private takeTimer: NodeJS.Timeout | undefined;
  private taking: Promise<void> | undefined;
  private takeAgain = false;
  private failingSince: number | undefined;
  private stopped = false;
  readonly renewIntervalMs: number;
  readonly takeIntervalMs: number;

  constructor(
    readonly table: LeaseTable,
    private readonly opts: LeaseManagerOptions,
    private readonly hooks: LeaseManagerHooks,
  ) {
    this.clock = new ExpiryClock(opts.failoverMs);
    this.renewIntervalMs = opts.renewIntervalMs ?? Math.max(1, Math.floor(opts.failoverMs / 3));
    this.takeIntervalMs = opts.takeIntervalMs ?? opts.failoverMs;
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  /** Keys of the leases this worker holds. */
  heldKeys(): string[] {
    return [...this.held.keys()];
  }

  /** The held lease as last written, or `undefined`. */
  lease(leaseKey: string): Lease | undefined {
    return this.held.get(leaseKey)?.lease;
  }

  /** Starts the heartbeat and the balancing passes (the first one at once). */
  start(): void {
    this.stopped = false;
    this.renewTimer = setInterval(() => void this.renewAll(), this.renewIntervalMs);
    this.takeTimer = setInterval(() => void this.takePass(), this.takeIntervalMs);
    void this.takePass();
  }

  /** Stops balancing (no more takes). Heartbeats go on until {@link stopRenewing}, so held leases stay ours while draining. */
  stopTaking(): void {
    this.stopped = true;
    clearInterval(this.takeTimer);
  }

  /** Stops every timer. */
  stopRenewing(): void {
    this.stopTaking();
    clearInterval(this.renewTimer);
  }

  /** Runs a balancing pass now (after a shard ended, say); passes never overlap. */
  takePass(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.taking) {
      this.takeAgain = true;
      return this.taking;
    }
    this.taking = (async () => {
      do {
        this.takeAgain = false;
        await this.takeOnce();
      } while (this.takeAgain && !this.stopped);
    })().finally(() => (this.taking = undefined));
    return this.taking;
  }

  private async takeOnce(): Promise<void> {
    let leases: Lease[];
    try {
      leases = await this.table.list();
      this.failingSince = undefined;
    } catch (err) {
      this.transient(err);
      return;
    }
    const now = performance.now();
    this.clock.observe(leases, now);
    const plan = planTakes(leases, this.opts.workerId, new Set(this.held.keys()), (l) => this.clock.isExpired(l, now), {
      maxLeases: this.opts.maxLeases,
    });
    const wanted = plan.steal ? [...plan.take, plan.steal] : plan.take;
    for (const lease of wanted) {
      if (this.stopped) return;
      try {
        const taken = await this.table.take(lease, this.opts.workerId);
        this.held.set(taken.leaseKey, { lease: taken, renewedAt: performance.now(), queue: Promise.resolve() });
        this.hooks.acquired(taken);
      } catch (err) {
        // Someone else took it first: fine, the next pass sees the new state.
        if (!(err instanceof LeaseLostError)) this.transient(err);
      }
    }
  }

  private async renewAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((key) => this.renew(key)));
  }

  private renew(key: string): Promise<void> {
    return this.serialize(key, async (h) => {
      try {
        h.lease = await this.table.renew(h.lease, this.opts.workerId);
        h.renewedAt = performance.now();
        this.failingSince = undefined;
      } catch (err) {
        if (err instanceof LeaseLostError) return this.lose(key, 'taken by another worker');
        this.transient(err);
        // Other workers may take it once its counter has been still for the failover time.
        if (performance.now() - h.renewedAt >= this.opts.failoverMs) this.lose(key, 'not renewed within the failover time');
      }
    });
  }

  /**
   * Writes a checkpoint for a held lease. Returns false when the lease is no longer ours (it is then
   * reported lost); throws on table errors.
   */
  checkpoint(leaseKey: string, checkpoint: string, extras: CheckpointExtras = {}): Promise<boolean> {
    return this.serialize(leaseKey, async (h) => {
      try {
        h.lease = await this.table.checkpoint(h.lease, this.opts.workerId, checkpoint, extras);
        h.renewedAt = performance.now();
        if (extras.release) this.held.delete(leaseKey);
        return true;
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.lose(leaseKey, 'taken by another worker');
          return false;
        }
        throw err;
      }
    }, false);
  }

  /** Gives a held lease up (shutdown). Errors are reported, not thrown: the lease then simply expires. */
  release(leaseKey: string): Promise<void> {
    return this.serialize(leaseKey, async (h) => {
      try {
        await this.table.release(h.lease, this.opts.workerId);
      } catch {
        // Lost or unreachable: either way other workers take it after the failover time.
      }
      this.held.delete(leaseKey);
    });
  }

  /** Releases every held lease. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.heldKeys().map((k) => this.release(k)));
  }

  /** Forgets a lease without writing (it was lost, or the process is crashing). */
  forget(leaseKey: string): void {
    this.held.delete(leaseKey);
  }

  private lose(key: string, reason: string): void {
    if (!this.held.delete(key)) return;
    this.hooks.lost(key, reason);
  }

  private transient(err: unknown): void {
    const e = err instanceof FnwatchError ? err : new FnwatchError(String(err), true);
    if (!e.retriable) {
      this.hooks.failed(e);
      return;
    }
    const now = performance.now();
    this.failingSince ??= now;
    if (now - this.failingSince >= (this.opts.retryBudgetMs ?? 30_000)) this.hooks.failed(e);
  }

  private serialize<T>(key: string, op: (h: Held) => Promise<T>, absent?: T): Promise<T> {
    const h = this.held.get(key);
    if (!h) return Promise.resolve(absent as T);
    const run = h.queue.then(() => (this.held.get(key) === h ? op(h) : (absent as T)));
    h.queue = run.catch(() => undefined);
    return run;
  }
}
