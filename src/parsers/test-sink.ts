/**
 * A ParseSink that records every call, for the parser tests, and checks the accounting rule: every
 * log event ends in one or more events, or in exactly one `ignored` or dead letter.
 */
import type { DeadLetter, FnEvent, LogEvent } from '../core/events.ts';
import type { ParseSink } from '../core/parse-sink.ts';

/** The outcomes that followed one `logEvent` call. */
export interface LogEventOutcome {
  le: LogEvent;
  events: FnEvent[];
  ignored: string[];
  deadLetters: DeadLetter[];
}

/**
 * Records parser output.
 *
 * @example
 * const sink = new RecordingSink();
 * parser.payload(data, {}, sink);
 * expect(sink.events).toHaveLength(1);
 */
export class RecordingSink implements ParseSink {
  readonly events: FnEvent[] = [];
  readonly deadLetters: DeadLetter[] = [];
  readonly ignoredReasons: string[] = [];
  readonly logEvents: LogEventOutcome[] = [];
  controls = 0;
  /** Outcomes not preceded by a `logEvent` call (payload-level dead letters, CloudTrail records) */
  readonly loose: { events: FnEvent[]; ignored: string[]; deadLetters: DeadLetter[] } = { events: [], ignored: [], deadLetters: [] };
  private current: LogEventOutcome | undefined;

  event(ev: FnEvent): void {
    this.events.push(ev);
    (this.current ?? this.loose).events.push(ev);
  }

  deadLetter(dl: DeadLetter): void {
    this.deadLetters.push(dl);
    // A malformed payload entry (`logEvents[i] …`) never became a log event: it belongs to the payload.
    const entryLevel = dl.detail?.startsWith('logEvents[') === true;
    (entryLevel ? this.loose : (this.current ?? this.loose)).deadLetters.push(dl);
  }

  ignored(reason?: string): void {
    const r = reason ?? '';
    this.ignoredReasons.push(r);
    (this.current ?? this.loose).ignored.push(r);
  }

  control(): void {
    this.controls++;
    this.current = undefined;
  }

  logEvent(le: LogEvent): void {
    this.current = { le, events: [], ignored: [], deadLetters: [] };
    this.logEvents.push(this.current);
  }

  /** Ends the current log event's window (call between top-level inputs). */
  endInput(): void {
    this.current = undefined;
  }

  /** Log events whose outcomes break the accounting rule, with what they got. */
  misaccounted(): LogEventOutcome[] {
    return this.logEvents.filter((o) => {
      const other = o.ignored.length + o.deadLetters.length;
      return o.events.length > 0 ? other !== 0 : other !== 1;
    });
  }

  ofKind<K extends FnEvent['kind']>(kind: K): Extract<FnEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<FnEvent, { kind: K }> => e.kind === kind);
  }

  countIgnored(reason: string): number {
    return this.ignoredReasons.filter((r) => r === reason).length;
  }
}
