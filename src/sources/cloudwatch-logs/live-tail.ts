/**
 * Live Tail as a {@link Source}: follows log groups with StartLiveTail event streams.
 *
 * One session covers at most 10 log groups, so more groups get more sessions. A session is renewed
 * before the service's 3-hour limit: the new session is opened first and the old one is closed a
 * little after the new one has started, so nothing falls between them; the overlap is removed by
 * event identity. A session that fails or is dropped is reopened with backoff. Live Tail has no
 * replay: while no session is open events are missed, and each such gap is reported (see README).
 */
import { createHash } from 'node:crypto';
import { StartLiveTailCommand, type CloudWatchLogsClient, type LiveTailSessionLogEvent, type LiveTailSessionUpdate } from '@aws-sdk/client-cloudwatch-logs';
import { FnwatchError } from '../../core/contracts.ts';
import type { Batch, Source, SourceItem } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { awsErrorName, isRetriableLogsError, logsError } from './client.ts';
import { logGroupArns, parseLogGroup, type LogGroupRef } from './groups.ts';
import { backoffDelay } from './throttle.ts';

/** Most log groups one StartLiveTail session may follow. */
export const MAX_GROUPS_PER_SESSION = 10;
/** Renew sessions ten minutes before the service ends them at three hours. */
export const DEFAULT_RENEW_AFTER_MS = 2 * 3_600_000 + 50 * 60_000;

export interface LiveTailOptions {
  /** Log group names or ARNs (names are looked up with DescribeLogGroups) */
  logGroups: readonly string[];
  /** CloudWatch filter pattern applied by the service */
  filterPattern?: string;
  /** Open a replacement session after this long (default 2 h 50 min; the service stops at 3 h) */
  renewAfterMs?: number;
  /** Keep the old session open this long after its replacement started (default 10 s) */
  overlapMs?: number;
  /** Delay before reconnecting: doubles per consecutive failure, with jitter (default 1 s .. 60 s) */
  backoff?: { baseMs: number; maxMs: number };
  /** Give up after this many consecutive failed connects (default: never) */
  maxFailures?: number;
  /** Event identities remembered to drop overlap duplicates (default 100,000) */
  dedupeWindow?: number;
  /** Items buffered for a slow consumer before the oldest batches are dropped (and counted) */
  queueLimit?: number;
  /** Session lifecycle, sampling, drops and gaps, for logs and metrics */
  onEvent?: (e: LiveTailEvent) => void;
}

/** What happened to the sessions, as reported to `onEvent`. */
export type LiveTailEvent =
  | { type: 'session-start'; logGroups: readonly string[]; sessionId?: string }
  | { type: 'session-renewed'; logGroups: readonly string[] }
  | { type: 'session-ended'; logGroups: readonly string[]; error?: string }
  | { type: 'reconnect'; logGroups: readonly string[]; attempt: number; delayMs: number; error: string }
  | { type: 'sampled'; logGroups: readonly string[] }
  | { type: 'dropped'; items: number }
  | { type: 'gap'; logGroups: readonly string[]; from: number; to: number };

/** Counters of a live source. */
export interface LiveTailStats {
  sessions: number;
  renewals: number;
  reconnects: number;
  updates: number;
  /** Updates the service marked as sampled (over 500 matching events/s) */
  sampledUpdates: number;
  events: number;
  duplicates: number;
  /** Items dropped because the consumer fell behind */
  dropped: number;
  /** Wall-clock ms during which some group had no session */
  gapMs: number;
}

interface Session {
  readonly abort: AbortController;
  readonly started: Promise<void>;
  readonly run: Promise<void>;
  /** Wall-clock time the stream ended, however it ended */
  endedAt?: number;
}

/** Two generations of ids: bounded memory, and an id is remembered for at least `size / 2` arrivals. */
class RecentKeys {
  private current = new Set<string>();
  private previous = new Set<string>();
  constructor(private readonly size: number) {}

  /** True if `key` was seen; remembers it either way. */
  seen(key: string): boolean {
    if (this.current.has(key) || this.previous.has(key)) return true;
    if (this.current.size >= this.size / 2) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(key);
    return false;
  }
}

/**
 * Identity of a Live Tail event, which carries no event id: a digest of where it was logged, when,
 * and what it says, plus its rank among identical events of the same update.
 *
 * @example
 * liveTailEventId({ logGroupIdentifier: 'arn:…:log-group:/aws/lambda/f', logStreamName: 's', timestamp: 1, ingestionTime: 2, message: 'm' }, 0);
 * // → 'lt-…' (25 characters)
 */
export function liveTailEventId(e: LiveTailSessionLogEvent, rank: number): string {
  const digest = createHash('sha1')
    .update(`${e.logGroupIdentifier}\u0000${e.logStreamName}\u0000${e.timestamp}\u0000${e.ingestionTime}\u0000`)
    .update(e.message ?? '')
    .digest('base64url')
    .slice(0, 22);
  return rank === 0 ? `lt-${digest}` : `lt-${digest}-${rank}`;
}

