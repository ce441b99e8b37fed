/**
 * Several sources as one ({@link MergedSource}), and one source's shards merged in arrival-time
 * order ({@link ShardMerge}).
 *
 * MergedSource: batches in the order they arrive. Each source has at most
 * one batch waiting here, and is asked for its next only once that one was handed out, so each
 * source's own bounded queue stays the backpressure.
 */
import type { Batch, Source, SourceItem } from '../core/contracts.ts';
import type { PositionTracker } from './state.ts';

/**
 * @example
 * const source = new MergedSource([kinesis, liveTail]);
 * await new Runner(source, pipeline, sink).run();
 */
export class MergedSource implements Source {
  readonly name: string;

  constructor(private readonly sources: readonly Source[]) {
    if (sources.length === 0) throw new RangeError('MergedSource needs at least one source');
    this.name = sources.map((s) => s.name).join('+');
  }

  async *batches(): AsyncGenerator<Batch, void, void> {
    if (this.sources.length === 1) {
      yield* this.sources[0]!.batches();
      return;
    }
    const iterators = this.sources.map((s) => s.batches()[Symbol.asyncIterator]());
    const waiting = new Map<number, Promise<{ i: number; r: IteratorResult<Batch> }>>();
    const pull = (i: number): void => {
      waiting.set(
        i,
        iterators[i]!.next().then((r) => ({ i, r })),
      );
    };
    iterators.forEach((_, i) => pull(i));
    try {
      while (waiting.size > 0) {
        const { i, r } = await Promise.race(waiting.values());
        if (r.done) {
          waiting.delete(i);
          continue;
        }
        yield r.value;
        pull(i);
      }
    } finally {
      // One failed or the reader left: stop the others (they release leases, end sessions).
      await this.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}

/** Tunables of {@link ShardMerge}. */
export interface ShardMergeOptions {
  /**
   * The most batches of the source held back at once (the memory bound, default 16). Keep it below
   * the source's own `maxPendingBatches`: what is held is fetched and not yet acknowledged.
   */
  maxHeldBatches?: number;
  /** How long a shard with nothing held may hold back the others: after that it is idle (default 1 s) */
  maxWaitMs?: number;
  /** Records that arrived this close to now are live and go on at once (default 5 s) */
  liveLagMs?: number;
  /**
   * Items a batch handed on has before it may end (default 500); it then ends where one of the
   * source's batches ends, so with one shard the batches handed on are the source's own.
   */
  minBatchItems?: number;
  /** Wall clock (ms) */
  now?: () => number;
}

/** A batch of the source, until every item of it has been handed on and acknowledged. */
interface Origin {
  readonly batch: Batch;
  /** items still held here */
  left: number;
  /** batches handed on with items of this one, not yet acknowledged */
  open: number;
}

interface Held {
  readonly item: SourceItem;
  /** arrival time (ms), or -Infinity when the item has none */
  readonly time: number;
  readonly origin: Origin;
}

/** One shard's held items, in the order the shard gave them. */
class Lane {
  readonly items: Held[] = [];
  head = 0;
  constructor(public lastBatchAt: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): Held {
    return this.items[this.head]!;
  }

  shift(): Held {
    const h = this.items[this.head++]!;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return h;
  }
}

const TIMED_OUT = Symbol('timed out');
/** A lane standing for the shards not seen yet, during the first `maxWaitMs` (no shard id has a NUL). */
const STARTING = '\u0000starting';

/**
 * One source's batches, re-cut so that records of different shards come out in arrival-time order
 * (Kinesis `ApproximateArrivalTimestamp`; for a subscription-fed stream, event time plus a few
 * seconds of delivery). A source reading several shards that are behind hands out whole batches
 * per shard, each spanning minutes or hours, so without this a function whose log streams hash to
 * two shards is seen going back and forth in time, and the pipeline's clock runs ahead of the
 * shard read second.
 *
 * The window is bounded: at most `maxHeldBatches` of the source's batches are held; a shard that
 * has given nothing for `maxWaitMs` holds no one back (it is caught up, or slow); records within
 * `liveLagMs` of now go on at once, so a caught-up service adds no latency. Within a shard, order
 * is kept. A source batch is acknowledged only when every item of it was handed on and each batch
 * that carried them was acknowledged, so the source still checkpoints only over acknowledged,
 * contiguous work; at close, what is held is given back (`Batch.release`) and read again after a
 * restart. The batches handed on end where a source batch ends whenever the merge allows, so with
 * one shard they are the source's own. Positions recorded per batch handed on (a
 * {@link PositionTracker} around this) can run ahead of the source's checkpoint by the window: a
 * restart then skips what the restored baseline already holds.
 *
 * @example
 * const tracked = new PositionTracker(new ShardMerge(kinesisSource), 'fnwatch-logs', saved);
 * await new Runner(tracked, pipeline, sink).run();
 */
export class ShardMerge implements Source {
  readonly name: string;
  private readonly maxHeld: number;
  private readonly maxWaitMs: number;
  private readonly liveLagMs: number;
  private readonly minBatchItems: number;
  private readonly now: () => number;
  private readonly lanes = new Map<string, Lane>();
  /** source batches with items still held */
  private held = 0;
  /** newest arrival handed on (the watermark only moves forward) */
  private watermark = -Infinity;
  private ended = false;
  private closing: Promise<void> | undefined;
  /** The source's next batch, asked for and not yet taken (it can outlast a wait that timed out) */
  private next: Promise<IteratorResult<Batch>> | undefined;

  constructor(
    private readonly source: Source,
    opts: ShardMergeOptions = {},
  ) {
    this.name = source.name;
    this.maxHeld = opts.maxHeldBatches ?? 16;
    this.maxWaitMs = opts.maxWaitMs ?? 1_000;
    this.liveLagMs = opts.liveLagMs ?? 5_000;
    this.minBatchItems = opts.minBatchItems ?? 500;
    this.now = opts.now ?? Date.now;
    if (!(this.maxHeld >= 1)) throw new RangeError(`maxHeldBatches must be at least 1, got ${this.maxHeld}`);
    if (!(this.minBatchItems >= 1)) throw new RangeError(`minBatchItems must be at least 1, got ${this.minBatchItems}`);
  }

  async *batches(): AsyncGenerator<Batch, void, void> {
    const it = this.source.batches()[Symbol.asyncIterator]();
    // At start the shards are not known yet: the first one read waits a moment for the others.
    this.lanes.set(STARTING, new Lane(this.now()));
    try {
      for (;;) {
        if (this.closing) return;
        // One reading of the clock for both: read twice, a shard could be active when deciding that
        // nothing may go on and idle when computing the wait, which was then "for ever".
        const now = this.now();
        const out = this.release(now);
        if (out.length > 0) {
          yield this.handOn(out);
          continue;
        }
        if (this.ended) return;
        this.next ??= it.next();
        const r = await settleWithin(this.next, this.waitMs(now));
        if (r === TIMED_OUT) continue;
        this.next = undefined;
        if (r.done) this.ended = true;
        // After close(), close() gives it back.
        else if (!this.closing) await this.hold(r.value);
      }
    } finally {
      // Held batches are given back, not acknowledged: the source reads them again after a restart.
      await this.close();
    }
  }

  /**
   * Stops: what is held here goes back to the source unprocessed (`Batch.release`), so the source
   * does not wait for it at close and reads it again after a restart; then the source closes.
   */
  close(): Promise<void> {
    this.closing ??= this.giveBackAndClose();
    return this.closing;
  }

  private async giveBackAndClose(): Promise<void> {
    const origins = new Set<Origin>();
    for (const lane of this.lanes.values()) for (let i = lane.head; i < lane.items.length; i++) origins.add(lane.items[i]!.origin);
    this.lanes.clear();
    this.held = 0;
    // `left` stays above 0: an acknowledgement of their handed-on part never acknowledges them.
    for (const o of origins) o.batch.release?.();
    // A batch the source hands out after this is given back as it comes.
    this.next?.then(
      (r) => void (r.done ? undefined : r.value.release?.()),
      () => undefined,
    );
    await this.source.close();
  }

  private async hold(batch: Batch): Promise<void> {
    const now = this.now();
    if (batch.items.length === 0) {
      await batch.ack();
      return;
    }
    const origin: Origin = { batch, left: batch.items.length, open: 0 };
    this.held++;
    for (const item of batch.items) {
      const key = item.position.shard ?? '';
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = new Lane(now)));
      lane.lastBatchAt = now;
      lane.items.push({ item, time: itemTime(item), origin });
    }
  }

