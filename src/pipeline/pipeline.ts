/**
 * The pipeline: source items → parse → profile → detect → score → alerts. Synchronous and
 * deterministic: the same items in the same order give the same alerts, which is what lets
 * `replay`, `investigate`, `eval` and the long-lived service share it.
 *
 * No I/O: alerts and dead letters leave through callbacks; the runner hands them to sinks.
 */
import type { Alert } from '../core/alert.ts';
import type { SourceItem } from '../core/contracts.ts';
import type { DeadLetter, FnEvent, LogEvent } from '../core/events.ts';
import { emptyCounts, type ParseCounts, type ParseSink } from '../core/parse-sink.ts';
import { createParser, type Parser, type ParserOptions } from '../parsers/index.ts';
import { Engine, type EngineOptions } from './engine.ts';
import type { BaselineSnapshot } from '../profiler/snapshot.ts';

export interface PipelineOptions extends EngineOptions {
  parser?: ParserOptions;
  /** Receives every alert (OCSF Detection Finding), in the order raised. */
  onAlert?: (alert: Alert) => void;
  /** Receives every dead letter. */
  onDeadLetter?: (dl: DeadLetter) => void;
  /** Receives every normalized event after parsing (for `train`, Arrow export, reports). */
  onEvent?: (ev: FnEvent) => void;
}

/** Counts reported by `--summary-json` and the service metrics. */
export interface PipelineCounts extends ParseCounts {
  alerts: number;
}

/**
 * Runs items through parse → profile → detect → score.
 *
 * @example
 * const alerts: Alert[] = [];
 * const p = new Pipeline({ onAlert: (a) => alerts.push(a) });
 * p.process({ type: 'payload', data: kinesisRecordData, position: { shard: 'shardId-000', sequence: '1' } });
 * p.finish();
 */
export class Pipeline {
  readonly counts: PipelineCounts = { ...emptyCounts(), alerts: 0 };
  readonly engine: Engine;
  private readonly parser: Parser;
  private readonly sink: ParseSink;

  constructor(private readonly opts: PipelineOptions = {}) {
    this.parser = createParser(opts.parser);
    this.engine = new Engine(opts, (a) => {
      this.counts.alerts++;
      opts.onAlert?.(a);
    });
    const counts = this.counts;
    const engine = this.engine;
    const onEvent = opts.onEvent;
    this.sink = {
      event(ev) {
        counts.events[ev.kind]++;
        onEvent?.(ev);
        engine.observe(ev);
      },
      deadLetter(dl) {
        counts.dead_letter++;
        opts.onDeadLetter?.(dl);
      },
      ignored() {
        counts.ignored++;
      },
      control() {
        counts.control_messages++;
      },
      logEvent() {
        counts.log_events++;
      },
    };
  }

  /** Parses one source item and runs its events through the engine. Never throws on bad data. */
  process(item: SourceItem): void {
    switch (item.type) {
      case 'payload':
        this.counts.records++;
        this.parser.payload(item.data, item.position, this.sink);
        break;
      case 'log-event':
        this.parser.logEvent(item.event, item.position, this.sink);
        break;
      case 'cloudtrail':
        this.counts.records++;
        this.parser.cloudTrailRecord(item.record, item.position, this.sink);
        break;
    }
  }

  /** Processes a batch and returns the alerts it raised (in addition to `onAlert`). */
  processBatch(items: readonly SourceItem[]): Alert[] {
    const raised: Alert[] = [];
    const unsubscribe = this.engine.tap((a) => raised.push(a));
    try {
      for (const item of items) this.process(item);
    } finally {
      unsubscribe();
    }
    return raised;
  }

  /** Feeds an already-normalized event (Arrow replay, tests). */
  processEvent(ev: FnEvent): void {
    this.sink.event(ev);
  }

  /** Feeds one log event (FilterLogEvents, live tail). */
  processLogEvent(le: LogEvent): void {
    this.process({ type: 'log-event', event: le, position: { logGroup: le.logGroup, logEventId: le.id } });
  }

  /** Event time has advanced to `time` (ms) with no events, e.g. an idle stream. */
  advance(time: number): void {
    this.engine.advance(time);
  }

  /** End of input: closes open windows so that pending findings are raised. */
  finish(): void {
    this.engine.finish();
  }

  /** The learned baselines, in the format of `fnwatch train`. */
  snapshot(): BaselineSnapshot {
    return this.engine.snapshot();
  }
}
