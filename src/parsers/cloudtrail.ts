/**
 * CloudTrail records → resource-access events (calls made by a function's code, attributed through
 * the execution role's session name) and change events (Lambda management calls on a function).
 * See /work/shared/reference/cloudtrail.md.
 */
import type { ChangeEvent, ChangeType, FunctionRef, ResourceAccessEvent } from '../core/events.ts';

/** What the CloudTrail parser concluded about one record. */
export type CloudTrailOutcome =
  | { ok: true; events: (ResourceAccessEvent | ChangeEvent)[]; ignored?: undefined }
  | { ok: true; events?: undefined; ignored: string }
  | { ok: false; reason: 'bad-record' | 'bad-field'; detail: string };

/** Options the CloudTrail parser needs from {@link ParserOptions}. */
export interface CloudTrailOptions {
  isKnownFunction?: (account: string | undefined, name: string) => boolean;
}

const ASSUMED_ROLE_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;
const EC2_INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const LAMBDA_API_VERSION_SUFFIX = /20\d{6}(?:v\d+)?$/;
const FUNCTION_ARN = /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):function:([^:]+)(?::[^:]+)?$/;
const PARTIAL_FUNCTION_ARN = /^(\d{12}):function:([^:]+)(?::[^:]+)?$/;
const SQS_QUEUE_PATH = /^https?:\/\/([^/]+)\/(\d{12})\/([^/?#]+)/;
const SQS_HOST_REGION = /^(?:sqs\.([a-z0-9-]+)\.|([a-z0-9-]+)\.queue\.)/;

/** Session names that are never a function: EC2 instance profiles, Lambda's own role validation, SDK defaults. */
function isNonFunctionSession(session: string): boolean {
  return (
    EC2_INSTANCE_ID.test(session) ||
    session.startsWith('awslambda_') ||
    session.startsWith('aws-go-sdk-') ||
    session.startsWith('botocore-session-')
  );
}

/**
 * Lambda control-plane event names (without the API-version suffix) that change a function, and
 * the kind of change. Matched by prefix so future suffixes still match.
 */
const MANAGEMENT_CHANGES: readonly [string, ChangeType][] = [
  ['CreateFunctionUrlConfig', 'config'],
  ['CreateFunction', 'create'],
  ['UpdateFunctionCodeSigningConfig', 'config'],
  ['UpdateFunctionCode', 'code'],
  ['UpdateFunctionConfiguration', 'config'],
  ['UpdateFunctionUrlConfig', 'config'],
  ['UpdateFunctionEventInvokeConfig', 'config'],
  ['PublishVersion', 'publish'],
  ['AddPermission', 'permission'],
  ['RemovePermission', 'permission'],
  ['DeleteFunctionConcurrency', 'config'],
  ['DeleteFunctionUrlConfig', 'config'],
  ['DeleteFunctionEventInvokeConfig', 'config'],
  ['DeleteFunctionCodeSigningConfig', 'config'],
  ['DeleteProvisionedConcurrencyConfig', 'config'],
  ['DeleteAlias', 'config'],
  ['DeleteFunction', 'delete'],
  ['PutFunctionConcurrency', 'config'],
  ['PutProvisionedConcurrencyConfig', 'config'],
  ['PutFunctionEventInvokeConfig', 'config'],
  ['PutFunctionCodeSigningConfig', 'config'],
  ['PutFunctionRecursionConfig', 'config'],
  ['PutRuntimeManagementConfig', 'config'],
  ['CreateAlias', 'config'],
  ['UpdateAlias', 'config'],
  ['CreateEventSourceMapping', 'config'],
  ['UpdateEventSourceMapping', 'config'],
];

/**
 * The change kind of a Lambda management event name, or undefined for reads and non-function calls.
 *
 * @example
 * lambdaChangeType('UpdateFunctionCode20150331v2'); // → 'code'
 * lambdaChangeType('GetFunction20150331v2');        // → undefined
 */
export function lambdaChangeType(eventName: string): ChangeType | undefined {
  for (const [prefix, change] of MANAGEMENT_CHANGES) if (eventName.startsWith(prefix)) return change;
  return undefined;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * S3 object keys explode cardinality, so keep only the first path segment: `a/b/c.json` → `a/*`,
 * and a key at the bucket root → `*`.
 */
function s3KeyPrefix(key: string): string {
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash + 1) + '*' : '*';
}

function s3Arn(partition: string, bucket: string, key: string | undefined): string {
  return key === undefined ? `arn:${partition}:s3:::${bucket}` : `arn:${partition}:s3:::${bucket}/${s3KeyPrefix(key)}`;
}

/** S3 object ARNs from `resources[]` get the same prefix truncation as `requestParameters.key`. */
function normaliseResourceArn(arn: string): string {
  if (arn.startsWith('arn:') && arn.includes(':s3:::')) {
    const at = arn.indexOf(':s3:::') + 6;
    const slash = arn.indexOf('/', at);
    if (slash !== -1) return arn.slice(0, slash + 1) + s3KeyPrefix(arn.slice(slash + 1));
  }
  return arn;
}

interface ArnContext {
  partition: string;
  region: string;
  account: string;
}

function regionalArn(c: ArnContext, service: string, resource: string): string {
  return `arn:${c.partition}:${service}:${c.region}:${c.account}:${resource}`;
}

function pushUnique(list: string[], v: string): void {
  if (!list.includes(v)) list.push(v);
}

/** Resource keys from `requestParameters` when the record has no `resources[]`. */
function resourcesFromParameters(service: string, p: Obj, c: ArnContext, out: string[]): void {
  const bucket = str(p.bucketName);
  if (bucket) pushUnique(out, s3Arn(c.partition, bucket, typeof p.key === 'string' ? p.key : undefined));
  const table = str(p.tableName);
  if (table) pushUnique(out, table.startsWith('arn:') ? table : regionalArn(c, 'dynamodb', `table/${table}`));
  const secret = str(p.secretId);
  if (secret) pushUnique(out, secret.startsWith('arn:') ? secret : regionalArn(c, 'secretsmanager', `secret:${secret}`));
  const key = str(p.keyId);
  if (key) {
    pushUnique(
      out,
      key.startsWith('arn:') ? key : regionalArn(c, 'kms', key.startsWith('alias/') ? key : `key/${key}`),
    );
  }
  const queueUrl = str(p.queueUrl);
  if (queueUrl) {
    pushUnique(out, sqsArn(c, queueUrl));
  }
  const role = str(p.roleArn);
  if (role) pushUnique(out, role);
  for (const field of ['topicArn', 'stateMachineArn', 'streamARN', 'targetArn'] as const) {
    const v = str(p[field]);
    if (v) pushUnique(out, v);
  }
  const stream = str(p.streamName);
  if (stream && service === 'kinesis') pushUnique(out, regionalArn(c, 'kinesis', `stream/${stream}`));
  const logGroup = str(p.logGroupName);
  if (logGroup && service === 'logs') pushUnique(out, regionalArn(c, 'logs', `log-group:${logGroup}`));
  if (service === 'ssm') {
    const name = str(p.name);
    if (name) pushUnique(out, ssmArn(c, name));
    if (Array.isArray(p.names)) for (const n of p.names) if (typeof n === 'string' && n) pushUnique(out, ssmArn(c, n));
  }
  const fnName = str(p.functionName);
  if (fnName && service === 'lambda') {
    const target = functionFromNameOrArn(fnName, c.account, c.region);
    pushUnique(out, target.arn ?? regionalArn(c, 'lambda', `function:${fnName}`));
  }
}

/** `https://sqs.<region>.amazonaws.com/<acct>/<name>` (and the legacy `queue.amazonaws.com` hosts) → queue ARN. */
function sqsArn(c: ArnContext, url: string): string {
  const m = SQS_QUEUE_PATH.exec(url);
  if (!m) return url;
  const host = SQS_HOST_REGION.exec(m[1]);
  const region = host ? (host[1] ?? host[2]) : m[1] === 'queue.amazonaws.com' ? 'us-east-1' : c.region;
  return `arn:${c.partition}:sqs:${region}:${m[2]}:${m[3]}`;
}

function ssmArn(c: ArnContext, name: string): string {
  if (name.startsWith('arn:')) return name;
  return regionalArn(c, 'ssm', `parameter/${name.startsWith('/') ? name.slice(1) : name}`);
}

/**
 * A function name, partial ARN (`123456789012:function:f`) or ARN (qualified or not) → FunctionRef.
 *
 * @example
 * functionFromNameOrArn('arn:aws:lambda:us-east-1:111111111111:function:f:3', undefined, undefined);
 * // → { name: 'f', account: '111111111111', region: 'us-east-1', arn: 'arn:aws:lambda:us-east-1:111111111111:function:f' }
 */
export function functionFromNameOrArn(
  nameOrArn: string,
  account: string | undefined,
  region: string | undefined,
): FunctionRef {
  const full = FUNCTION_ARN.exec(nameOrArn);
  if (full) {
    const [, partition, r, a, name] = full;
    return { name, account: a, region: r, arn: `arn:${partition}:lambda:${r}:${a}:function:${name}` };
  }
  const partial = PARTIAL_FUNCTION_ARN.exec(nameOrArn);
  const name = partial ? partial[2] : nameOrArn.includes(':') ? nameOrArn.slice(0, nameOrArn.indexOf(':')) : nameOrArn;
  const acct = partial ? partial[1] : account;
  const ref: FunctionRef = { name, account: acct, region };
  if (acct && region) ref.arn = `arn:aws:lambda:${region}:${acct}:function:${name}`;
  return ref;
}

/** The function a management event targets: requestParameters.functionName/name/ARN, else the response. */
function targetFunction(rec: Obj, account: string | undefined, region: string | undefined): FunctionRef | undefined {
  const p = isObj(rec.requestParameters) ? rec.requestParameters : undefined;
  const r = isObj(rec.responseElements) ? rec.responseElements : undefined;
  const candidate =
    str(p?.functionName) ?? str(p?.name) ?? str(p?.functionArn) ?? str(r?.functionArn) ?? str(r?.functionName);
  return candidate === undefined ? undefined : functionFromNameOrArn(candidate, account, region);
}

/**
 * Parses CloudTrail records. Attribution of API calls to functions follows the assumed-role session
 * name (Lambda names the execution-role session after the function).
 *
 * Attribution policy when the session name is not excluded outright:
 * - a `userAgent` containing `exec-env/AWS_Lambda` attributes the call;
 * - otherwise `isKnownFunction(account, session)` decides, when given;
 * - when no `isKnownFunction` was given at all, the call is still attributed: without an inventory
 *   every assumed-role session is a candidate function (documented trade-off: a human's or a tool's
 *   session with a custom name shows up as a "function" until an inventory is supplied).
 *
 * @example
 * const ct = new CloudTrailParser({ isKnownFunction: (acct, name) => name === 'orders-api' });
 * const r = ct.parse(record);
 * if (r.ok && r.events) for (const ev of r.events) sink.event(ev);
 */
export class CloudTrailParser {
  constructor(private readonly opts: CloudTrailOptions = {}) {}

  parse(rec: unknown): CloudTrailOutcome {
    if (!isObj(rec)) return { ok: false, reason: 'bad-record', detail: 'CloudTrail record is not a JSON object' };
    const eventSource = rec.eventSource;
    const eventName = rec.eventName;
    if (typeof eventSource !== 'string' || typeof eventName !== 'string') {
      return { ok: false, reason: 'bad-record', detail: 'CloudTrail record lacks string eventSource/eventName' };
    }
    if (typeof rec.eventTime !== 'string') {
      return { ok: false, reason: 'bad-field', detail: `eventTime is ${typeof rec.eventTime}, expected an ISO string` };
    }
    const time = Date.parse(rec.eventTime);
    if (Number.isNaN(time)) return { ok: false, reason: 'bad-field', detail: `eventTime ${JSON.stringify(rec.eventTime).slice(0, 80)} is not a date` };
    for (const f of ['awsRegion', 'recipientAccountId', 'eventID', 'userAgent', 'sourceIPAddress', 'errorCode'] as const) {
      if (rec[f] !== undefined && rec[f] !== null && typeof rec[f] !== 'string') {
        return { ok: false, reason: 'bad-field', detail: `${f} is ${typeof rec[f]}, expected a string` };
      }
    }
    if (rec.userIdentity !== undefined && rec.userIdentity !== null && !isObj(rec.userIdentity)) {
      return { ok: false, reason: 'bad-field', detail: 'userIdentity is not an object' };
    }
    const region = str(rec.awsRegion);
    const id = str(rec.eventID);
    const errorCode = str(rec.errorCode);
    const ui = isObj(rec.userIdentity) ? rec.userIdentity : undefined;
    const events: (ResourceAccessEvent | ChangeEvent)[] = [];

    const service = eventSource.endsWith('.amazonaws.com') ? eventSource.slice(0, -14) : eventSource;
    let ignored = 'cloudtrail-unattributed';

    if (service === 'lambda') {
      const change = lambdaChangeType(eventName);
      if (change !== undefined) {
        // A failed call changed nothing; the attempt still shows up as resource access below when a function made it.
        if (errorCode !== undefined) ignored = 'cloudtrail-failed-change';
        else {
          const target = targetFunction(rec, str(rec.recipientAccountId) ?? str(ui?.accountId), region);
          if (target === undefined) ignored = 'cloudtrail-change-without-target';
          else {
            const ev: ChangeEvent = { kind: 'change', time, fn: target, change, detail: eventName, id };
            const actor = str(ui?.arn) ?? str(ui?.invokedBy);
            if (actor) ev.actor = actor;
            const r = isObj(rec.responseElements) ? rec.responseElements : undefined;
            const version = str(r?.version);
            if (version) ev.version = version;
            events.push(ev);
          }
        }
      }
    }

    const access = this.resourceAccess(rec, ui, service, eventName, region, time, id, errorCode);
    if (access !== undefined) events.push(access);
    return events.length > 0 ? { ok: true, events } : { ok: true, ignored };
  }

  private resourceAccess(
    rec: Obj,
    ui: Obj | undefined,
    service: string,
    eventName: string,
    region: string | undefined,
    time: number,
    id: string | undefined,
    errorCode: string | undefined,
  ): ResourceAccessEvent | undefined {
    if (ui === undefined || ui.type !== 'AssumedRole' || typeof ui.arn !== 'string') return undefined;
    const m = ASSUMED_ROLE_ARN.exec(ui.arn);
    if (!m) return undefined;
    const [, partition, account, role, session] = m;
    if (isNonFunctionSession(session)) return undefined;
    const userAgent = str(rec.userAgent);
    const fromLambdaRuntime = userAgent !== undefined && userAgent.includes('exec-env/AWS_Lambda');
    if (!fromLambdaRuntime && this.opts.isKnownFunction && !this.opts.isKnownFunction(account, session)) return undefined;

    const resources: string[] = [];
    if (Array.isArray(rec.resources)) {
      for (const r of rec.resources) if (isObj(r) && typeof r.ARN === 'string' && r.ARN) pushUnique(resources, normaliseResourceArn(r.ARN));
    }
    if (resources.length === 0 && isObj(rec.requestParameters)) {
      const ctx: ArnContext = { partition, region: region ?? '', account: str(rec.recipientAccountId) ?? account };
      resourcesFromParameters(service, rec.requestParameters, ctx, resources);
    }
    const fn: FunctionRef = { name: session, account, region };
    if (region) fn.arn = `arn:${partition}:lambda:${region}:${account}:function:${session}`;
    const ev: ResourceAccessEvent = {
      kind: 'resource_access',
      time,
      fn,
      id,
      role,
      service,
      action: `${service}:${service === 'lambda' ? eventName.replace(LAMBDA_API_VERSION_SUFFIX, '') : eventName}`,
      resources,
    };
    if (errorCode) ev.errorCode = errorCode;
    const ip = str(rec.sourceIPAddress);
    if (ip) ev.sourceIp = ip;
    if (userAgent) ev.userAgent = userAgent;
    if (typeof rec.readOnly === 'boolean') ev.readOnly = rec.readOnly;
    return ev;
  }
}
