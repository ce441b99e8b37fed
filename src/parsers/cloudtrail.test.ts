import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, ResourceAccessEvent } from '../core/events.ts';
import { createParser, type ParserOptions } from './index.ts';
import { functionFromNameOrArn, lambdaChangeType } from './cloudtrail.ts';
import { RecordingSink } from './test-sink.ts';

type CtRecord = Record<string, unknown>;

const fixtureRecords = (JSON.parse(readFileSync(new URL('./fixtures/cloudtrail-function-calls.json', import.meta.url), 'utf8')) as { Records: CtRecord[] })
  .Records;

function parseRecords(records: unknown[], opts: ParserOptions = {}): RecordingSink {
  const parser = createParser(opts);
  const sink = new RecordingSink();
  records.forEach((r, i) => parser.cloudTrailRecord(r, { file: 'trail.json', record: i }, sink));
  return sink;
}

function byId(sink: RecordingSink, id: string) {
  return sink.events.filter((e) => e.id === id);
}

describe('CloudTrail calls made by functions (fixture)', () => {
  const sink = parseRecords(fixtureRecords);

  it('attributes a data event to the function by session name, with truncated S3 keys', () => {
    expect(byId(sink, 'a1c2e3f4-0000-4000-8000-000000000001')).toEqual([
      {
        kind: 'resource_access',
        time: Date.parse('2024-01-01T10:05:00Z'),
        fn: { name: 'orders-api', account: '123456789012', region: 'us-east-1', arn: 'arn:aws:lambda:us-east-1:123456789012:function:orders-api' },
        id: 'a1c2e3f4-0000-4000-8000-000000000001',
        role: 'orders-api-role',
        service: 's3',
        action: 's3:GetObject',
        resources: ['arn:aws:s3:::orders-data/invoices/*', 'arn:aws:s3:::orders-data'],
        sourceIp: '3.80.12.34',
        userAgent: expect.stringContaining('exec-env/AWS_Lambda_nodejs20.x'),
        readOnly: true,
      },
    ]);
  });

  it('derives resource keys from requestParameters when resources[] is absent', () => {
    const resources = (id: string) => (byId(sink, id)[0] as ResourceAccessEvent).resources;
    expect(resources('a1c2e3f4-0000-4000-8000-000000000002')).toEqual(['arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db']);
    expect(resources('a1c2e3f4-0000-4000-8000-000000000003')).toEqual(['arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab']);
    expect(resources('a1c2e3f4-0000-4000-8000-000000000004')).toEqual([
      'arn:aws:ssm:us-east-1:123456789012:parameter/orders/stripe-key',
      'arn:aws:ssm:us-east-1:123456789012:parameter/orders/feature-flags',
    ]);
    expect(resources('a1c2e3f4-0000-4000-8000-000000000005')).toEqual(['arn:aws:dynamodb:us-east-1:123456789012:table/orders']);
    expect(resources('a1c2e3f4-0000-4000-8000-000000000011')).toEqual(['arn:aws:sqs:us-east-1:123456789012:orders-events']);
  });

  it('keeps errorCode and readOnly', () => {
    expect(byId(sink, 'a1c2e3f4-0000-4000-8000-000000000006')[0]).toMatchObject({ action: 'iam:ListUsers', errorCode: 'AccessDenied', readOnly: true, resources: [] });
  });

  it('a management event made by a function yields the target’s change and the caller’s access', () => {
    const evs = byId(sink, 'a1c2e3f4-0000-4000-8000-000000000007');
    expect(evs.map((e) => e.kind)).toEqual(['change', 'resource_access']);
    expect(evs[0]).toMatchObject({
      change: 'config',
      fn: { name: 'billing-worker', account: '123456789012', region: 'us-east-1' },
      actor: 'arn:aws:sts::123456789012:assumed-role/orders-api-role/orders-api',
      detail: 'UpdateFunctionConfiguration20150331v2',
      version: '$LATEST',
    });
    expect(evs[1]).toMatchObject({
      fn: { name: 'orders-api' },
      action: 'lambda:UpdateFunctionConfiguration',
      resources: ['arn:aws:lambda:us-east-1:123456789012:function:billing-worker'],
    });
  });

  it('does not take EC2 instance sessions, Lambda’s own AssumeRole or SDK default sessions for functions', () => {
    expect(byId(sink, 'a1c2e3f4-0000-4000-8000-000000000008')).toEqual([]);
    expect(byId(sink, 'a1c2e3f4-0000-4000-8000-000000000009')).toEqual([]);
    // the SDK-session deployer's PublishVersion is still the target function's change
    expect(byId(sink, 'a1c2e3f4-0000-4000-8000-000000000010')).toMatchObject([{ kind: 'change', change: 'publish', version: '8', fn: { name: 'orders-api' } }]);
    expect(sink.countIgnored('cloudtrail-unattributed')).toBe(2);
  });

  it('accounts for every record exactly once', () => {
    const withEvents = new Set(sink.events.map((e) => e.id)).size;
    expect(withEvents + sink.ignoredReasons.length + sink.deadLetters.length).toBe(fixtureRecords.length);
  });
});

