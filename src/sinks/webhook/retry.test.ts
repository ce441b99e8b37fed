import { describe, expect, it } from 'vitest';
import { backoffDelay, classifyResponse, parseRetryAfter, RETRY_AFTER_MAX_MS } from './retry.ts';

describe('backoffDelay', () => {
  it('draws uniformly below a doubling ceiling, capped', () => {
    const opts = { baseMs: 1000, capMs: 30_000 };
    expect(backoffDelay(1, opts, () => 0.999)).toBe(999);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(3996);
    expect(backoffDelay(10, opts, () => 0.999)).toBe(29_970);
    expect(backoffDelay(500, opts, () => 0.5)).toBe(15_000);
    expect(backoffDelay(4, opts, () => 0)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 0);
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
  });

  it('ignores garbage and clamps absurd waits', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('999999', now)).toBe(RETRY_AFTER_MAX_MS);
  });
});

describe('classifyResponse', () => {
  it('retries 408, 429 and 5xx, stops on 410, and treats other 4xx and 3xx as permanent', () => {
    const kind = (s: number) => classifyResponse(s, {}, 0).kind;
    expect([200, 201, 204].map(kind)).toEqual(['ok', 'ok', 'ok']);
    expect([408, 429, 500, 502, 503, 504].map(kind)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'retry']);
    expect(kind(410)).toBe('stop');
    expect([400, 401, 403, 404, 413, 422, 301].map(kind)).toEqual(['permanent', 'permanent', 'permanent', 'permanent', 'permanent', 'permanent', 'permanent']);
    expect(classifyResponse(503, { 'retry-after': '7' }, 0)).toEqual({ kind: 'retry', reason: 'HTTP 503', retryAfterMs: 7000 });
    expect(classifyResponse(429, {}, 0)).toEqual({ kind: 'retry', reason: 'HTTP 429' });
  });
});