/**
 * Follows log groups live. `batches()` yields one batch per session update that brought new
 * events; it ends after `close()`, and throws if a session fails for a reason retrying cannot fix
 * (unknown group, missing permission). Batches have no watermark: Live Tail does not promise order.
 *
 * @example
 * const live = new LiveTailSource(createLogsClient(), { logGroups: ['/aws/lambda/orders-api'] });
 * for await (const batch of live.batches()) pipeline.processBatch(batch.items);
 */
export class LiveTailSource implements Source {
  readonly name = 'cloudwatch-logs-live-tail';
  readonly stats: LiveTailStats = { sessions: 0, renewals: 0, reconnects: 0, updates: 0, sampledUpdates: 0, events: 0, duplicates: 0, dropped: 0, gapMs: 0 };
  private readonly queue: Batch[] = [];
  private queued = 0;
  private wake: (() => void) | undefined;
  private failure: FnwatchError | undefined;
  private closing = false;
  private readonly closed: Promise<'closed'>;
  private markClosed!: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sessions = new Set<Session>();
  private readonly dedupe: RecentKeys;
  private readonly groupRefs = new Map<string, LogGroupRef>();
  private readonly ack = (): void => {};

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly opts: LiveTailOptions,
  ) {
    if (opts.logGroups.length === 0) throw new RangeError('live tail needs at least one log group');
    this.dedupe = new RecentKeys(opts.dedupeWindow ?? 100_000);
    this.closed = new Promise((resolve) => (this.markClosed = () => resolve('closed')));
  }

  async *batches(): AsyncGenerator<Batch> {
    const arns = await logGroupArns(this.client, this.opts.logGroups);
    const followers: Promise<void>[] = [];
    for (let i = 0; i < arns.length; i += MAX_GROUPS_PER_SESSION) {
      followers.push(this.follow(arns.slice(i, i + MAX_GROUPS_PER_SESSION)).catch((err: unknown) => this.fail(err, arns)));
    }
    let running = followers.length;
    for (const f of followers) void f.finally(() => (running--, this.notify()));
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          this.queued -= next.items.length;
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.closing || running === 0) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      await this.close();
    }
  }

  /** Ends every session; `batches()` then drains what is queued and ends. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.markClosed();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sessions) s.abort.abort();
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: unknown, groups: readonly string[]): void {
    this.failure ??= logsError(err, 'StartLiveTail', groups.map((g) => parseLogGroup(g).name).join(', '));
    void this.close();
  }

  private emit(e: LiveTailEvent): void {
    this.opts.onEvent?.(e);
  }

  /** A timer that `close()` clears; resolves `'timeout'`. */
  private delay(ms: number): { done: Promise<'timeout'>; cancel: () => void } {
    let timer: NodeJS.Timeout;
    const done = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve('timeout');
      }, ms);
      this.timers.add(timer);
    });
    return {
      done,
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  /** Keeps one chunk of log groups followed until `close()`. */
  private async follow(arns: string[]): Promise<void> {
    const names = arns.map((a) => parseLogGroup(a).name);
    const renewAfter = this.opts.renewAfterMs ?? DEFAULT_RENEW_AFTER_MS;
    const overlap = this.opts.overlapMs ?? 10_000;
    const backoff = this.opts.backoff ?? { baseMs: 1_000, maxMs: 60_000 };
    let current: Session | undefined;
    let failures = 0;
    // Wall-clock start of a period with no session open for these groups (a gap in coverage).
    let uncoveredSince: number | undefined;
    while (!this.closing) {
      const next = this.openSession(arns, names);
      const first = await Promise.race([
        next.started.then(() => 'started' as const),
        next.run.then(
          () => 'ended' as const,
          (err: unknown) => ({ err }),
        ),
        this.closed,
      ]);
      if (first === 'closed') break;
      if (first !== 'started') {
        next.abort.abort();
        // The session being replaced may have ended meanwhile: coverage stopped then.
        if (current?.endedAt !== undefined) {
          uncoveredSince ??= current.endedAt;
          current = undefined;
        }
        const err = first === 'ended' ? new FnwatchError('the live tail stream ended before its session started', true, 'SessionEnded') : first.err;
        if (!isRetriableLogsError(err)) throw err;
        failures++;
        if (failures >= (this.opts.maxFailures ?? Infinity)) throw err;
        const delayMs = backoffDelay(failures, backoff);
        this.stats.reconnects++;
        this.emit({ type: 'reconnect', logGroups: names, attempt: failures, delayMs, error: describe(err) });
        const wait = this.delay(delayMs);
        if ((await Promise.race([wait.done, this.closed])) === 'closed') break;
        continue;
      }
      failures = 0;
      if (uncoveredSince !== undefined) {
        const to = Date.now();
        this.stats.gapMs += to - uncoveredSince;
        this.emit({ type: 'gap', logGroups: names, from: uncoveredSince, to });
        uncoveredSince = undefined;
      }
      if (current) {
        const old = current;
        this.stats.renewals++;
        this.emit({ type: 'session-renewed', logGroups: names });
        // The old session still flushes what it buffered (updates come every second) before it goes.
        void this.delay(overlap).done.then(() => old.abort.abort());
      }
      current = next;
      const renew = this.delay(renewAfter);
      const outcome = await Promise.race([
        renew.done,
        current.run.then(
          () => 'ended' as const,
          (err: unknown) => ({ err }),
        ),
        this.closed,
      ]);
      renew.cancel();
      if (outcome === 'closed') break;
      if (outcome === 'timeout') continue;
      // The session ended under us: the service timed it out, the stream failed, or the connection dropped.
      current = undefined;
      uncoveredSince = Date.now();
      const err = outcome === 'ended' ? undefined : outcome.err;
      this.emit({ type: 'session-ended', logGroups: names, error: err === undefined ? undefined : describe(err) });
      if (err !== undefined && !isRetriableLogsError(err)) throw err;
      // A session that reached its time limit is replaced at once; anything else (a drop, an error,
      // a stream that just ended) backs off, so a server that keeps hanging up is not hammered.
      if (err !== undefined && awsErrorName(err) === 'SessionTimeoutException') continue;
      failures++;
      const delayMs = backoffDelay(failures, backoff);
      this.stats.reconnects++;
      this.emit({ type: 'reconnect', logGroups: names, attempt: failures, delayMs, error: err === undefined ? 'stream ended' : describe(err) });
      const wait = this.delay(delayMs);
      if ((await Promise.race([wait.done, this.closed])) === 'closed') break;
    }
    current?.abort.abort();
  }

  private openSession(arns: string[], names: readonly string[]): Session {
    const abort = new AbortController();
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const run = (async () => {
      const res = await this.client.send(new StartLiveTailCommand({ logGroupIdentifiers: arns, logEventFilterPattern: this.opts.filterPattern }), {
        abortSignal: abort.signal,
      });
      if (!res.responseStream) throw new FnwatchError('StartLiveTail returned no event stream', true, 'NoStream');
      for await (const ev of res.responseStream) {
        if (ev.sessionStart) {
          this.stats.sessions++;
          this.emit({ type: 'session-start', logGroups: names, sessionId: ev.sessionStart.sessionId });
          markStarted();
        } else if (ev.sessionUpdate) {
          this.accept(ev.sessionUpdate, names);
        } else if (ev.SessionTimeoutException) {
          throw Object.assign(new Error(ev.SessionTimeoutException.message ?? 'session timed out'), { name: 'SessionTimeoutException' });
        } else if (ev.SessionStreamingException) {
          throw Object.assign(new Error(ev.SessionStreamingException.message ?? 'session stream failed'), { name: 'SessionStreamingException' });
        }
      }
    })();
    const session: Session = { abort, started, run };
    this.sessions.add(session);
    // An aborted session's rejection is expected; the follower reads `run` itself when it cares.
    run
      .catch(() => undefined)
      .finally(() => {
        session.endedAt = Date.now();
        this.sessions.delete(session);
      });
    return session;
  }

  private accept(update: LiveTailSessionUpdate, names: readonly string[]): void {
    this.stats.updates++;
    if (update.sessionMetadata?.sampled) {
      this.stats.sampledUpdates++;
      this.emit({ type: 'sampled', logGroups: names });
    }
    const results = update.sessionResults ?? [];
    if (results.length === 0) return;
    const items: SourceItem[] = [];
    let ranks: Map<string, number> | undefined;
    for (const r of results) {
      let id = liveTailEventId(r, 0);
      // Two identical lines in one update are two events; the same line in two sessions is one.
      ranks ??= new Map();
      const rank = ranks.get(id) ?? 0;
      ranks.set(id, rank + 1);
      if (rank > 0) id = liveTailEventId(r, rank);
      if (this.dedupe.seen(id)) {
        this.stats.duplicates++;
        continue;
      }
      const ref = this.refOf(r.logGroupIdentifier ?? '');
      const event = { logGroup: ref.name, logStream: r.logStreamName, timestamp: r.timestamp, message: r.message, id } as LogEvent;
      if (ref.account) event.owner = ref.account;
      if (ref.region) event.region = ref.region;
      items.push({ type: 'log-event', event, position: { logGroup: ref.name, logEventId: id } });
    }
    if (items.length === 0) return;
    this.stats.events += items.length;
    this.queue.push({ items, ack: this.ack });
    this.queued += items.length;
    const limit = this.opts.queueLimit ?? 100_000;
    while (this.queued > limit && this.queue.length > 1) {
      const dropped = this.queue.shift()!;
      this.queued -= dropped.items.length;
      this.stats.dropped += dropped.items.length;
      this.emit({ type: 'dropped', items: dropped.items.length });
    }
    this.notify();
  }

  private refOf(identifier: string): LogGroupRef {
    let ref = this.groupRefs.get(identifier);
    if (!ref) {
      ref = parseLogGroup(identifier);
      this.groupRefs.set(identifier, ref);
    }
    return ref;
  }
}

function describe(err: unknown): string {
  return `${awsErrorName(err)}: ${err instanceof Error ? err.message : String(err)}`;
}
