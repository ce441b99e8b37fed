import type { Alert } from '../core/alert.ts';
import type { Sink } from '../core/contracts.ts';

/**
 * Writes to several sinks. `write` resolves once every sink holds the alerts durably; if one
 * fails, the write rejects and the runner retries it on all of them (at-least-once: the sinks that
 * had succeeded see those alerts twice; webhook receivers deduplicate by webhook-id).
 *
 * @example
 * const sink = new FanoutSink([new StdoutSink(), await FileSink.open({ path: 'alerts.ndjson' })]);
 */
export class FanoutSink implements Sink {
  readonly name: string;

  constructor(readonly sinks: readonly Sink[]) {
    this.name = sinks.map((s) => s.name).join('+') || 'none';
  }

  async write(alerts: Alert[]): Promise<void> {
    await settleAll(this.sinks.map((s) => s.write(alerts)));
  }

  async flush(): Promise<void> {
    await settleAll(this.sinks.map((s) => s.flush()));
  }

  async close(): Promise<void> {
    await settleAll(this.sinks.map((s) => s.close()));
  }
}

/** Waits for every promise (so none is left running) and rethrows the first failure. */
async function settleAll(ps: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
