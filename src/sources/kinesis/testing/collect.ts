/**
 * A test consumer of a source: pulls batches in the background, acknowledges them by a policy the
 * test can change, and keeps everything it saw.
 */
import type { Batch, Source } from '../../../core/contracts.ts';

/** One delivered record. */
export interface Seen {
  shard: string;
  sequence: string;
  data: string;
  /** Index of the batch it came in, in delivery order */
  batch: number;
}

export interface Collector {
  readonly batches: Batch[];
  readonly records: Seen[];
  /** Settles when the source's iterator ends (or fails: see `error`) */
  readonly done: Promise<void>;
  readonly error: unknown;
  /** Whether newly delivered batches are acknowledged at once */
  autoAck: boolean;
  /** Acknowledges every delivered batch not yet acknowledged, in order */
  ackAll(): Promise<void>;
  ack(index: number): Promise<void>;
  /** Sequences delivered for one shard, in delivery order */
  sequences(shard: string): string[];
}

/**
 * @example
 * const c = collect(source);
 * await expect.poll(() => c.records.length).toBe(100);
 */
export function collect(source: Source, opts: { autoAck?: boolean; skip?: (batch: Batch, index: number) => boolean } = {}): Collector {
  const batches: Batch[] = [];
  const records: Seen[] = [];
  const acked = new Set<number>();
  let error: unknown;
  const ack = async (i: number): Promise<void> => {
    if (acked.has(i)) return;
    acked.add(i);
    await batches[i]!.ack();
  };
  const c: Collector = {
    batches,
    records,
    autoAck: opts.autoAck ?? true,
    get error() {
      return error;
    },
    done: Promise.resolve(),
    async ackAll() {
      for (let i = 0; i < batches.length; i++) await ack(i);
    },
    ack,
    sequences(shard) {
      return records.filter((r) => r.shard === shard).map((r) => r.sequence);
    },
  };
  (c as { done: Promise<void> }).done = (async () => {
    try {
      for await (const b of source.batches()) {
        const index = batches.length;
        batches.push(b);
        for (const item of b.items) {
          if (item.type !== 'payload') continue;
          const data = typeof item.data === 'string' ? item.data : Buffer.from(item.data).toString('utf8');
          records.push({ shard: item.position.shard!, sequence: item.position.sequence!, data, batch: index });
        }
        if (c.autoAck && !opts.skip?.(b, index)) await ack(index);
      }
    } catch (err) {
      error = err;
    }
  })();
  return c;
}
