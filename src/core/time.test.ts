import { describe, expect, it } from 'vitest';
import { UsageError } from './contracts.ts';
import { formatTime, parseDuration, parseOptionalRange, parseTime, parseTimeRange } from './time.ts';

const NOW = Date.UTC(2024, 0, 10, 12, 0, 0);

describe('parseDuration', () => {
  it('adds up compound durations', () => {
    expect(parseDuration('2h50m')).toBe(2 * 3_600_000 + 50 * 60_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1w1d')).toBe(8 * 86_400_000);
    expect(parseDuration(' 30S ')).toBe(30_000);
  });

  it('refuses bare numbers and unknown units with the label', () => {
    expect(() => parseDuration('170', '--renew-after')).toThrow(/--renew-after: "170" is not a duration/);
    expect(() => parseDuration('3y')).toThrow(UsageError);
    expect(() => parseDuration('')).toThrow(UsageError);
  });
});

describe('parseTime', () => {
  it('reads relative forms as time back from now', () => {
    expect(parseTime('now', NOW)).toBe(NOW);
    expect(parseTime('-6h', NOW)).toBe(NOW - 6 * 3_600_000);
    expect(parseTime('6h', NOW)).toBe(NOW - 6 * 3_600_000);
    expect(parseTime('2d', NOW)).toBe(NOW - 2 * 86_400_000);
    expect(parseTime('30m', NOW)).toBe(NOW - 30 * 60_000);
    expect(parseTime('now-1h30m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseTime('NOW', NOW)).toBe(NOW);
  });

  it('reads ISO-8601 dates and date-times, UTC unless an offset is given', () => {
    expect(parseTime('2024-01-01', NOW)).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime('2024-01-01T06:00', NOW)).toBe(Date.UTC(2024, 0, 1, 6));
    expect(parseTime('2024-01-01T06:00Z', NOW)).toBe(Date.UTC(2024, 0, 1, 6));
    expect(parseTime('2024-01-01 06:00:30.250Z', NOW)).toBe(Date.UTC(2024, 0, 1, 6, 0, 30, 250));
    expect(parseTime('2024-01-01T06:00:00+02:00', NOW)).toBe(Date.UTC(2024, 0, 1, 4));
    expect(parseTime('2024-01-01T06:00:00-0530', NOW)).toBe(Date.UTC(2024, 0, 1, 11, 30));
  });

  it('refuses impossible dates and other text with a one-line UsageError naming the argument', () => {
    expect(() => parseTime('2024-02-30', NOW, '--from')).toThrow(/--from: "2024-02-30" is not a valid date/);
    expect(() => parseTime('2024-13-01', NOW)).toThrow(UsageError);
    expect(() => parseTime('2024-01-01T25:00Z', NOW)).toThrow(UsageError);
    expect(() => parseTime('yesterday', NOW, '--to')).toThrow(/--to: "yesterday" is not a time: use ISO-8601/);
    expect(() => parseTime('now6h', NOW)).toThrow(UsageError);
    expect(() => parseTime('', NOW)).toThrow(UsageError);
  });
});

describe('epoch milliseconds (one parser for every command)', () => {
  it('reads a bare number as epoch ms, in parseTime and both range parsers', () => {
    expect(parseTime('1704088800000', NOW)).toBe(Date.UTC(2024, 0, 1, 6));
    expect(parseTime(' 1704088800000 ', NOW)).toBe(Date.UTC(2024, 0, 1, 6));
    expect(parseTimeRange('1704088800000', '1704092400000', NOW)).toEqual({ from: Date.UTC(2024, 0, 1, 6), to: Date.UTC(2024, 0, 1, 7) });
    expect(parseOptionalRange({ from: '1704088800000' }, NOW)).toEqual({ from: Date.UTC(2024, 0, 1, 6), to: undefined });
  });

  it('refuses epoch seconds, which would silently mean January 1970', () => {
    expect(() => parseTime('1704088800', NOW, '--from')).toThrow(/--from: 1704088800 looks like epoch seconds; give epoch milliseconds \(1704088800000\) or ISO-8601/);
    expect(() => parseTimeRange('1704088800', undefined, NOW)).toThrow(UsageError);
  });
});

describe('parseOptionalRange', () => {
  it('leaves an end open when it is not given', () => {
    expect(parseOptionalRange({}, NOW)).toEqual({ from: undefined, to: undefined });
    expect(parseOptionalRange({ to: '-1h' }, NOW)).toEqual({ from: undefined, to: NOW - 3_600_000 });
    expect(parseOptionalRange({ from: '2024-01-01', to: '2024-01-02' }, NOW)).toEqual({ from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 0, 2) });
  });

  it('refuses an empty range with the same message as parseTimeRange, and names a bad end', () => {
    expect(() => parseOptionalRange({ from: 'now', to: 'now' }, NOW)).toThrow(/empty time range: --from 2024-01-10T12:00:00Z is not before --to 2024-01-10T12:00:00Z/);
    expect(() => parseOptionalRange({ to: 'soon' }, NOW)).toThrow(/--to: "soon" is not a time/);
  });
});

describe('parseTimeRange', () => {
  it('defaults --to to now', () => {
    expect(parseTimeRange('-1h', undefined, NOW)).toEqual({ from: NOW - 3_600_000, to: NOW });
  });

  it('refuses empty and inverted ranges, naming both ends', () => {
    expect(() => parseTimeRange('now', 'now', NOW)).toThrow(/empty time range: --from 2024-01-10T12:00:00Z is not before --to 2024-01-10T12:00:00Z/);
    expect(() => parseTimeRange('-1h', '-2h', NOW)).toThrow(UsageError);
  });
});

describe('formatTime', () => {
  it('drops zero milliseconds only', () => {
    expect(formatTime(Date.UTC(2024, 0, 1, 6))).toBe('2024-01-01T06:00:00Z');
    expect(formatTime(Date.UTC(2024, 0, 1, 6, 0, 0, 5))).toBe('2024-01-01T06:00:00.005Z');
  });
});
