/**
 * Alert delivery for the commands that raise alerts (`replay`, `investigate`): the sinks that the
 * shared options of src/sinks/cli.ts ask for, fed as alerts arrive, flushed and closed before the
 * command exits, and a non-zero exit when an alert did not reach its destination.
 */
import type { Alert } from '../core/alert.ts';
import { FnwatchError, type Sink } from '../core/contracts.ts';
import { FanoutSink } from '../sinks/fanout.ts';
import { stderrLogger, type SinkLogger } from '../sinks/log.ts';
import { CountingSinkMetrics } from '../sinks/metrics.ts';
import { sinksFromOptions, type SinkCliOptions } from '../sinks/cli.ts';
import { WebhookSink } from '../sinks/webhook/sink.ts';

/**
 * The sinks of one command run.
 *
 * @example
 * const delivery = await AlertDelivery.open(opts); // --alerts, --webhook-url, …
 * try {
 *   await delivery.sink.write(alerts);
 *   await delivery.finish(); // flushes, closes, throws if something was not delivered
 * } finally {
 *   await delivery.close();
 * }
 */
export class AlertDelivery {
  /** All sinks as one; writes resolve once every sink holds the alerts durably */
  readonly sink: Sink;
  private queue: Alert[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;

  private constructor(
    readonly sinks: readonly Sink[],
    private readonly metrics: ReadonlyMap<string, CountingSinkMetrics>,
    private readonly log: SinkLogger,
  ) {
    this.sink = new FanoutSink(sinks);
  }

  /** Opens what the options ask for (nothing when none is given); errors are UsageErrors naming the option. */
  static async open(opts: SinkCliOptions, log: SinkLogger = stderrLogger()): Promise<AlertDelivery> {
    const metrics = new Map<string, CountingSinkMetrics>();
    const sinks = await sinksFromOptions(opts, {
      log,
      metrics: (name) => {
        const m = new CountingSinkMetrics();
        metrics.set(name, m);
        return m;
      },
    });
    return new AlertDelivery(sinks, metrics, log);
  }

  get empty(): boolean {
    return this.sinks.length === 0;
  }

  /**
   * Queues an alert from a synchronous callback; it is written with the next batch. A failed write
   * is reported by {@link drain} and {@link finish}.
   */
  push(alert: Alert): void {
    if (this.empty || this.failure) return;
    this.queue.push(alert);
    this.writing ??= this.pump();
  }

  /** Waits until every pushed alert is written (durable in every sink). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure;
  }

  /**
   * Drains, flushes and closes every sink, then fails (exit 1) if a webhook still holds alerts in
   * its outbox or had to dead-letter some. Returns one line per webhook on what was delivered.
   */
  async finish(): Promise<string[]> {
    const problems: string[] = [];
    const notes: string[] = [];
    try {
      await this.drain();
      await this.sink.flush();
      for (const s of this.sinks) {
        if (!(s instanceof WebhookSink)) continue;
        const m = this.metrics.get(s.name);
        const pending = s.pending;
        const dead = m?.deadLetteredCount ?? 0;
        notes.push(`${s.name}: delivered ${m?.deliveredCount ?? 0} alert(s)`);
        if (pending > 0) problems.push(`${pending} alert(s) not delivered by ${s.name}${s.state === 'stopped' ? ' (the endpoint answered 410 Gone)' : ''}; they stay in its outbox and are re-sent on the next run with the same --outbox`);
        if (dead > 0) problems.push(`${dead} alert(s) rejected by ${s.name} were dead-lettered to ${s.deadLetters.path}`);
      }
    } finally {
      await this.close();
    }
    if (problems.length > 0) throw new FnwatchError(`alert delivery failed: ${problems.join('; ')}`);
    return notes;
  }

  /** Closes every sink (idempotent; for `finally` after a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.sink.close();
    } catch (err) {
      this.log.error(`closing alert sinks: ${(err as Error).message}`);
    }
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        this.queue = [];
        await this.sink.write(batch);
      }
    } catch (err) {
      this.failure = err;
    } finally {
      this.writing = undefined;
    }
  }
}
