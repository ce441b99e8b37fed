/**
 * Which log groups to read: explicit names, name prefixes expanded with DescribeLogGroups, and the
 * ARNs StartLiveTail wants.
 */
import { DescribeLogGroupsCommand, type CloudWatchLogsClient, type LogGroup } from '@aws-sdk/client-cloudwatch-logs';
import { UsageError } from '../../core/contracts.ts';
import { logsError } from './client.ts';
import { DEFAULT_BACKOFF, withBackoff, type BackoffPolicy, type RateLimiter } from './throttle.ts';

/** What a log group identifier tells: its name, and the account and region when it is an ARN. */
export interface LogGroupRef {
  name: string;
  account?: string;
  region?: string;
  /** ARN without the trailing `:*` (the form StartLiveTail accepts) */
  arn?: string;
}

const LOG_GROUP_ARN = /^arn:([\w-]+):logs:([\w-]*):(\d*):log-group:(.+?)(?::\*)?$/;

/**
 * Splits a log group name or ARN (`arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/f[:*]`).
 *
 * @example
 * parseLogGroup('arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/f:*');
 * // → { name: '/aws/lambda/f', account: '111111111111', region: 'eu-west-1', arn: 'arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/f' }
 */
export function parseLogGroup(identifier: string): LogGroupRef {
  const m = LOG_GROUP_ARN.exec(identifier);
  if (!m) return { name: identifier };
  const ref: LogGroupRef = { name: m[4]!, arn: `arn:${m[1]}:logs:${m[2]}:${m[3]}:log-group:${m[4]}` };
  if (m[2]) ref.region = m[2];
  if (m[3]) ref.account = m[3];
  return ref;
}

export interface DescribeOptions {
  /** Log groups per DescribeLogGroups page (service default and maximum 50) */
  pageSize?: number;
  limiter?: RateLimiter;
  backoff?: BackoffPolicy;
  signal?: AbortSignal;
}

/**
 * Every log group whose name starts with `prefix`, following `nextToken` to the end.
 *
 * @example
 * const groups = await describeLogGroups(client, '/aws/lambda/');
 * groups.map((g) => g.logGroupName);
 */
export async function describeLogGroups(client: CloudWatchLogsClient, prefix: string, opts: DescribeOptions = {}, subject = prefix ? `${prefix}*` : undefined): Promise<LogGroup[]> {
  const out: LogGroup[] = [];
  let nextToken: string | undefined;
  do {
    await opts.limiter?.take(opts.signal);
    const input = { logGroupNamePrefix: prefix || undefined, nextToken, limit: opts.pageSize };
    const page = await withBackoff(() => client.send(new DescribeLogGroupsCommand(input), { abortSignal: opts.signal }), opts.backoff ?? DEFAULT_BACKOFF, {
      signal: opts.signal,
    }).catch((err: unknown) => {
      throw logsError(err, 'DescribeLogGroups', subject);
    });
    for (const g of page.logGroups ?? []) out.push(g);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/**
 * The ref of a described log group: name, and account and region from its ARN.
 *
 * @example
 * refOfLogGroup({ logGroupName: '/aws/lambda/f', logGroupArn: 'arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/f' });
 * // → { name: '/aws/lambda/f', account: '111111111111', region: 'us-east-1', arn: '…' }
 */
export function refOfLogGroup(g: LogGroup): LogGroupRef {
  const arn = g.logGroupArn ?? g.arn;
  const parsed = arn ? parseLogGroup(arn) : undefined;
  return parsed && parsed.name === g.logGroupName ? parsed : { name: g.logGroupName ?? '' };
}

/**
 * The log groups named plus those matching each prefix, deduplicated and sorted by name, each with
 * the account and region of its ARN. A named group that does not exist, or a prefix that matches
 * nothing, is a {@link UsageError}: an investigation over nothing is a typo. Where DescribeLogGroups
 * is not allowed (least-privilege roles often grant only FilterLogEvents), named groups are used
 * by name alone and the read itself reports any problem.
 *
 * @example
 * await resolveLogGroups(client, { names: ['/aws/lambda/a'], prefixes: ['/aws/lambda/orders-'] });
 * // → [{ name: '/aws/lambda/a', account: '…', region: 'us-east-1', arn: '…' }, { name: '/aws/lambda/orders-api', … }]
 */
export async function resolveLogGroups(
  client: CloudWatchLogsClient,
  spec: { names?: readonly string[]; prefixes?: readonly string[] },
  opts: DescribeOptions = {},
): Promise<LogGroupRef[]> {
  const groups = new Map<string, LogGroupRef>();
  for (const n of spec.names ?? []) {
    const given = parseLogGroup(n);
    if (given.arn || groups.has(given.name)) {
      groups.set(given.name, given);
      continue;
    }
    let found: LogGroup[];
    try {
      found = await describeLogGroups(client, given.name, opts, given.name);
    } catch (err) {
      if (err instanceof UsageError && / denied/.test(err.message)) {
        groups.set(given.name, given);
        continue;
      }
      throw err;
    }
    const match = found.find((g) => g.logGroupName === given.name);
    if (!match) throw new UsageError(`log group ${given.name} does not exist`);
    groups.set(given.name, refOfLogGroup(match));
  }
  for (const prefix of spec.prefixes ?? []) {
    const found = await describeLogGroups(client, prefix, opts);
    if (found.length === 0) throw new UsageError(`no log group starts with ${prefix}`);
    for (const g of found) if (g.logGroupName && !groups.has(g.logGroupName)) groups.set(g.logGroupName, refOfLogGroup(g));
  }
  if (groups.size === 0) throw new UsageError('no log group given: use --log-group NAME or --log-group-prefix PREFIX');
  return [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The ARN of each log group (names looked up with DescribeLogGroups; ARNs passed through, `:*`
 * removed). A name that does not exist is a {@link UsageError} naming it.
 *
 * @example
 * await logGroupArns(client, ['/aws/lambda/orders-api']);
 * // → ['arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/orders-api']
 */
export async function logGroupArns(client: CloudWatchLogsClient, identifiers: readonly string[], opts: DescribeOptions = {}): Promise<string[]> {
  const arns: string[] = [];
  for (const id of identifiers) {
    const ref = parseLogGroup(id);
    if (ref.arn) {
      arns.push(ref.arn);
      continue;
    }
    const match = (await describeLogGroups(client, ref.name, opts, ref.name)).find((g) => g.logGroupName === ref.name);
    const arn = match?.logGroupArn ?? match?.arn?.replace(/:\*$/, '');
    if (!arn) throw new UsageError(`log group ${ref.name} does not exist`);
    arns.push(arn);
  }
  return arns;
}
