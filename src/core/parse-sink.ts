import type { DeadLetter, FnEvent, LogEvent } from './events.ts';

/**
 * Where parsers put what they produce. Parsers never throw on data: everything they read ends in
 * exactly one of these calls (an event, a dead letter, an ignored line, a control message), so the
 * counts always add up and nothing is silently lost.
 *
 * Counters that the replay summary and the service metrics report come from these calls.
 */
export interface ParseSink {
  /** A normalized event. */
  event(ev: FnEvent): void;
  /** A record or line that could not be decoded or parsed. */
  deadLetter(dl: DeadLetter): void;
  /** A well-formed line that carries nothing fnwatch uses (application logs, END lines …). */
  ignored(reason?: string): void;
  /** A CloudWatch Logs `CONTROL_MESSAGE` (reachability probe): counted and skipped. */
  control(): void;
  /** One log event was extracted from a record (counts `log_events`). */
  logEvent?(le: LogEvent): void;
}

/** Counts of what went through parsing, as reported by `fnwatch replay --summary-json`. */
export interface ParseCounts {
  records: number;
  log_events: number;
  events: { invocation: number; resource_access: number; egress: number; change: number };
  control_messages: number;
  dead_letter: number;
  ignored: number;
}

/** A fresh zeroed {@link ParseCounts}. */
export function emptyCounts(): ParseCounts {
  return {
    records: 0,
    log_events: 0,
    events: { invocation: 0, resource_access: 0, egress: 0, change: 0 },
    control_messages: 0,
    dead_letter: 0,
    ignored: 0,
  };
}
