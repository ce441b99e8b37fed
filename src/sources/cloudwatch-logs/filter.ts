/**
 * FilterLogEvents over a time range, as a {@link Source}: investigations, backfills and tests.
 *
 * Each log group is paged on its own (pages can be empty; only a missing `nextToken` ends a group)
 * and the groups are merged into one event-time order, ties broken by event id, with a k-way merge
 * that holds at most two pages per group (the one being merged and the one being fetched).
 * Requests share a rate limit, and a throttled page is retried with backoff after the SDK's own
 * retries, so a long pull slows down instead of failing.
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { Batch, Source, SourceItem } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { MinHeap } from '../../core/min-heap.ts';
import { awsErrorName, isAbortError, logsError } from './client.ts';
import { parseLogGroup, type LogGroupRef } from './groups.ts';
import { DEFAULT_BACKOFF, RateLimiter, withBackoff, type BackoffPolicy } from './throttle.ts';

/** FilterLogEvents' default quota is 5 requests/s per account and region. */
export const DEFAULT_FILTER_RATE = 5;
/** The most events FilterLogEvents returns in one page. */
export const MAX_PAGE_EVENTS = 10_000;

export interface FilterRangeOptions {
  /** Log group names, ARNs, or refs (a ref with `account`/`region` stamps them on every event) */
  logGroups: readonly (string | LogGroupRef)[];
  /** Start of the range, epoch ms, inclusive */
  from: number;
  /** End of the range, epoch ms, exclusive */
  to: number;
  /** CloudWatch filter pattern; default: every event */
  filterPattern?: string;
  /** Events per page, 1..10000 (default 10000: fewer requests against a 5/s quota) */
  pageLimit?: number;
  /** Shared request budget; default a new limiter at {@link DEFAULT_FILTER_RATE} per second */
  limiter?: RateLimiter;
  /** Retries after the SDK gives up on a throttled or failed page */
  backoff?: BackoffPolicy;
  /** Items per batch handed to the pipeline (default 1000) */
  batchSize?: number;
  /** After every page fetched and every batch merged */
  onProgress?: (progress: Readonly<RangeProgress>) => void;
  /** Each retry of a page (throttling, 5xx, dropped connection) */
  onRetry?: (logGroup: string, err: unknown, retry: number, delayMs: number) => void;
}

/** How far a range pull has come. */
export interface RangeProgress {
  groups: number;
  groupsDone: number;
  pages: number;
  emptyPages: number;
  /** Events fetched (merged or waiting in a page) */
  fetched: number;
  /** Events handed on, in event-time order */
  merged: number;
  /** Page retries after the SDK's own attempts, and how many of them were throttling */
  retries: number;
  throttled: number;
  /** Event time of the last event handed on (epoch ms) */
  position?: number;
}

/**
 * Orders CloudWatch event ids: numeric strings (56 digits on AWS, short in moto) by value, without
 * converting past 2^53.
 *
 * @example
 * compareEventIds('9', '10'); // → negative
 */
