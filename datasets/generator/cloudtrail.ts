/**
 * CloudTrail records as the service writes them (eventVersion 1.09), for the calls functions make
 * (attributed by the execution role's session name) and for deploys by a CI user. Each builder
 * also returns the normalized event a correct parser derives from the record: the ground truth.
 *
 * Shapes follow /work/shared/reference/cloudtrail.md §1–3.
 */
import type { ChangeEvent, ChangeType, ResourceAccessEvent } from '../../src/core/events.ts';
import type { ApiCall, CallTarget, FunctionSpec } from './catalog.ts';
import { iso } from './time.ts';
import type { Rng } from './prng.ts';

/** Per execution environment credentials: CloudTrail shows them on every call the environment makes. */
export interface EnvIdentity {
  sourceIp: string;
  accessKeyId: string;
  /** Epoch ms the role session was created (the environment's cold start) */
  sessionCreated: number;
}

/** A CloudTrail record serialized, plus the event a parser should produce from it. */
export interface TrailRecord<T> {
  json: string;
  truth: T;
  /** eventTime, epoch ms (second precision, as CloudTrail prints it) */
  time: number;
}

/** ISO time with second precision, as in `eventTime`. */
export function trailTime(ms: number): string {
  return iso(ms).slice(0, 19) + 'Z';
}

/** SDK `api/<name>` tokens differ from eventSource prefixes for a few services. */
const SDK_API_NAME: Record<string, string> = { secretsmanager: 'secrets-manager' };

/** Global services log in us-east-1 whatever region the caller runs in. */
const GLOBAL_SERVICES = new Set(['iam']);

/** The function-code user agent: AWS SDK for JavaScript v3 inside the Lambda Node.js 20 runtime. */
export function lambdaUserAgent(spec: FunctionSpec, service: string): string {
  const arch = spec.architecture === 'arm64' ? 'aarch64' : 'x86_64';
  const api = SDK_API_NAME[service] ?? service;
  return `aws-sdk-js/${spec.sdkVersion} ua/2.1 os/linux#5.10.227-239.884.amzn2.${arch} lang/js md/nodejs#20.18.1 api/${api}#${spec.sdkVersion} m/E exec-env/AWS_Lambda_nodejs20.x`;
}

interface Shaped {
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  resources?: Record<string, string>[];
  additionalEventData?: Record<string, unknown>;
  /** Normalized resource keys, as the parser derives them */
  keys: string[];
}

function ymd(ms: number): string {
  return iso(ms).slice(0, 10).replace(/-/g, '/');
}

/** requestParameters / resources / truth keys for one call target. */
function shape(spec: FunctionSpec, call: ApiCall, time: number, rng: Rng): Shaped {
  const { account, region } = spec;
  const t: CallTarget = call.target;
  switch (t.type) {
    case 's3-object': {
      const key = `${t.prefix}/${ymd(time)}/${rng.hex(12)}.json`;
      const write = call.eventName !== 'GetObject';
      return {
        requestParameters: { bucketName: t.bucket, Host: `${t.bucket}.s3.${region}.amazonaws.com`, key },
        responseElements: write && call.eventName === 'PutObject' ? { 'x-amz-server-side-encryption': 'AES256' } : null,
        additionalEventData: {
          SignatureVersion: 'SigV4',
          CipherSuite: 'TLS_AES_128_GCM_SHA256',
          bytesTransferredIn: write ? rng.intRange(200, 90_000) : 0,
          AuthenticationMethod: 'AuthHeader',
          'x-amz-id-2': rng.upper(40),
          bytesTransferredOut: write ? 0 : rng.intRange(200, 900_000),
        },
        resources: [
          { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${t.bucket}/${key}` },
          { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${t.bucket}` },
        ],
        keys: [`arn:aws:s3:::${t.bucket}/${t.prefix}/*`, `arn:aws:s3:::${t.bucket}`],
      };
    }
    case 's3-service':
      return { requestParameters: { Host: 's3.amazonaws.com' }, responseElements: null, keys: [] };
    case 'dynamodb-table': {
      const arn = `arn:aws:dynamodb:${region}:${account}:table/${t.table}`;
      const params: Record<string, unknown> = { tableName: t.table };
      if (call.eventName === 'Query' || call.eventName === 'Scan') params.limit = 100;
      else params.key = { pk: 'HIDDEN_DUE_TO_SECURITY_REASONS' };
      return { requestParameters: params, responseElements: null, resources: [{ accountId: account, type: 'AWS::DynamoDB::Table', ARN: arn }], keys: [arn] };
    }
    case 'sqs-queue': {
      const arn = `arn:aws:sqs:${region}:${account}:${t.queue}`;
      return {
        requestParameters: { queueUrl: `https://sqs.${region}.amazonaws.com/${account}/${t.queue}`, messageBody: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
        responseElements: { messageId: rng.uuid(), mD5OfMessageBody: rng.hex(32) },
        resources: [{ accountId: account, type: 'AWS::SQS::Queue', ARN: arn }],
        keys: [arn],
      };
    }
    case 'secret':
      return {
        requestParameters: { secretId: t.secretId },
        responseElements: null,
        keys: [t.secretId.startsWith('arn:') ? t.secretId : `arn:aws:secretsmanager:${region}:${account}:secret:${t.secretId}`],
      };
    case 'kms-key': {
      const arn = `arn:aws:kms:${region}:${account}:key/${t.keyId}`;
      return {
        requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: spec.name } },
        responseElements: null,
        resources: [{ accountId: account, type: 'AWS::KMS::Key', ARN: arn }],
        keys: [arn],
      };
    }
    case 'ssm-parameter': {
      const arn = `arn:aws:ssm:${region}:${account}:parameter/${t.name.replace(/^\//, '')}`;
      return { requestParameters: { name: t.name, withDecryption: true }, responseElements: null, resources: [{ ARN: arn }], keys: [arn] };
    }
    case 'role':
      return {
        requestParameters: { roleArn: t.roleArn, roleSessionName: `${spec.name}-${rng.digits(6)}`, durationSeconds: 3600 },
        responseElements: null,
        resources: [{ accountId: account, type: 'AWS::IAM::Role', ARN: t.roleArn }],
        keys: [t.roleArn],
      };
    case 'iam-user':
      return { requestParameters: { userName: t.userName }, responseElements: null, keys: [] };
    case 'none':
      return { requestParameters: null, responseElements: null, keys: [] };
  }
}

