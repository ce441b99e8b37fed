/**
 * GetLogEvents: one log stream, oldest first. The service never omits `nextForwardToken`; at the
 * end of a stream it returns the token it was sent, so the paginator must be told to stop on the
 * same token or it keeps fetching empty pages for ever. A page cap guards against the rest.
 */
import { paginateGetLogEvents, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { FnwatchError } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { isAbortError, logsError } from './client.ts';
import { parseLogGroup } from './groups.ts';
import type { RateLimiter } from './throttle.ts';

/** Default page cap: 10,000 pages of up to 10,000 events is far more than one stream holds. */
export const DEFAULT_MAX_PAGES = 10_000;

export interface StreamReadOptions {
  /** Log group name or ARN */
  logGroup: string;
  logStream: string;
  /** Epoch ms, inclusive */
  startTime?: number;
  /** Epoch ms, exclusive */
  endTime?: number;
  /** Events per page (service maximum 10,000) */
  pageSize?: number;
  /** Stop with an error after this many pages (default {@link DEFAULT_MAX_PAGES}) */
  maxPages?: number;
  limiter?: RateLimiter;
  signal?: AbortSignal;
}

/**
 * The events of one log stream in order, page by page (pages may be empty). GetLogEvents gives no
 * event id, so `id` is left unset; `position.logEventId` can use {@link streamEventKey}.
 *
 * @example
 * for await (const page of readLogStream(client, { logGroup: '/aws/lambda/f', logStream: '2024/01/01/[$LATEST]abc' })) {
 *   for (const le of page) pipeline.processLogEvent(le);
 * }
 */
export async function* readLogStream(client: CloudWatchLogsClient, opts: StreamReadOptions): AsyncGenerator<LogEvent[]> {
  const group = parseLogGroup(opts.logGroup);
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  const paginator = paginateGetLogEvents(
    { client, pageSize: opts.pageSize, stopOnSameToken: true },
    {
      logGroupName: group.name,
      logStreamName: opts.logStream,
      startFromHead: true,
      startTime: opts.startTime,
      // endTime is exclusive on GetLogEvents ("not included"), matching our half-open ranges.
      endTime: opts.endTime,
    },
  );
  const end = opts.endTime;
  let pages = 0;
  try {
    await opts.limiter?.take(opts.signal);
    for await (const page of paginator) {
      if (++pages > maxPages) {
        throw new FnwatchError(
          `GetLogEvents on ${group.name} ${opts.logStream} did not reach the end of the stream after ${maxPages} pages; raise maxPages or narrow the time range`,
          false,
          'page-cap',
        );
      }
      const events = page.events ?? [];
      const out: LogEvent[] = [];
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        // The range is half-open on AWS; some emulators include endTime. Hold the line here.
        if (end !== undefined && typeof e.timestamp === 'number' && e.timestamp >= end) continue;
        const le = { logGroup: group.name, logStream: opts.logStream, timestamp: e.timestamp, message: e.message } as LogEvent;
        if (group.account) le.owner = group.account;
        if (group.region) le.region = group.region;
        out.push(le);
      }
      yield out;
      if (opts.signal?.aborted) return;
      await opts.limiter?.take(opts.signal);
    }
  } catch (err) {
    if (err instanceof FnwatchError || isAbortError(err)) throw err;
    throw logsError(err, 'GetLogEvents', group.name);
  }
}

/**
 * A stable identity for an event read with GetLogEvents: its timestamp and its rank among the
 * stream's events with that same timestamp. Stable across reads because a time range never splits
 * one millisecond.
 *
 * @example
 * const key = streamEventKey();
 * key(1700000000000); // → '1700000000000.0'
 * key(1700000000000); // → '1700000000000.1'
 */
export function streamEventKey(): (timestamp: number) => string {
  let lastTs = Number.NaN;
  let rank = 0;
  return (timestamp) => {
    rank = timestamp === lastTs ? rank + 1 : 0;
    lastTs = timestamp;
    return `${timestamp}.${rank}`;
  };
}