export function compareEventIds(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (a.length !== b.length && /^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length;
  return a < b ? -1 : 1;
}

/**
 * Event-time order with deterministic ties: timestamp, event id, log group, log stream.
 *
 * @example
 * events.sort(compareLogEvents);
 */
export function compareLogEvents(a: LogEvent, b: LogEvent): number {
  return (
    a.timestamp - b.timestamp ||
    compareEventIds(a.id, b.id) ||
    (a.logGroup < b.logGroup ? -1 : a.logGroup > b.logGroup ? 1 : 0) ||
    (a.logStream < b.logStream ? -1 : a.logStream > b.logStream ? 1 : 0)
  );
}

/**
 * A FilterLogEvents event as a {@link LogEvent}. Missing fields stay missing so the parser dead-letters them.
 *
 * @example
 * logEventFromFiltered({ name: '/aws/lambda/f', account: '111111111111' }, { logStreamName: 's', timestamp: 1, message: 'm', eventId: '7' });
 * // → { logGroup: '/aws/lambda/f', logStream: 's', timestamp: 1, message: 'm', id: '7', owner: '111111111111' }
 */
export function logEventFromFiltered(group: LogGroupRef, e: FilteredLogEvent): LogEvent {
  const le = { logGroup: group.name, logStream: e.logStreamName, timestamp: e.timestamp, message: e.message } as LogEvent;
  if (e.eventId !== undefined) le.id = e.eventId;
  if (group.account) le.owner = group.account;
  if (group.region) le.region = group.region;
  return le;
}

/**
 * The pages of one log group for [from, to), in the order the service returns them. Pages may be
 * empty; the generator ends only when `nextToken` is absent.
 *
 * @example
 * for await (const page of filterLogGroupPages(client, { name: '/aws/lambda/f' }, { from, to })) handle(page);
 */
export async function* filterLogGroupPages(
  client: CloudWatchLogsClient,
  group: LogGroupRef,
  range: { from: number; to: number; filterPattern?: string; pageLimit?: number; limiter?: RateLimiter; backoff?: BackoffPolicy; signal?: AbortSignal },
  onRetry?: (err: unknown, retry: number, delayMs: number) => void,
): AsyncGenerator<LogEvent[]> {
  const limiter = range.limiter ?? new RateLimiter(DEFAULT_FILTER_RATE);
  let nextToken: string | undefined;
  do {
    await limiter.take(range.signal);
    const input = {
      logGroupName: group.name,
      startTime: range.from,
      // endTime is inclusive on the service; the range is half-open.
      endTime: range.to - 1,
      filterPattern: range.filterPattern,
      limit: range.pageLimit ?? MAX_PAGE_EVENTS,
      nextToken,
      // Deprecated and ignored by AWS (always interleaved since 2019); emulators still need it to
      // return the group in time order rather than stream by stream.
      interleaved: true,
    };
    let page;
    try {
      page = await withBackoff(() => client.send(new FilterLogEventsCommand(input), { abortSignal: range.signal }), range.backoff ?? DEFAULT_BACKOFF, {
        signal: range.signal,
        onRetry,
      });
    } catch (err) {
      if (isAbortError(err) || range.signal?.aborted) throw err;
      throw logsError(err, 'FilterLogEvents', group.name);
    }
    const events = page.events ?? [];
    const out = new Array<LogEvent>(events.length);
    for (let i = 0; i < events.length; i++) out[i] = logEventFromFiltered(group, events[i]!);
    yield out;
    nextToken = page.nextToken;
  } while (nextToken);
}

/** One group's place in the merge: the page being merged and the next one already requested. */
class Cursor {
  page: LogEvent[] = [];
  index = 0;
  done = false;
  private pending: Promise<IteratorResult<LogEvent[]>> | undefined;

  constructor(
    readonly group: string,
    private readonly pages: AsyncGenerator<LogEvent[]>,
    private readonly onPage: (events: number) => void,
  ) {}

  get head(): LogEvent {
    return this.page[this.index]!;
  }

  /** Loads the next non-empty page (or marks the group done), and starts fetching the one after. */
  async fill(): Promise<void> {
    for (;;) {
      const r = await (this.pending ?? this.pages.next());
      if (r.done) {
        this.pending = undefined;
        this.done = true;
        return;
      }
      this.pending = this.pages.next();
      // Rejections surface when `pending` is awaited; until then they are not unhandled.
      this.pending.catch(() => undefined);
      this.onPage(r.value.length);
      if (r.value.length > 0) {
        this.page = r.value;
        this.index = 0;
        return;
      }
    }
  }

  async stop(): Promise<void> {
    await this.pages.return(undefined).catch(() => undefined);
  }
}

/**
 * Log events of several log groups over [from, to), merged in event-time order, as batches of
 * `{type: 'log-event'}` items. Range pulls have nothing to checkpoint: `ack` is a no-op.
 *
 * @example
 * const source = new FilterLogEventsSource(createLogsClient(), {
 *   logGroups: ['/aws/lambda/orders-api', '/aws/lambda/billing'], from: Date.now() - 6 * 3_600_000, to: Date.now(),
 * });
 * for await (const batch of source.batches()) pipeline.processBatch(batch.items);
 */
export class FilterLogEventsSource implements Source {
  readonly name = 'cloudwatch-logs-filter';
  readonly progress: RangeProgress;
  private readonly abort = new AbortController();
  private readonly groups: LogGroupRef[];
  private readonly limiter: RateLimiter;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly opts: FilterRangeOptions,
  ) {
    if (!(opts.from < opts.to)) throw new RangeError(`empty range: from ${opts.from} is not before to ${opts.to}`);
    const limit = opts.pageLimit ?? MAX_PAGE_EVENTS;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_EVENTS) throw new RangeError(`pageLimit must be 1..${MAX_PAGE_EVENTS}, got ${limit}`);
    this.groups = opts.logGroups.map((g) => (typeof g === 'string' ? parseLogGroup(g) : g));
    this.limiter = opts.limiter ?? new RateLimiter(DEFAULT_FILTER_RATE);
    this.progress = { groups: this.groups.length, groupsDone: 0, pages: 0, emptyPages: 0, fetched: 0, merged: 0, retries: 0, throttled: 0 };
  }

  async *batches(): AsyncGenerator<Batch> {
    const ack = (): void => {};
    try {
      for await (const events of this.mergedBatches()) {
        const items = new Array<SourceItem>(events.length);
        for (let i = 0; i < events.length; i++) {
          const event = events[i]!;
          items[i] = { type: 'log-event', event, position: { logGroup: event.logGroup, logEventId: event.id } };
        }
        yield { items, ack, watermark: events[events.length - 1]!.timestamp };
      }
    } catch (err) {
      if (this.abort.signal.aborted && isAbortError(err)) return;
      throw err;
    }
  }

  /** Stops fetching; `batches()` then ends. */
  async close(): Promise<void> {
    this.abort.abort();
  }

  /** The merged event stream, in batches of `batchSize`. */
  async *mergedBatches(): AsyncGenerator<LogEvent[]> {
    const { opts, progress } = this;
    const batchSize = opts.batchSize ?? 1000;
    const onPage = (n: number): void => {
      progress.pages++;
      if (n === 0) progress.emptyPages++;
      progress.fetched += n;
      opts.onProgress?.(progress);
    };
    const cursors = this.groups.map((group) => {
      const onRetry = (err: unknown, retry: number, delayMs: number): void => {
        progress.retries++;
        if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(awsErrorName(err))) progress.throttled++;
        opts.onRetry?.(group.name, err, retry, delayMs);
      };
      const pages = filterLogGroupPages(
        this.client,
        group,
        { ...opts, limiter: this.limiter, signal: this.abort.signal },
        onRetry,
      );
      return new Cursor(group.name, pages, onPage);
    });
    const heap = new MinHeap<Cursor>((a, b) => compareLogEvents(a.head, b.head) < 0);
    const finished = (): void => {
      progress.groupsDone++;
      opts.onProgress?.(progress);
    };
    try {
      await Promise.all(cursors.map((c) => c.fill()));
      for (const c of cursors) (c.done ? finished() : heap.push(c));
      let batch: LogEvent[] = [];
      while (heap.items.length > 0) {
        const c = heap.items[0]!;
        batch.push(c.page[c.index++]!);
        if (c.index < c.page.length) {
          heap.siftDown();
        } else {
          heap.pop();
          await c.fill();
          if (c.done) finished();
          else heap.push(c);
        }
        if (batch.length >= batchSize) {
          progress.merged += batch.length;
          progress.position = batch[batch.length - 1]!.timestamp;
          opts.onProgress?.(progress);
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) {
        progress.merged += batch.length;
        progress.position = batch[batch.length - 1]!.timestamp;
        opts.onProgress?.(progress);
        yield batch;
      }
    } finally {
      this.abort.abort();
      await Promise.all(cursors.map((c) => c.stop()));
    }
  }
}
