import { deadLetterSample, type LogEvent, type Position } from '../core/events.ts';
import type { ParseSink } from '../core/parse-sink.ts';

/**
 * Dead-letters one log event: the position gains the log group and event id, the raw sample is
 * the message (or `raw` when given), truncated by {@link deadLetterSample}.
 *
 * @example
 * deadLetterLogEvent(out, pos, le, 'bad-field', 'Duration is not a number');
 */
export function deadLetterLogEvent(
  out: ParseSink,
  pos: Position,
  le: LogEvent,
  reason: string,
  detail: string,
  raw?: string,
): void {
  const position: Position = { ...pos, logGroup: le.logGroup };
  if (le.id !== undefined) position.logEventId = le.id;
  out.deadLetter({ reason, detail, position, raw: deadLetterSample(raw ?? le.message), time: le.timestamp });
}

/**
 * JSON text of a value for a dead-letter sample, without throwing (cycles, BigInt) and without
 * serialising more than needed.
 *
 * @example
 * sampleOf({ a: 1 }); // → '{"a":1}'
 */
export function sampleOf(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
