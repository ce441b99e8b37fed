import type { Alert } from '../core/alert.ts';
import type { Sink } from '../core/contracts.ts';

/**
 * Keeps alerts in memory, in order (eval, tests, `investigate`'s report).
 *
 * @example
 * const sink = new CollectSink();
 * await sink.write(alerts);
 * sink.alerts.length; // → alerts.length
 */
export class CollectSink implements Sink {
  readonly alerts: Alert[] = [];
  closed = false;

  constructor(readonly name = 'collect') {}

  async write(alerts: Alert[]): Promise<void> {
    for (const a of alerts) this.alerts.push(a);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
