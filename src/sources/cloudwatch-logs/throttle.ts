/**
 * Pacing for long pulls. The SDK already retries a throttled call a couple of times; a backfill over
 * hundreds of pages needs more: a request rate kept under the account quota (FilterLogEvents is
 * 5 requests/s per account and region by default) and a patient backoff once the SDK gives up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isAbortError, worthBackingOff } from './client.ts';

/**
 * A token bucket: at most `perSecond` calls per second on average, `burst` at once. Shared by every
 * reader that uses one client so that concurrent groups add up to one budget.
 *
 * @example
 * const limiter = new RateLimiter(5);
 * await limiter.take();
 * await client.send(new FilterLogEventsCommand(input));
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly perSecond: number,
    readonly burst: number = Math.max(1, Math.ceil(perSecond)),
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0)) throw new RangeError(`rate limit must be positive, got ${perSecond}`);
    this.tokens = burst;
    this.last = clock();
  }

  /** Resolves when the caller may make one call. Callers are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.chain.then(() => this.wait(signal));
    // One caller's abort must not wedge the queue for the others.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.clock();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000), undefined, { signal });
    }
  }
}

/** How long and how often to retry once the SDK's own attempts are spent. */
export interface BackoffPolicy {
  /** Tries in all, the first included (default 8) */
  attempts: number;
  /** First delay (default 500 ms); doubles per retry, with full jitter */
  baseMs: number;
  /** Longest delay (default 20 s) */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ attempts: 8, baseMs: 500, maxMs: 20_000 });

/**
 * The delay before retry number `retry` (1-based): exponential with full jitter, so that many
 * readers throttled at once do not come back at once.
 *
 * @example
 * backoffDelay(3, DEFAULT_BACKOFF); // somewhere in [0, 2000] ms
 */
export function backoffDelay(retry: number, policy: Pick<BackoffPolicy, 'baseMs' | 'maxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `op` and retries it on throttling, 5xx and dropped connections with backoff (see
 * {@link worthBackingOff}). Other errors and aborts go straight to the caller; so does the last
 * error once `attempts` are spent.
 *
 * @example
 * const page = await withBackoff(() => client.send(cmd, { abortSignal }), DEFAULT_BACKOFF, {
 *   signal: abortSignal,
 *   onRetry: (err, n, ms) => log.warn({ err, n, ms }, 'FilterLogEvents throttled'),
 * });
 */
export async function withBackoff<T>(
  op: () => Promise<T>,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  opts: { signal?: AbortSignal; onRetry?: (err: unknown, retry: number, delayMs: number) => void; retriable?: (err: unknown) => boolean } = {},
): Promise<T> {
  const retriable = opts.retriable ?? worthBackingOff;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (isAbortError(err) || opts.signal?.aborted || attempt >= policy.attempts || !retriable(err)) throw err;
      const delay = backoffDelay(attempt, policy);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, undefined, { signal: opts.signal });
    }
  }
}
