import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatEta, formatProgress, ProgressReporter } from './progress.ts';

/** A stream that records what is written, claiming to be a terminal when `tty`. */
function captureStream(tty: boolean): Writable & { isTTY?: boolean; columns?: number; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; text(): string };
  if (tty) {
    stream.isTTY = true;
    stream.columns = 200;
  }
  stream.text = () => chunks.join('');
  return stream;
}

describe('formatProgress', () => {
  it('shows the bar, events, rate, event time and ETA', () => {
    const line = formatProgress('replay', { done: 50, total: 100, events: 120_000, position: Date.UTC(2024, 0, 1, 6), elapsedMs: 4000 });
    expect(line).toBe('replay ████████████░░░░░░░░░░░░  50% | 120,000 events | 30,000 events/s | at 2024-01-01T06:00:00Z | ETA 4s');
  });

  it('leaves out an unknown position and says the ETA is unknown before any progress', () => {
    expect(formatProgress('train', { done: 0, total: 10, events: 0, elapsedMs: 0 })).toBe('train ░░░░░░░░░░░░░░░░░░░░░░░░   0% | 0 events | 0 events/s | ETA ?');
  });

  it('formats the ETA in seconds, minutes and hours', () => {
    expect(formatEta(10_000, 0.5)).toBe('10s');
    expect(formatEta(60_000, 0.2)).toBe('4m00s');
    expect(formatEta(3_600_000, 0.25)).toBe('3h00m');
    expect(formatEta(5_000, 1)).toBe('0s');
  });
});

describe('ProgressReporter', () => {
  it('draws on a terminal and clears the line when stopped', () => {
    const stream = captureStream(true);
    const p = new ProgressReporter({ label: 'replay', stream, fps: 1000 });
    expect(p.active).toBe(true);
    p.start(1000);
    p.update({ done: 500, events: 42, position: Date.UTC(2024, 0, 1) });
    p.stop();
    const text = stream.text();
    expect(text).toContain('replay ');
    expect(text).toContain('42 events');
    expect(text).toContain('at 2024-01-01T00:00:00Z');
  });

  it('is silent when the stream is not a terminal, or when disabled', () => {
    for (const [stream, enabled] of [
      [captureStream(false), true],
      [captureStream(true), false],
    ] as const) {
      const p = new ProgressReporter({ stream, enabled });
      p.start(10);
      p.update({ done: 5, events: 1 });
      p.stop();
      expect(p.active).toBe(false);
      expect(stream.text()).toBe('');
    }
  });
});
