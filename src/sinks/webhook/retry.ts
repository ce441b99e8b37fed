/**
 * What to do after a delivery attempt. Pure: the caller passes the time and the random source.
 *
 * - 2xx: delivered.
 * - 408, 429, 5xx, network errors and timeouts: retry with exponential backoff and full jitter,
 *   or after `Retry-After` (seconds or an HTTP date) when the receiver sends one.
 * - 410 Gone: stop sending to this endpoint; alerts stay in the outbox for an operator.
 * - Other 3xx/4xx: permanent for this content (after a bounded number of tries the alert is
 *   dead-lettered; a batch is bisected first so only the offending alerts are).
 */

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'permanent'; reason: string }
  | { kind: 'stop'; reason: string };

/** Longest wait a Retry-After header can impose; a larger value is clamped (and still honoured). */
export const RETRY_AFTER_MAX_MS = 3_600_000;

/**
 * Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^(attempt-1))).
 *
 * @example
 * backoffDelay(3, { baseMs: 1000, capMs: 300_000 }); // somewhere in [0, 4000)
 */
export function backoffDelay(attempt: number, opts: { baseMs: number; capMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` value in ms from now: delta-seconds or an HTTP date; undefined when absent or
 * unparsable. Dates in the past give 0.
 *
 * @example
 * parseRetryAfter('120', Date.now());                            // → 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 0)); // → 60000
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, RETRY_AFTER_MAX_MS);
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.min(Math.max(0, at - now), RETRY_AFTER_MAX_MS);
}

/**
 * Classifies an HTTP response.
 *
 * @example
 * classifyResponse(429, { 'retry-after': '2' }, Date.now()); // → { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 2000 }
 */
export function classifyResponse(status: number, headers: Record<string, string | string[] | undefined>, now: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const reason = `HTTP ${status}`;
  if (status === 410) return { kind: 'stop', reason };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headers['retry-after'], now);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  return { kind: 'permanent', reason };
}