  /**
   * What may go on now, oldest first: one batch, which ends where a source batch ends once it has
   * `minBatchItems` (or where nothing more may go), so that acknowledgements line up with the
   * source's batches as far as the merge allows.
   */
  private release(now: number): Held[] {
    const out: Held[] = [];
    for (;;) {
      let oldest: Lane | undefined;
      for (const lane of this.lanes.values()) {
        if (lane.size > 0 && (oldest === undefined || lane.peek().time < oldest.peek().time)) oldest = lane;
      }
      if (oldest === undefined || !this.mayRelease(oldest, now)) break;
      const h = oldest.shift();
      out.push(h);
      if (--h.origin.left === 0) {
        this.held--;
        if (out.length >= this.minBatchItems) break;
      }
    }
    return out;
  }

  private mayRelease(lane: Lane, now: number): boolean {
    const t = lane.peek().time;
    if (this.ended || this.held >= this.maxHeld || t === -Infinity || t >= now - this.liveLagMs) return true;
    // Any other shard that is active and empty may yet bring something older.
    for (const other of this.lanes.values()) {
      if (other !== lane && other.size === 0 && now - other.lastBatchAt < this.maxWaitMs) return false;
    }
    return true;
  }

  /** How long until a shard that holds the others back counts as idle (Infinity: nothing waits). */
  private waitMs(now: number): number {
    if (this.held === 0) return Infinity;
    let until = Infinity;
    for (const [key, lane] of this.lanes) {
      if (lane.size > 0) continue;
      const idleIn = lane.lastBatchAt + this.maxWaitMs - now;
      // An idle shard holds no one back; a closed one (resharding) is forgotten, and what it held
      // back may go on now.
      if (idleIn <= 0) {
        this.lanes.delete(key);
        until = 0;
      } else until = Math.min(until, idleIn);
    }
    return until;
  }

  private handOn(out: Held[]): Batch {
    const origins = new Map<Origin, true>();
    const items: SourceItem[] = new Array(out.length);
    for (let i = 0; i < out.length; i++) {
      const h = out[i]!;
      items[i] = h.item;
      if (h.time > this.watermark) this.watermark = h.time;
      if (!origins.has(h.origin)) {
        origins.set(h.origin, true);
        h.origin.open++;
      }
    }
    const watermark = this.watermark === -Infinity ? undefined : this.watermark;
    let acked = false;
    return {
      items,
      watermark,
      ack: async () => {
        if (acked) return;
        acked = true;
        for (const o of origins.keys()) {
          if (--o.open === 0 && o.left === 0) await o.batch.ack();
        }
      },
    };
  }
}

/** Arrival time of a Kinesis record; the event time of a log event. */
function itemTime(item: SourceItem): number {
  const t = item.type === 'payload' ? item.arrival : item.type === 'log-event' ? item.event.timestamp : undefined;
  return typeof t === 'number' && Number.isFinite(t) ? t : -Infinity;
}

/** `p`'s result, or {@link TIMED_OUT} after `ms` (never, for Infinity). */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  if (ms === Infinity) return p;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