describe('attribution policy', () => {
  const custom = (session: string, userAgent: string): CtRecord => ({
    eventVersion: '1.09',
    eventTime: '2024-01-01T10:00:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    awsRegion: 'us-east-1',
    eventID: `id-${session}-${userAgent.length}`,
    userAgent,
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::123456789012:assumed-role/some-role/${session}` },
  });

  it('without isKnownFunction, any non-excluded session is attributed', () => {
    expect(parseRecords([custom('nightly-report', 'aws-cli/2.15.0')]).ofKind('resource_access')).toHaveLength(1);
  });

  it('with isKnownFunction, only known (account, name) pairs or Lambda runtime user agents are attributed', () => {
    const seen: [string | undefined, string][] = [];
    const isKnownFunction = (account: string | undefined, name: string) => {
      seen.push([account, name]);
      return name === 'orders-api';
    };
    const sink = parseRecords(
      [custom('orders-api', 'aws-cli/2.15.0'), custom('alice-session', 'aws-cli/2.15.0'), custom('unlisted-fn', 'aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x')],
      { isKnownFunction },
    );
    expect(sink.ofKind('resource_access').map((e) => e.fn.name)).toEqual(['orders-api', 'unlisted-fn']);
    expect(sink.ignoredReasons).toEqual(['cloudtrail-unattributed']);
    expect(seen).toEqual([
      ['123456789012', 'orders-api'],
      ['123456789012', 'alice-session'],
    ]);
  });

  it('never attributes botocore/aws-go-sdk/awslambda_/i- sessions, even from a Lambda user agent', () => {
    const ua = 'Boto3/1.34 exec-env/AWS_Lambda_python3.12';
    const sink = parseRecords(['botocore-session-1704103200', 'aws-go-sdk-1688990080', 'awslambda_291_20230710', 'i-0dbc91f429e48eeed'].map((s) => custom(s, ua)));
    expect(sink.events).toEqual([]);
  });
});

describe('Lambda management events', () => {
  it('maps event names by prefix, ignoring API-version suffixes', () => {
    expect(
      ['CreateFunction20150331', 'UpdateFunctionCode20150331v2', 'UpdateFunctionConfiguration20150331v2', 'PublishVersion20150331', 'AddPermission20150331v2', 'RemovePermission20150331v2', 'DeleteFunction20150331', 'PutFunctionConcurrency20171031', 'GetFunction20150331v2', 'ListFunctions20150331', 'CreateFunctionUrlConfig'].map(
        lambdaChangeType,
      ),
    ).toEqual(['create', 'code', 'config', 'publish', 'permission', 'permission', 'delete', 'config', undefined, undefined, 'config']);
  });

  it('resolves a target from a name, a partial ARN or a qualified ARN', () => {
    expect(functionFromNameOrArn('f', '111111111111', 'eu-west-1')).toEqual({ name: 'f', account: '111111111111', region: 'eu-west-1', arn: 'arn:aws:lambda:eu-west-1:111111111111:function:f' });
    expect(functionFromNameOrArn('222222222222:function:g:prod', '111111111111', 'eu-west-1')).toMatchObject({ name: 'g', account: '222222222222' });
    expect(functionFromNameOrArn('arn:aws:lambda:us-west-2:333333333333:function:h:7', undefined, undefined)).toEqual({
      name: 'h',
      account: '333333333333',
      region: 'us-west-2',
      arn: 'arn:aws:lambda:us-west-2:333333333333:function:h',
    });
  });

  it('a failed management call changes nothing', () => {
    const sink = parseRecords([
      {
        eventVersion: '1.08',
        eventTime: '2024-01-01T10:00:00Z',
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionCode20150331v2',
        errorCode: 'AccessDeniedException',
        awsRegion: 'us-east-1',
        eventID: 'x1',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/u' },
        requestParameters: { functionName: 'f' },
      },
    ]);
    expect(sink.events).toEqual([]);
    expect(sink.ignoredReasons).toEqual(['cloudtrail-failed-change']);
  });
});

describe('the real Invictus trail (2,900 records)', () => {
  const dir = '/work/shared/datasets/cloudtrail-invictus/CloudTrail';
  const records: CtRecord[] = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Records: CtRecord[] }).Records);
  const sink = parseRecords(records);

  it('parses every record: nothing dead-letters, every record is accounted for', () => {
    expect(records).toHaveLength(2900);
    expect(sink.deadLetters).toEqual([]);
    const recordsWithEvents = new Set(sink.events.map((e) => e.id)).size;
    expect(recordsWithEvents + sink.ignoredReasons.length).toBe(2900);
  });

  it('turns the successful Lambda management events into change events for their targets', () => {
    const changes = sink.ofKind('change') as ChangeEvent[];
    const summary = changes.map((c) => `${c.change} ${c.fn.name}`).sort();
    // 6 CreateFunction (4 failed with InvalidParameterValueException), 2 UpdateFunctionCode,
    // 2 DeleteFunction, 1 AddPermission, 1 RemovePermission
    expect(summary).toEqual([
      'code stratus-red-team-olc-func-xhfgzaowxc',
      'code stratus-red-team-olc-func-xhfgzaowxc',
      'create stratus-red-team-backdoor-f-func',
      'create stratus-red-team-olc-func-xhfgzaowxc',
      'delete stratus-red-team-backdoor-f-func',
      'delete stratus-red-team-olc-func-xhfgzaowxc',
      'permission stratus-red-team-backdoor-f-func',
      'permission stratus-red-team-backdoor-f-func',
    ]);
    expect(sink.countIgnored('cloudtrail-failed-change')).toBe(4);
    for (const c of changes) {
      expect(c.fn).toMatchObject({ account: '123837392027', region: 'us-east-1', arn: `arn:aws:lambda:us-east-1:123837392027:function:${c.fn.name}` });
      expect(c.actor).toBe('arn:aws:iam::123837392027:user/bert-jan');
    }
    const codeVersions = changes.filter((c) => c.change === 'code').map((c) => c.version);
    expect(codeVersions.every((v) => v !== undefined)).toBe(true);
  });

  it('attributes no call to a function: the trail has EC2, SDK-default and service-linked sessions only', () => {
    const names = new Set(sink.ofKind('resource_access').map((e) => e.fn.name));
    // Without an inventory the service-linked-role sessions are candidates; with one, nothing is.
    expect([...names].every((n) => /^(SLRManagement|MandoService\d+)$/.test(n))).toBe(true);
    const strict = parseRecords(records, { isKnownFunction: () => false });
    expect(strict.ofKind('resource_access')).toEqual([]);
    expect(strict.ofKind('change')).toHaveLength(8);
  });

  it('drops redelivered records on eventID', () => {
    const parser = createParser();
    const s = new RecordingSink();
    for (const r of records.slice(0, 100)) parser.cloudTrailRecord(r, {}, s);
    for (const r of records.slice(0, 100)) parser.cloudTrailRecord(r, {}, s);
    expect(s.countIgnored('duplicate')).toBe(100);
  });
});

describe('CloudTrail through CloudWatch Logs', () => {
  const rec = fixtureRecords[1];

  it('reads records from a configured CloudTrail log group and dead-letters non-JSON lines there', () => {
    const parser = createParser({ cloudTrailLogGroups: ['aws-cloudtrail-logs-123456789012'] });
    const sink = new RecordingSink();
    const le = (id: string, message: string) => ({ logGroup: 'aws-cloudtrail-logs-123456789012', logStream: '123456789012_CloudTrail_us-east-1', id, timestamp: 1, message });
    parser.logEvent(le('1'.repeat(56), JSON.stringify(rec)), {}, sink);
    parser.logEvent(le('2'.repeat(56), 'not json'), {}, sink);
    parser.logEvent(le('3'.repeat(56), '{"eventVersion":"1.09"}'), {}, sink);
    expect(sink.ofKind('resource_access')).toMatchObject([{ action: 'secretsmanager:GetSecretValue' }]);
    expect(sink.deadLetters.map((d) => [d.reason, d.position.logGroup])).toEqual([
      ['bad-json', 'aws-cloudtrail-logs-123456789012'],
      ['bad-record', 'aws-cloudtrail-logs-123456789012'],
    ]);
  });

  it('detects a CloudTrail record by content in any group, and dedupes it against the file copy', () => {
    const parser = createParser();
    const sink = new RecordingSink();
    parser.logEvent({ logGroup: 'trail', logStream: 's', id: '9'.repeat(56), timestamp: 1, message: JSON.stringify(rec) }, {}, sink);
    parser.cloudTrailRecord(rec, {}, sink);
    expect(sink.ofKind('resource_access')).toHaveLength(1);
    expect(sink.ignoredReasons).toEqual(['duplicate']);
  });

  it('dead-letters wrong field types without throwing', () => {
    const sink = parseRecords([null, 'x', { eventSource: 's3.amazonaws.com' }, { ...rec, eventID: 'z1', eventTime: 12 }, { ...rec, eventID: 'z2', eventTime: 'yesterday' }, { ...rec, eventID: 'z3', userIdentity: 'x' }, { ...rec, eventID: 'z4', awsRegion: 5 }]);
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['bad-record', 'bad-record', 'bad-record', 'bad-field', 'bad-field', 'bad-field', 'bad-field']);
    expect(sink.deadLetters[3].position).toEqual({ file: 'trail.json', record: 3 });
  });
});
