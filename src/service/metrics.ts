/**
 * The service's Prometheus metrics (prom-client), on one registry served at `/metrics`.
 *
 * Counters take rates in PromQL (`rate(fnwatch_events_total[1m])` is events per second); the
 * pipeline's counts are cumulative, so {@link ServiceMetrics.observeCounts} adds the difference since
 * the last call rather than touching the hot path per event.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { alertKind, severityName, type Alert } from '../core/alert.ts';
import type { DeadLetter } from '../core/events.ts';
import type { PipelineCounts } from '../pipeline/pipeline.ts';
import { promSinkMetrics, type SinkMetrics } from '../sinks/metrics.ts';

const EVENT_KINDS = ['invocation', 'resource_access', 'egress', 'change'] as const;

/**
 * @example
 * const metrics = new ServiceMetrics();
 * metrics.observeCounts(pipeline.counts);   // after each batch
 * const text = await metrics.registry.metrics();
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'fnwatch_records_total', help: 'Source records (Kinesis records, CloudTrail records) read', registers: [this.registry] });
  readonly logEvents = new Counter({ name: 'fnwatch_log_events_total', help: 'CloudWatch log events read', registers: [this.registry] });
  readonly events = new Counter({ name: 'fnwatch_events_total', help: 'Normalized events, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly parseErrors = new Counter({ name: 'fnwatch_parse_errors_total', help: 'Records the parser rejected, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'fnwatch_dead_letters_total', help: 'Dead letters written to the dead-letter file', registers: [this.registry] });
  readonly ignored = new Counter({ name: 'fnwatch_ignored_total', help: 'Log lines that carry no event (not an error)', registers: [this.registry] });
  readonly alerts = new Counter({ name: 'fnwatch_alerts_total', help: 'Alerts raised, by kind and severity', labelNames: ['kind', 'severity'], registers: [this.registry] });
  readonly batches = new Counter({ name: 'fnwatch_batches_total', help: 'Batches processed and acknowledged', registers: [this.registry] });
  readonly batchSeconds = new Histogram({
    name: 'fnwatch_batch_seconds',
    help: 'Time to process a batch, write its alerts and acknowledge it',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly lag = new Gauge({ name: 'fnwatch_shard_lag_ms', help: 'MillisBehindLatest of the last fetch, per shard', labelNames: ['shard'], registers: [this.registry] });
  readonly leases = new Gauge({ name: 'fnwatch_leases', help: 'Shard leases held by this worker', registers: [this.registry] });
  readonly leaseEvents = new Counter({ name: 'fnwatch_lease_events_total', help: 'Leases acquired, lost and released', labelNames: ['event'], registers: [this.registry] });
  readonly checkpoints = new Counter({ name: 'fnwatch_checkpoints_total', help: 'Checkpoints written to the lease table', registers: [this.registry] });
  readonly throttled = new Counter({ name: 'fnwatch_source_throttled_total', help: 'Throttled source calls (retried)', registers: [this.registry] });
  readonly sourceRetries = new Counter({ name: 'fnwatch_source_retries_total', help: 'Transient source failures retried', registers: [this.registry] });
  readonly sinkQueueDepth = new Gauge({
    name: 'fnwatch_sink_queue_depth',
    help: 'Alerts accepted by a sink and not yet delivered (webhook outbox)',
    labelNames: ['sink'],
    registers: [this.registry],
  });
  readonly sinkErrors = new Counter({ name: 'fnwatch_sink_write_errors_total', help: 'Sink writes that failed and were retried', registers: [this.registry] });
  readonly snapshots = new Counter({ name: 'fnwatch_baseline_snapshots_total', help: 'Baseline snapshots written', registers: [this.registry] });
  readonly functions = new Gauge({ name: 'fnwatch_functions', help: 'Functions with a profile in memory', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'fnwatch_ready', help: '1 once the sources are started (leases acquired)', registers: [this.registry] });
  readonly eventTime = new Gauge({ name: 'fnwatch_event_time_seconds', help: 'Watermark of the pipeline: latest event time, or record arrival time when the source reports it', registers: [this.registry] });

  private last: PipelineCounts | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    // RSS, heap, event-loop lag: what tells whether memory stays flat under load.
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'fnwatch_' });
  }

  /** Adds what the pipeline counted since the previous call. */
  observeCounts(c: PipelineCounts): void {
    const p = this.last;
    this.records.inc(c.records - (p?.records ?? 0));
    this.logEvents.inc(c.log_events - (p?.log_events ?? 0));
    this.ignored.inc(c.ignored - (p?.ignored ?? 0));
    for (const k of EVENT_KINDS) {
      const d = c.events[k] - (p?.events[k] ?? 0);
      if (d > 0) this.events.inc({ kind: k }, d);
    }
    this.last = { ...c, events: { ...c.events } };
  }

  /** One parser rejection. */
  parseError(dl: DeadLetter): void {
    this.parseErrors.inc({ reason: dl.reason });
  }

  /** One alert raised. */
  alertRaised(a: Alert): void {
    this.alerts.inc({ kind: alertKind(a), severity: severityName(a.severity_id).toLowerCase() });
  }

  /**
   * Sink metrics hooks for `createSink`: the `fnwatch_sink_*` counters, plus a queue-depth gauge
   * (accepted, not yet delivered, dead-lettered or dropped).
   */
  sinkMetrics(sink: string): SinkMetrics {
    const base = promSinkMetrics(this.registry, sink);
    let depth = 0;
    const labels = { sink };
    const move = (d: number): void => {
      depth = Math.max(0, depth + d);
      this.sinkQueueDepth.set(labels, depth);
    };
    this.sinkQueueDepth.set(labels, 0);
    return {
      queued: (n) => (base.queued(n), move(n)),
      delivered: (n) => (base.delivered(n), move(-n)),
      retried: (n) => base.retried(n),
      deadLettered: (n) => (base.deadLettered(n), move(-n)),
      dropped: (n) => (base.dropped(n), move(-n)),
      outboxBytes: (b, c) => base.outboxBytes(b, c),
    };
  }
}
