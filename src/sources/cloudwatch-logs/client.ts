/**
 * The CloudWatch Logs client every reader here uses, and the mapping from AWS errors to errors a
 * person can act on.
 *
 * Configuration is the SDK's own: the default credential chain, `AWS_REGION`/profile region, and
 * `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` / `AWS_ENDPOINT_URL` (the SDK derives the service variable from
 * its service id "CloudWatch Logs"). The one thing added is `disableHostPrefix` for local endpoints:
 * the SDK prepends `stream-` to the host for StartLiveTail, and `stream-127.0.0.1` does not resolve.
 */
import { CloudWatchLogsClient, type CloudWatchLogsClientConfig } from '@aws-sdk/client-cloudwatch-logs';
import { FnwatchError, UsageError } from '../../core/contracts.ts';

/** Environment variables the SDK reads for a CloudWatch Logs endpoint, most specific first. */
export const LOGS_ENDPOINT_ENV = ['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', 'AWS_ENDPOINT_URL'] as const;

export interface LogsClientOptions {
  /** Explicit endpoint; otherwise the SDK's own resolution (environment, shared config, AWS) */
  endpoint?: string;
  /** Region; otherwise the SDK's default chain (`AWS_REGION`, profile) */
  region?: string;
  /** SDK attempts per call, including the first (SDK default 3) */
  maxAttempts?: number;
  /** Anything else the SDK accepts (credentials, requestHandler, logger) */
  sdk?: CloudWatchLogsClientConfig;
}

/**
 * The endpoint the SDK will use when one is configured through code or the environment, else
 * `undefined` (the SDK then resolves the AWS endpoint for the region).
 *
 * @example
 * configuredLogsEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }); // → 'http://127.0.0.1:5000'
 */
export function configuredLogsEndpoint(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return explicit;
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase();
  if (ignore === 'true' || ignore === '1') return undefined;
  for (const name of LOGS_ENDPOINT_ENV) {
    const value = env[name];
    if (value) return value;
  }
  return undefined;
}

/**
 * True for endpoints that cannot take a `stream-` host prefix: plain http, `localhost`, and IP
 * literals (emulators, proxies, tests).
 *
 * @example
 * isLocalEndpoint('http://127.0.0.1:4566');            // → true
 * isLocalEndpoint('https://logs.us-east-1.amazonaws.com'); // → false
 */
export function isLocalEndpoint(endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' || host === 'localhost' || host.endsWith('.localhost') || /^[\d.]+$/.test(host) || host.includes(':');
}

/**
 * A CloudWatch Logs client configured from the SDK default chain.
 *
 * @example
 * const client = createLogsClient();                                       // AWS, AWS_REGION
 * const local = createLogsClient({ endpoint: 'http://127.0.0.1:5000', region: 'us-east-1' });
 */
export function createLogsClient(opts: LogsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): CloudWatchLogsClient {
  const endpoint = configuredLogsEndpoint(opts.endpoint, env);
  const config: CloudWatchLogsClientConfig = { ...opts.sdk };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.region) config.region = opts.region;
  if (opts.maxAttempts !== undefined) config.maxAttempts = opts.maxAttempts;
  if (endpoint !== undefined && isLocalEndpoint(endpoint)) config.disableHostPrefix = true;
  return new CloudWatchLogsClient(config);
}

/**
 * The AWS error name (`ThrottlingException`, `ResourceNotFoundException`, …) or a Node error code.
 *
 * @example
 * awsErrorName(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // → 'ECONNREFUSED'
 */
export function awsErrorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'Error';
  const e = err as { name?: unknown; code?: unknown; Code?: unknown };
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.code === 'string' ? e.code : 'Error';
}

const RETRIABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalServerError',
  'SessionStreamingException',
  'SessionTimeoutException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * True when repeating the same call later may succeed: throttling, service-side 5xx, dropped
 * connections and event-stream session errors.
 *
 * @example
 * isRetriableLogsError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })); // → true
 */
export function isRetriableLogsError(err: unknown): boolean {
  if (err instanceof FnwatchError) return err.retriable;
  const name = awsErrorName(err);
  if (RETRIABLE_NAMES.has(name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  const message = err instanceof Error ? err.message : '';
  return /socket hang up|ECONNRESET|premature close/i.test(message);
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when a long pull should wait and try again after the SDK's own attempts: throttling, 5xx,
 * connections dropped mid-call. An endpoint that cannot be reached at all is reported at once:
 * the SDK has already retried it, and waiting minutes on a typo helps no one.
 *
 * @example
 * worthBackingOff(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // → false
 */
export function worthBackingOff(err: unknown): boolean {
  return isRetriableLogsError(err) && !UNREACHABLE.has(awsErrorName(err));
}

/**
 * True for the error an `AbortSignal` raises through the SDK.
 *
 * @example
 * await client.send(cmd, { abortSignal }).catch((err) => { if (!isAbortError(err)) throw err; });
 */
export function isAbortError(err: unknown): boolean {
  const name = awsErrorName(err);
  return name === 'AbortError' || (err instanceof Error && err.message === 'Request aborted');
}

/**
 * One-line error for a failed CloudWatch Logs call. Problems the user fixes (unknown log group,
 * missing permission, no credentials or region, bad parameters) are {@link UsageError}s; the rest
 * are {@link FnwatchError}s that say whether retrying may help.
 *
 * @example
 * throw logsError(err, 'FilterLogEvents', '/aws/lambda/orders-api');
 */
export function logsError(err: unknown, operation: string, logGroup?: string): FnwatchError {
  if (err instanceof FnwatchError) return err;
  const name = awsErrorName(err);
  const raw = err instanceof Error ? err.message : String(err);
  const detail = raw.split('\n')[0]!.trim();
  const where = logGroup ? ` for log group ${logGroup}` : '';
  switch (name) {
    case 'ResourceNotFoundException':
      return new UsageError(logGroup ? `log group ${logGroup} does not exist (${operation}: ${detail})` : `${operation}: ${detail}`);
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return new UsageError(`${operation} denied${where}: ${name}: ${detail}`);
    case 'InvalidParameterException':
    case 'ValidationException':
    case 'MalformedQueryException':
      return new UsageError(`${operation} rejected its parameters${where}: ${detail}`);
    case 'CredentialsProviderError':
      return new UsageError(`no AWS credentials for ${operation}: ${detail}`);
  }
  if (/region is missing/i.test(detail)) return new UsageError(`no AWS region: set AWS_REGION (or a profile region) for ${operation}`);
  if (UNREACHABLE.has(name)) return new FnwatchError(`cannot reach CloudWatch Logs for ${operation}${where}: ${detail}`, true, name);
  return new FnwatchError(`${operation} failed${where}: ${name}: ${detail}`, isRetriableLogsError(err), name);
}