/** A failed call: CloudTrail's errorCode and errorMessage. */
export interface CallError {
  code: string;
  message: string;
}

/**
 * The record for one API call made by a function's code, and its resource-access event.
 *
 * @example
 * const r = functionCallRecord(spec, spec.calls[0], Date.now(), env, rng);
 * JSON.parse(r.json).userIdentity.arn; // → 'arn:aws:sts::…:assumed-role/<role>/<function>'
 */
export function functionCallRecord(
  spec: FunctionSpec,
  call: ApiCall,
  time: number,
  env: EnvIdentity,
  rng: Rng,
  error?: CallError,
): TrailRecord<ResourceAccessEvent> {
  const { account, region, name, role } = spec;
  const sh = shape(spec, call, time, rng);
  const awsRegion = GLOBAL_SERVICES.has(call.service) ? 'us-east-1' : region;
  const eventID = rng.uuid();
  const userAgent = lambdaUserAgent(spec, call.service);
  const rec: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `${spec.roleId}:${name}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
      accountId: account,
      accessKeyId: env.accessKeyId,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: spec.roleId, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
        attributes: { creationDate: trailTime(env.sessionCreated), mfaAuthenticated: 'false' },
      },
    },
    eventTime: trailTime(time),
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.eventName,
    awsRegion,
    sourceIPAddress: env.sourceIp,
    userAgent,
  };
  if (error) {
    rec.errorCode = error.code;
    rec.errorMessage = error.message;
  }
  rec.requestParameters = sh.requestParameters;
  rec.responseElements = error ? null : sh.responseElements;
  if (sh.additionalEventData) rec.additionalEventData = sh.additionalEventData;
  rec.requestID = call.data ? rng.upper(16) : rng.uuid();
  rec.eventID = eventID;
  rec.readOnly = call.readOnly;
  if (sh.resources) rec.resources = sh.resources;
  rec.eventType = 'AwsApiCall';
  rec.managementEvent = !call.data;
  rec.recipientAccountId = account;
  rec.eventCategory = call.data ? 'Data' : 'Management';
  if (!call.data) {
    rec.tlsDetails = { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `${call.service}.${awsRegion}.amazonaws.com` };
  }
  const secondTime = time - (time % 1000);
  const truth: ResourceAccessEvent = {
    kind: 'resource_access',
    time: secondTime,
    // The function's own region, even for global services whose records say us-east-1: truth is who called.
    fn: { name, account, region, arn: `arn:aws:lambda:${region}:${account}:function:${name}` },
    id: eventID,
    role,
    service: call.service,
    // Lambda's control-plane names carry an API version (ListFunctions20150331); the action is the bare name.
    action: `${call.service}:${call.service === 'lambda' ? call.eventName.replace(/20\d{6}(v\d+)?$/, '') : call.eventName}`,
    resources: sh.keys,
  };
  if (error) truth.errorCode = error.code;
  truth.sourceIp = env.sourceIp;
  truth.userAgent = userAgent;
  truth.readOnly = call.readOnly;
  return { json: JSON.stringify(rec), truth, time: secondTime };
}

/** Who deploys: a CI user with long-lived keys, calling from a CI runner. */
export interface Deployer {
  userName: string;
  principalId: string;
  accessKeyId: string;
  sourceIp: string;
}

/** The deploy identity of an account. */
export function deployerFor(account: string, rng: Rng): Deployer {
  return { userName: 'ci-deployer', principalId: `AIDA${rng.upper(17)}`, accessKeyId: `AKIA${rng.upper(16)}`, sourceIp: `140.82.${rng.intRange(112, 127)}.${rng.intRange(1, 254)}` };
}

/** The Lambda management calls a deploy makes, and the change kind the parser maps each to. */
export type ManagementCall =
  | { eventName: 'UpdateFunctionCode20150331v2'; codeSha256: string }
  | { eventName: 'PublishVersion20150331'; version: number; codeSha256: string }
  | { eventName: 'UpdateAlias20150331'; version: number }
  | { eventName: 'UpdateFunctionConfiguration20150331v2'; logFormat: 'JSON' | 'Text' };

const CHANGE_OF: Record<ManagementCall['eventName'], ChangeType> = {
  UpdateFunctionCode20150331v2: 'code',
  PublishVersion20150331: 'publish',
  UpdateAlias20150331: 'config',
  UpdateFunctionConfiguration20150331v2: 'config',
};

/**
 * A Lambda management record made by the CI user, and its change event.
 *
 * @example
 * managementRecord(spec, { eventName: 'PublishVersion20150331', version: 8, codeSha256: '…' }, t, ci, rng).truth.change; // → 'publish'
 */
export function managementRecord(spec: FunctionSpec, call: ManagementCall, time: number, ci: Deployer, rng: Rng): TrailRecord<ChangeEvent> {
  const { account, region, name } = spec;
  const fnArn = `arn:aws:lambda:${region}:${account}:function:${name}`;
  const arnAt = `arn:aws:iam::${account}:user/${ci.userName}`;
  const config = {
    functionName: name,
    functionArn: fnArn,
    runtime: 'nodejs20.x',
    role: `arn:aws:iam::${account}:role/${spec.role}`,
    handler: 'index.handler',
    codeSize: 100_000 + rng.int(4_000_000),
    description: '',
    timeout: spec.timeoutMs / 1000,
    memorySize: spec.memoryMB,
    lastModified: new Date(time).toISOString().replace('Z', '+0000'),
    codeSha256: 'codeSha256' in call ? call.codeSha256 : Buffer.from(rng.hex(64), 'hex').toString('base64'),
    version: '$LATEST',
    tracingConfig: { mode: spec.traced ? 'Active' : 'PassThrough' },
    revisionId: rng.uuid(),
    state: 'Active',
    lastUpdateStatus: 'InProgress',
    packageType: 'Zip',
    architectures: [spec.architecture],
    ephemeralStorage: { size: 512 },
  };
  let requestParameters: Record<string, unknown>;
  let responseElements: Record<string, unknown>;
  let version: string | undefined;
  switch (call.eventName) {
    case 'UpdateFunctionCode20150331v2':
      requestParameters = { functionName: name, publish: false, dryRun: false };
      responseElements = config;
      version = '$LATEST';
      break;
    case 'PublishVersion20150331':
      requestParameters = { functionName: name, codeSha256: call.codeSha256 };
      responseElements = { ...config, functionArn: `${fnArn}:${call.version}`, version: String(call.version), lastUpdateStatus: 'Successful' };
      version = String(call.version);
      break;
    case 'UpdateAlias20150331':
      requestParameters = { functionName: name, name: 'live', functionVersion: String(call.version) };
      responseElements = { aliasArn: `${fnArn}:live`, name: 'live', functionVersion: String(call.version), description: '', revisionId: rng.uuid() };
      break;
    case 'UpdateFunctionConfiguration20150331v2':
      requestParameters = { functionName: name, loggingConfig: { logFormat: call.logFormat, applicationLogLevel: 'INFO', systemLogLevel: 'INFO' } };
      responseElements = { ...config, loggingConfig: { logFormat: call.logFormat, applicationLogLevel: 'INFO', systemLogLevel: 'INFO', logGroup: `/aws/lambda/${name}` } };
      version = '$LATEST';
      break;
  }
  const eventID = rng.uuid();
  const rec = {
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', principalId: ci.principalId, arn: arnAt, accountId: account, accessKeyId: ci.accessKeyId, userName: ci.userName },
    eventTime: trailTime(time),
    eventSource: 'lambda.amazonaws.com',
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: ci.sourceIp,
    userAgent: `aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#lambda.${call.eventName.replace(/20\d{6}(v\d+)?$/, '').replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase())}`,
    requestParameters,
    responseElements,
    requestID: rng.uuid(),
    eventID,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `lambda.${region}.amazonaws.com` },
  };
  const secondTime = time - (time % 1000);
  const truth: ChangeEvent = {
    kind: 'change',
    time: secondTime,
    fn: { name, account, region, arn: fnArn },
    change: CHANGE_OF[call.eventName],
    detail: call.eventName,
    id: eventID,
    actor: arnAt,
  };
  if (version !== undefined) truth.version = version;
  return { json: JSON.stringify(rec), truth, time: secondTime };
}
