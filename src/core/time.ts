/**
 * Time arguments as people type them on a command line: ISO-8601 instants (`2024-01-01`,
 * `2024-01-01T06:00Z`, `2024-01-01T06:00:00+02:00`), epoch milliseconds, and relative forms counted
 * back from now (`now`, `-6h`, `2d`, `30m`, `now-1h30m`). The one parser of `--from`/`--to` for
 * every command. Pure: the caller passes `now`.
 */
import { UsageError } from './contracts.ts';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const RELATIVE = /^(?:now-|-)?((?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+)$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const FORMS = 'use ISO-8601 (2024-01-01T06:00Z; no offset means UTC), epoch milliseconds, or a time back from now (now, -6h, 2d, 30m, now-1h30m)';

/**
 * A duration such as `30m`, `2h50m`, `1.5h`, `500ms` or `7d`, in milliseconds. A bare number is
 * refused: `--renew-after 170` is ambiguous.
 *
 * @example
 * parseDuration('2h50m'); // → 10_200_000
 */
export function parseDuration(input: string, label = 'duration'): number {
  const s = input.trim().toLowerCase();
  if (!DURATION.test(s)) throw new UsageError(`${label}: ${JSON.stringify(input)} is not a duration (e.g. 30s, 15m, 2h50m, 7d)`);
  let ms = 0;
  for (const m of s.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

/**
 * A time argument in epoch ms. Relative forms count back from `now`: `6h`, `-6h` and `now-6h` all
 * mean six hours ago. An ISO-8601 date or date-time without an offset is taken as UTC, so the same
 * command means the same range on every machine. A bare number is epoch milliseconds.
 *
 * @example
 * parseTime('2024-01-01T06:00Z');            // → 1704088800000
 * parseTime('1704088800000');                // → 1704088800000
 * parseTime('-6h', Date.UTC(2024, 0, 1, 12)); // → Date.UTC(2024, 0, 1, 6)
 */
export function parseTime(input: string, now: number = Date.now(), label = 'time'): number {
  const s = input.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 1e11 ms is 1973; a ten-digit number is a time in seconds, which would silently mean 1970.
    if (n < 1e11) throw new UsageError(`${label}: ${s} looks like epoch seconds; give epoch milliseconds (${s}000) or ISO-8601`);
    return n;
  }
  if (s.toLowerCase() === 'now') return now;
  const rel = RELATIVE.exec(s.toLowerCase());
  if (rel) return now - parseDuration(rel[1]!, label);
  const iso = ISO.exec(s);
  if (iso) {
    const t = isoToMs(iso);
    if (t !== undefined) return t;
    throw new UsageError(`${label}: ${JSON.stringify(input)} is not a valid date or time`);
  }
  throw new UsageError(`${label}: ${JSON.stringify(input)} is not a time: ${FORMS}`);
}

function isoToMs(m: RegExpExecArray): number | undefined {
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) =>
    v === undefined ? undefined : Number(v),
  ) as number[];
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  if (month! < 1 || month! > 12 || day! < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = Date.UTC(year!, month! - 1, day!, hour, minute, second);
  // Date.UTC rolls 2024-02-30 over to March; a rolled date is a typo, not a time.
  if (new Date(local).getUTCDate() !== day) return undefined;
  return local + Math.floor(fraction) - offsetMs(m[8]);
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 3_600_000 + minutes * 60_000);
}

/** A half-open event-time range [from, to) in epoch ms. */
export interface TimeRange {
  from: number;
  to: number;
}

/**
 * Parses `--from`/`--to` (with `to` defaulting to now) and checks that the range is not empty.
 *
 * @example
 * parseTimeRange('-6h', 'now', Date.UTC(2024, 0, 1, 12));
 * // → { from: Date.UTC(2024, 0, 1, 6), to: Date.UTC(2024, 0, 1, 12) }
 */
export function parseTimeRange(from: string, to: string | undefined, now: number = Date.now()): TimeRange {
  const range = { from: parseTime(from, now, '--from'), to: to === undefined ? now : parseTime(to, now, '--to') };
  checkNotEmpty(range.from, range.to);
  return range;
}

/**
 * `--from`/`--to`, each optional (an open end reads to the start or end of the data); both given
 * must make a non-empty range.
 *
 * @example
 * parseOptionalRange({ from: '-6h' }, Date.UTC(2024, 0, 1, 12)); // → { from: Date.UTC(2024, 0, 1, 6), to: undefined }
 */
export function parseOptionalRange(opts: { from?: string; to?: string }, now: number = Date.now()): { from?: number; to?: number } {
  const from = opts.from === undefined ? undefined : parseTime(opts.from, now, '--from');
  const to = opts.to === undefined ? undefined : parseTime(opts.to, now, '--to');
  if (from !== undefined && to !== undefined) checkNotEmpty(from, to);
  return { from, to };
}

function checkNotEmpty(from: number, to: number): void {
  if (from >= to) throw new UsageError(`empty time range: --from ${formatTime(from)} is not before --to ${formatTime(to)}`);
}

/**
 * An epoch-ms time as ISO-8601 UTC, without milliseconds when they are zero.
 *
 * @example
 * formatTime(1704088800000); // → '2024-01-01T06:00:00Z'
 */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}
