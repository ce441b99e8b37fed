/**
 * The runner: pulls batches from a source, runs them through the pipeline, hands the alerts to the
 * sink and acknowledges the batch only once the sink holds them durably. Acks flow back to the
 * source, which checkpoints over contiguous acknowledged work only (at-least-once).
 *
 * One batch at a time: the pipeline is ordered, and fetching waits for processing (the source's
 * bounded queue is the backpressure). The pipeline is either the synchronous {@link Pipeline} or the
 * worker-thread one (`WorkerPipeline`), whose batches resolve later.
 */
import type { Alert } from '../core/alert.ts';
import type { Sink, Source, SourceItem } from '../core/contracts.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

/**
 * What the runner needs of a pipeline: {@link Pipeline} (synchronous) and `WorkerPipeline`
 * (asynchronous: alerts come back once the worker threads processed the items) both fit.
 *
 * @example
 * const processor: BatchProcessor = new Pipeline();
 * const alerts = await processor.processBatch(batch.items);
 */
export interface BatchProcessor {
  /** Processes items in order; the alerts they raised */
  processBatch(items: readonly SourceItem[]): Alert[] | Promise<Alert[]>;
  /** Event time has advanced with no events */
  advance(time: number): void;
  /** End of input: pending findings are raised */
  finish(): unknown;
}

/** Items processed between two yields to the event loop (payloads of ~100 log events: tens of ms) */
const SLICE_ITEMS = 100;

export interface RunnerHooks {
  /** after each batch is acknowledged: items, alerts raised, processing ms; awaited before the next batch */
  onBatch?: (info: { items: number; alerts: number; ms: number; watermark?: number }) => void | Promise<void>;
  /** a sink write failed; the runner retries it (the batch stays unacknowledged meanwhile) */
  onSinkError?: (err: unknown, attempt: number) => void;
}

export interface RunnerOptions {
  /** first retry delay when the sink fails (doubles, capped at 30 s) */
  sinkRetryMs?: number;
  /** stop retrying the sink after this many attempts and fail the run (default: never) */
  maxSinkAttempts?: number;
}

/**
 * @example
 * const runner = new Runner(source, pipeline, sink);
 * await runner.run(); // until the source ends or runner.stop() is called
 */
export class Runner {
  private stopping = false;
  batches = 0;
  items = 0;
  alerts = 0;

  constructor(
    private readonly source: Source,
    private readonly pipeline: BatchProcessor,
    private readonly sink: Sink,
    private readonly hooks: RunnerHooks = {},
    private readonly opts: RunnerOptions = {},
  ) {}

  /** Processes batches until the source ends (or `stop()`), then flushes the sink. */
  async run(): Promise<void> {
    for await (const batch of this.source.batches()) {
      const t0 = performance.now();
      const raised: Alert[] = await this.process(batch.items);
      if (batch.watermark !== undefined) this.pipeline.advance(batch.watermark);
      if (raised.length > 0) await this.writeWithRetry(raised);
      await batch.ack();
      this.batches++;
      this.items += batch.items.length;
      this.alerts += raised.length;
      await this.hooks.onBatch?.({ items: batch.items.length, alerts: raised.length, ms: performance.now() - t0, watermark: batch.watermark });
      if (this.stopping) break;
    }
    await this.pipeline.finish();
    await this.sink.flush();
  }

  /**
   * Runs the items through the pipeline, yielding to the event loop every {@link SLICE_ITEMS} items:
   * a 10,000-record GetRecords batch takes seconds, and /healthz, lease renewals and signals must
   * not wait for it. A worker pipeline gets every slice before the first is awaited, so its threads
   * work on one slice while the coordinator routes the next.
   */
  private async process(items: SourceItem[]): Promise<Alert[]> {
    if (items.length <= SLICE_ITEMS) return this.pipeline.processBatch(items);
    const slices: (Alert[] | Promise<Alert[]>)[] = [];
    for (let i = 0; i < items.length; i += SLICE_ITEMS) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const slice = this.pipeline.processBatch(items.slice(i, i + SLICE_ITEMS));
      // A failure surfaces when this slice is awaited below, not as an unhandled rejection meanwhile.
      if (slice instanceof Promise) slice.catch(() => undefined);
      slices.push(slice);
    }
    const raised: Alert[] = [];
    for (const slice of slices) for (const a of await slice) raised.push(a);
    return raised;
  }

  private async writeWithRetry(alerts: Alert[]): Promise<void> {
    let delay = this.opts.sinkRetryMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.write(alerts);
        return;
      } catch (err) {
        this.hooks.onSinkError?.(err, attempt);
        if (this.opts.maxSinkAttempts !== undefined && attempt >= this.opts.maxSinkAttempts) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** Stops fetching: the current batch finishes, is acknowledged, and `run()` returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.source.close();
  }
}
