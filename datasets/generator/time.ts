/** Time formatting shared by the log and CloudTrail writers. */

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
let isoDay = NaN;
let isoDayPrefix = '';

/**
 * `Date#toISOString` without a Date per call: it runs several times per invocation, and the
 * date part changes once a day.
 *
 * @example
 * iso(1767225600123); // → '2026-01-01T00:00:00.123Z'
 */
export function iso(ms: number): string {
  const day = Math.floor(ms / DAY);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY;
  const h = Math.floor(rest / HOUR);
  rest -= h * HOUR;
  const m = Math.floor(rest / MIN);
  rest -= m * MIN;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  return `${isoDayPrefix}${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[sec]}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
