/**
 * Several sources as one, for the runner: batches in the order they arrive. Each source has at most
 * one batch waiting here, and is asked for its next only once that one was handed out, so each
 * source's own bounded queue stays the backpressure.
 */
import type { Batch, Source } from '../core/contracts.ts';

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
