/**
 * CloudWatch Logs as a direct source: range reads (FilterLogEvents, GetLogEvents) and Live Tail.
 * See README.md in this folder for when to use Live Tail instead of a subscription filter.
 *
 * @example
 * import { createLogsClient, FilterLogEventsSource, resolveLogGroups } from './sources/cloudwatch-logs/index.ts';
 * const client = createLogsClient();
 * const groups = await resolveLogGroups(client, { prefixes: ['/aws/lambda/'] });
 * const source = new FilterLogEventsSource(client, { logGroups: groups, from: Date.now() - 3_600_000, to: Date.now() });
 */
export { createLogsClient, configuredLogsEndpoint, isLocalEndpoint, logsError, isRetriableLogsError, type LogsClientOptions } from './client.ts';
export { resolveLogGroups, describeLogGroups, logGroupArns, parseLogGroup, type LogGroupRef } from './groups.ts';
export { FilterLogEventsSource, filterLogGroupPages, compareLogEvents, DEFAULT_FILTER_RATE, type FilterRangeOptions, type RangeProgress } from './filter.ts';
export { readLogStream, streamEventKey, type StreamReadOptions } from './get-log-events.ts';
export { LiveTailSource, DEFAULT_RENEW_AFTER_MS, MAX_GROUPS_PER_SESSION, type LiveTailOptions, type LiveTailEvent, type LiveTailStats } from './live-tail.ts';
export { RateLimiter, withBackoff, DEFAULT_BACKOFF, type BackoffPolicy } from './throttle.ts';
