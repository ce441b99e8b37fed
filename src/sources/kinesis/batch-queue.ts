/**
 * The bounded hand-off between shard loops (producers) and the one consumer of `batches()`.
 *
 * The bound counts everything fetched and not yet acknowledged (queued or being processed), in
 * batches and in bytes, so memory stays flat when the consumer is slower than the stream: a shard
 * loop waits for room before its next fetch. Several loops may pass the check at once, so the
 * bound can be overshot by at most one batch per shard.
 */

interface Entry<T> {
  item: T;
  bytes: number;
}

/**
 * @example
 * const q = new BatchQueue<Batch>(32, 64 << 20);
 * await q.room();                       // producer, before fetching
 * q.push(batch, bytes);
 * const next = await q.take();          // consumer; undefined once closed
 * q.release(bytes);                     // when the batch is acknowledged or dropped
 */
export class BatchQueue<T> {
  private readonly items: Entry<T>[] = [];
  private head = 0;
  private pendingCount = 0;
  private pendingBytes = 0;
  private closed = false;
  private failure: unknown;
  private takers: Array<() => void> = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly maxBatches: number,
    readonly maxBytes: number,
  ) {
    if (!(maxBatches >= 1)) throw new RangeError(`maxBatches must be at least 1, got ${maxBatches}`);
    if (!(maxBytes >= 1)) throw new RangeError(`maxBytes must be at least 1, got ${maxBytes}`);
  }

  /** Batches fetched and not yet released. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Bytes fetched and not yet released. */
  get bytes(): number {
    return this.pendingBytes;
  }

  /** Batches waiting to be taken. */
  get queued(): number {
    return this.items.length - this.head;
  }

  /** Resolves when there is room for another batch (or the queue is closed). */
  async room(signal?: AbortSignal): Promise<void> {
    while (!this.closed && !signal?.aborted && (this.pendingCount >= this.maxBatches || this.pendingBytes >= this.maxBytes)) {
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  /** Adds a batch; it counts against the bound until {@link release}. Ignored once closed. */
  push(item: T, bytes: number): boolean {
    if (this.closed) return false;
    this.items.push({ item, bytes });
    this.pendingCount++;
    this.pendingBytes += bytes;
    this.wake(this.takers);
    return true;
  }

  /** A batch was acknowledged (or dropped): frees its room. */
  release(bytes: number): void {
    this.pendingCount--;
    this.pendingBytes -= bytes;
    this.wake(this.waiters);
  }

  /** Next batch in arrival order; `undefined` once closed; rejects once failed. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return undefined;
      if (this.head < this.items.length) {
        const entry = this.items[this.head]!;
        this.items[this.head] = undefined as unknown as Entry<T>;
        this.head++;
        if (this.head === this.items.length) {
          this.items.length = 0;
          this.head = 0;
        }
        return entry.item;
      }
      await new Promise<void>((resolve) => this.takers.push(resolve));
    }
  }

  /** Drops queued batches that match (e.g. those of a lost lease) and frees their room. */
  drop(match: (item: T) => boolean): T[] {
    const dropped: T[] = [];
    const kept: Entry<T>[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i]!;
      if (match(e.item)) {
        dropped.push(e.item);
        this.release(e.bytes);
      } else kept.push(e);
    }
    this.items.length = 0;
    this.items.push(...kept);
    this.head = 0;
    return dropped;
  }

  /** Stops the queue: takers get `undefined`, producers stop waiting; queued batches are discarded. */
  close(): T[] {
    const discarded = this.drop(() => true);
    this.closed = true;
    this.wake(this.takers);
    this.wake(this.waiters);
    return discarded;
  }

  /** Fails the queue: the consumer's next `take()` rejects with `err`. */
  fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(list: Array<() => void>): void {
    if (list.length === 0) return;
    const all = list.splice(0, list.length);
    for (const f of all) f();
  }
}
