/**
 * A one-line terminal progress display for long reads (replay, train, backfills): how much of the
 * input is done, events and events/s, the event time reached, and an ETA. It draws only when its
 * stream (stderr by default) is a terminal, so piped or logged output never holds control codes.
 */
import { SingleBar } from 'cli-progress';
import { formatTime } from '../core/time.ts';

/** Where a long read is. */
export interface ProgressState {
  /** Work done and total, in any unit (bytes of input for replay) */
  done: number;
  total: number;
  /** Normalized events so far */
  events: number;
  /** Event time reached (ms) */
  position?: number;
  /** Wall time since the start (ms) */
  elapsedMs: number;
}

const BAR_WIDTH = 24;

/**
 * The progress line for a state.
 *
 * @example
 * formatProgress('replay', { done: 50, total: 100, events: 120_000, position: Date.UTC(2024, 0, 1, 6), elapsedMs: 4000 });
 * // → 'replay ████████████░░░░░░░░░░░░  50% | 120,000 events | 30,000 events/s | at 2024-01-01T06:00:00Z | ETA 4s'
 */
export function formatProgress(label: string, s: ProgressState): string {
  const fraction = s.total > 0 ? Math.min(1, Math.max(0, s.done / s.total)) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rate = s.elapsedMs > 0 ? Math.round((s.events / s.elapsedMs) * 1000) : 0;
  const parts = [`${label} ${bar} ${pct}`, `${s.events.toLocaleString('en-US')} events`, `${rate.toLocaleString('en-US')} events/s`];
  if (s.position !== undefined && Number.isFinite(s.position)) parts.push(`at ${formatTime(s.position)}`);
  parts.push(`ETA ${formatEta(s.elapsedMs, fraction)}`);
  return parts.join(' | ');
}

/** Remaining time from the rate so far: `12s`, `4m05s`, `1h02m`; `?` before anything is done. */
export function formatEta(elapsedMs: number, fraction: number): string {
  if (fraction >= 1) return '0s';
  if (fraction <= 0 || elapsedMs <= 0) return '?';
  const s = Math.round(((elapsedMs / fraction) * (1 - fraction)) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressOptions {
  label?: string;
  /** Default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** false forces silence (`--quiet`) */
  enabled?: boolean;
  /** Redraws per second at most (default 5) */
  fps?: number;
}

/**
 * Progress on a terminal; inert when the stream is not a TTY or `enabled` is false.
 *
 * @example
 * const progress = new ProgressReporter({ label: 'replay' });
 * progress.start(totalBytes);
 * progress.update({ done: bytesRead, events, position });
 * progress.stop();
 */
export class ProgressReporter {
  readonly active: boolean;
  private readonly label: string;
  private readonly bar: SingleBar | undefined;
  private state: ProgressState = { done: 0, total: 0, events: 0, elapsedMs: 0 };
  private startedAt = 0;
  private running = false;

  constructor(opts: ProgressOptions = {}) {
    const stream = opts.stream ?? process.stderr;
    this.label = opts.label ?? 'progress';
    this.active = opts.enabled !== false && stream.isTTY === true;
    if (!this.active) return;
    this.bar = new SingleBar({
      stream,
      fps: opts.fps ?? 5,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      format: () => formatProgress(this.label, this.state),
    });
  }

  /** Starts drawing; `total` is the amount of work (e.g. input bytes). */
  start(total: number): void {
    this.startedAt = performance.now();
    this.state = { done: 0, total, events: 0, elapsedMs: 0 };
    if (!this.bar) return;
    this.bar.start(Math.max(total, 1), 0);
    this.running = true;
  }

  /** Records where the work is; the display redraws at its own rate. */
  update(u: { done: number; events: number; position?: number }): void {
    this.state = { ...u, total: this.state.total, elapsedMs: performance.now() - this.startedAt };
    if (this.running) this.bar!.update(Math.min(u.done, this.state.total));
  }

  /** Removes the line (before the summary is printed). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.bar!.stop();
  }
}
