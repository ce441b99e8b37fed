/**
 * Delivery metrics. Sinks report through this small interface; the service adapts it to its
 * prom-client registry with {@link promSinkMetrics}, tests and `replay` read {@link CountingSinkMetrics}.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface SinkMetrics {
  /** Alerts accepted durably (into the outbox, the file, …) */
  queued(n: number): void;
  /** Alerts the receiver acknowledged with a 2xx */
  delivered(n: number): void;
  /** Requests that failed and will be retried */
  retried(n: number): void;
  /** Alerts written to the dead-letter file (rejected by the receiver, too large, invalid) */
  deadLettered(n: number): void;
  /** Alerts dropped because the outbox was full under `onFull: drop-oldest` (also dead-lettered as a summary) */
  dropped(n: number): void;
  /** Bytes held in the outbox and its cap */
  outboxBytes(bytes: number, capBytes: number): void;
}

/** Metrics that go nowhere. */
export const noMetrics: SinkMetrics = {
  queued() {},
  delivered() {},
  retried() {},
  deadLettered() {},
  dropped() {},
  outboxBytes() {},
};

/**
 * Keeps the numbers in plain fields.
 *
 * @example
 * const m = new CountingSinkMetrics();
 * const sink = await createSink(config, { metrics: m });
 * // … m.delivered, m.deadLettered
 */
export class CountingSinkMetrics implements SinkMetrics {
  queuedCount = 0;
  deliveredCount = 0;
  retriedCount = 0;
  deadLetteredCount = 0;
  droppedCount = 0;
  bytes = 0;
  capBytes = 0;
  /** Highest outbox size seen */
  peakBytes = 0;
  queued(n: number): void {
    this.queuedCount += n;
  }
  delivered(n: number): void {
    this.deliveredCount += n;
  }
  retried(n: number): void {
    this.retriedCount += n;
  }
  deadLettered(n: number): void {
    this.deadLetteredCount += n;
  }
  dropped(n: number): void {
    this.droppedCount += n;
  }
  outboxBytes(bytes: number, capBytes: number): void {
    this.bytes = bytes;
    this.capBytes = capBytes;
    if (bytes > this.peakBytes) this.peakBytes = bytes;
  }
}

/**
 * Registers `fnwatch_sink_*` counters and gauges (labelled by sink name) on a prom-client registry.
 * Safe to call for several sinks on one registry: metrics are created once and shared.
 *
 * @example
 * const registry = new Registry();
 * const metrics = promSinkMetrics(registry, 'siem');
 */
export function promSinkMetrics(registry: Registry, sink: string): SinkMetrics {
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'sink'> | undefined) ?? new Counter({ name, help, labelNames: ['sink'], registers: [registry] });
  const gauge = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Gauge<'sink'> | undefined) ?? new Gauge({ name, help, labelNames: ['sink'], registers: [registry] });
  const queued = counter('fnwatch_sink_queued_total', 'Alerts accepted durably by the sink');
  const delivered = counter('fnwatch_sink_delivered_total', 'Alerts acknowledged by the receiver');
  const retried = counter('fnwatch_sink_retried_total', 'Delivery requests retried');
  const deadLettered = counter('fnwatch_sink_dead_lettered_total', 'Alerts written to the dead-letter file');
  const dropped = counter('fnwatch_sink_dropped_total', 'Alerts dropped from a full outbox (onFull: drop-oldest)');
  const bytes = gauge('fnwatch_sink_outbox_bytes', 'Bytes held in the outbox');
  const cap = gauge('fnwatch_sink_outbox_cap_bytes', 'Outbox size cap');
  const labels = { sink };
  return {
    queued: (n) => queued.inc(labels, n),
    delivered: (n) => delivered.inc(labels, n),
    retried: (n) => retried.inc(labels, n),
    deadLettered: (n) => deadLettered.inc(labels, n),
    dropped: (n) => dropped.inc(labels, n),
    outboxBytes: (b, c) => {
      bytes.set(labels, b);
      cap.set(labels, c);
    },
  };
}
