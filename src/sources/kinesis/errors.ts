/**
 * How the Kinesis source classifies AWS errors: throttling (back off and retry, forever), dropped
 * connections (retry for a bounded time), lost leases (stop the shard), and everything else (fail
 * the source with a message that names the stream, the table or the endpoint).
 */
import { FnwatchError, UsageError } from '../../core/contracts.ts';

/**
 * The AWS error name (`ProvisionedThroughputExceededException`, …) or a Node error code (`ECONNREFUSED`).
 *
 * @example
 * awsErrorName(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // → 'ECONNREFUSED'
 */
export function awsErrorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'Error';
  const e = err as { name?: unknown; code?: unknown; Code?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.Code === 'string') return e.Code;
  if (typeof e.code === 'string') return e.code;
  if (e.cause) return awsErrorName(e.cause);
  return 'Error';
}

/**
 * The first line of an error's message.
 *
 * @example
 * errorDetail(new Error('Rate exceeded\n  at …')); // → 'Rate exceeded'
 */
export function errorDetail(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return raw.split('\n')[0]!.trim() || awsErrorName(err);
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
]);

/**
 * True when the service asked us to slow down: back off with jitter and try again.
 *
 * @example
 * isThrottle(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' })); // → true
 */
export function isThrottle(err: unknown): boolean {
  return THROTTLING.has(awsErrorName(err));
}

const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/**
 * True for failures that a later attempt may not repeat: dropped or refused connections, timeouts,
 * service-side 5xx. The source retries these for a bounded time, then fails.
 *
 * @example
 * isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })); // → true
 */
export function isTransient(err: unknown): boolean {
  if (TRANSIENT.has(awsErrorName(err))) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|premature close|Protocol error/i.test(err instanceof Error ? err.message : '');
}

/**
 * True for the error an `AbortSignal` raises through the SDK.
 *
 * @example
 * isAbort(Object.assign(new Error('Request aborted'), { name: 'AbortError' })); // → true
 */
export function isAbort(err: unknown): boolean {
  const name = awsErrorName(err);
  return name === 'AbortError' || (err instanceof Error && /aborted/i.test(err.message) && name !== 'ECONNRESET');
}

/**
 * True when a conditional write lost the race: someone else changed the lease.
 *
 * @example
 * isConditionFailed(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' })); // → true
 */
export function isConditionFailed(err: unknown): boolean {
  return awsErrorName(err) === 'ConditionalCheckFailedException';
}

const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'KMSAccessDeniedException',
]);

/**
 * One-line error for a failed Kinesis call about `stream` at `endpoint`.
 *
 * @example
 * throw kinesisError(err, 'ListShards', 'fnwatch-logs', 'http://127.0.0.1:4567');
 */
export function kinesisError(err: unknown, operation: string, stream: string, endpoint: string): FnwatchError {
  if (err instanceof FnwatchError) return err;
  const name = awsErrorName(err);
  const detail = errorDetail(err);
  if (name === 'ResourceNotFoundException') {
    return new UsageError(`Kinesis stream "${stream}" does not exist (or was deleted) at ${endpoint}: ${operation}: ${detail}`);
  }
  if (DENIED.has(name)) return new UsageError(`${operation} on Kinesis stream "${stream}" denied at ${endpoint}: ${name}: ${detail}`);
  return common(err, name, detail, `${operation} on Kinesis stream "${stream}"`, endpoint);
}

/**
 * One-line error for a failed call on the lease table.
 *
 * @example
 * throw leaseTableError(err, 'DescribeTable', 'fnwatch-prod', 'AWS DynamoDB in eu-west-1');
 */
export function leaseTableError(err: unknown, operation: string, table: string, endpoint: string): FnwatchError {
  if (err instanceof FnwatchError) return err;
  const name = awsErrorName(err);
  const detail = errorDetail(err);
  if (DENIED.has(name)) return new UsageError(`no permission for ${operation} on lease table "${table}" at ${endpoint}: ${name}: ${detail}`);
  if (name === 'ResourceNotFoundException') return new UsageError(`lease table "${table}" does not exist at ${endpoint}: ${operation}: ${detail}`);
  return common(err, name, detail, `${operation} on lease table "${table}"`, endpoint);
}

function common(err: unknown, name: string, detail: string, what: string, endpoint: string): FnwatchError {
  if (name === 'CredentialsProviderError') return new UsageError(`no AWS credentials for ${what}: ${detail}`);
  if (/region is missing/i.test(detail)) return new UsageError(`no AWS region for ${what}: set AWS_REGION (or a profile region)`);
  if (name === 'ValidationException' || name === 'InvalidArgumentException') return new UsageError(`${what} rejected at ${endpoint}: ${detail}`);
  if (isTransient(err)) return new FnwatchError(`cannot reach ${endpoint} for ${what}: ${name}: ${detail}`, true, name);
  return new FnwatchError(`${what} failed at ${endpoint}: ${name}: ${detail}`, isThrottle(err), name);
}

/**
 * Runs an SDK call with a time limit, so that an endpoint that accepts connections and never answers
 * fails like one that refuses them (a TimeoutError, retried as transient) instead of hanging.
 * `outer` aborts the call as usual (stop, close).
 *
 * @example
 * const out = await withTimeout(10_000, signal, (abortSignal) => kinesis.send(cmd, { abortSignal }));
 */
export async function withTimeout<T>(timeoutMs: number, outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
  try {
    return await call(signal);
  } catch (err) {
    if (timeout.aborted && !outer?.aborted) throw Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' });
    throw err;
  }
}
