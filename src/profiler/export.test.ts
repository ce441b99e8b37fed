import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILER_SETTINGS, FunctionProfile, type Observation } from './profile.ts';
import { deniedCalls, describeProfile, egressAllowlist, iamAction, leastPrivilegePolicy, type IamPolicy } from './export.ts';

const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };
const obs: Observation = { closedHours: 0, isNew: false, isNewAction: false, durationExceeded: false };
const t = Date.UTC(2024, 0, 1);

/** A profile that saw these API calls: [action, first resource ('' for none), CloudTrail errorCode]. */
function profileOf(calls: [action: string, resource: string, errorCode?: string][]): FunctionProfile {
  const p = new FunctionProfile(fn, t, DEFAULT_PROFILER_SETTINGS);
  for (const [action, resource, errorCode] of calls) {
    p.observeResource({ kind: 'resource_access', time: t, fn, service: action.split(':')[0]!, action, resources: resource ? [resource] : [], errorCode }, DEFAULT_PROFILER_SETTINGS, obs);
  }
  return p;
}

function profile(): FunctionProfile {
  const p = profileOf([
    // Object keys as the CloudTrail parser keeps them: the first path segment, then `*`.
    ['s3:GetObject', 'arn:aws:s3:::orders/2024/*'],
    ['s3:PutObject', 'arn:aws:s3:::orders/2024/*'],
    ['dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/orders'],
    ['secretsmanager:GetSecretValue', 'prod/orders-db'],
    ['sts:GetCallerIdentity', ''],
  ]);
  for (let i = 0; i < 3; i++) p.observeEgress({ kind: 'egress', time: t + i, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' }, obs);
  p.observeEgress({ kind: 'egress', time: t, fn, host: 'hooks.slack.com', port: 443, via: 'instrumentation' }, obs);
  return p;
}

describe('leastPrivilegePolicy', () => {
  it('groups observed actions by resource and turns names into ARNs', () => {
    const policy = leastPrivilegePolicy(profile());
    expect(policy.Statement).toEqual([
      { Sid: 'Observed1', Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: ['arn:aws:dynamodb:us-east-1:111111111111:table/orders'] },
      { Sid: 'Observed2', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: ['arn:aws:s3:::orders/2024/*'] },
      { Sid: 'Observed3', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ['arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/orders-db*'] },
      { Sid: 'Observed4', Effect: 'Allow', Action: ['sts:GetCallerIdentity'], Resource: ['*'] },
    ]);
  });
});

describe('leastPrivilegePolicy and denied calls', () => {
  function probed(): FunctionProfile {
    return profileOf([
      ['dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/orders'],
      // An attacker's probing: every call denied.
      ['iam:ListUsers', '', 'AccessDenied'],
      ['iam:ListUsers', '', 'AccessDenied'],
      ['iam:ListUsers', '', 'AccessDenied'],
      ['dynamodb:Scan', 'arn:aws:dynamodb:us-east-1:111111111111:table/payments', 'AccessDeniedException'],
      ['ec2:DescribeInstances', '', 'Client.UnauthorizedOperation'],
      // Denied once, then allowed (a policy fixed after a deploy): granted.
      ['sqs:SendMessage', 'arn:aws:sqs:us-east-1:111111111111:jobs', 'AccessDenied'],
      ['sqs:SendMessage', 'arn:aws:sqs:us-east-1:111111111111:jobs'],
      // Allowed, then failed for another reason: the permission was used.
      ['s3:GetObject', 'arn:aws:s3:::orders/missing/*', 'NoSuchKey'],
      // Denied on one table, allowed on another: only the allowed table.
      ['dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/audit', 'AccessDeniedException'],
      ['dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/orders'],
    ]);
  }

  it('grants only what succeeded at least once', () => {
    const policy = leastPrivilegePolicy(probed());
    expect(policy.Statement).toEqual([
      { Sid: 'Observed1', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: ['arn:aws:dynamodb:us-east-1:111111111111:table/orders'] },
      { Sid: 'Observed2', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::orders/missing/*'] },
      { Sid: 'Observed3', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: ['arn:aws:sqs:us-east-1:111111111111:jobs'] },
    ]);
  });

  it('lists the always-denied calls apart, most denied first, and survives a snapshot', () => {
    const p = probed();
    const expected = [
      ['iam:ListUsers', '*', 3, 3],
      ['dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/audit', 1, 1],
      ['dynamodb:Scan', 'arn:aws:dynamodb:us-east-1:111111111111:table/payments', 1, 1],
      ['ec2:DescribeInstances', '*', 1, 1],
    ];
    expect(deniedCalls(p).map((c) => [c.action, c.resource, c.calls, c.denied])).toEqual(expected);
    const restored = FunctionProfile.fromJSON(JSON.parse(JSON.stringify(p.toJSON())), DEFAULT_PROFILER_SETTINGS);
    expect(deniedCalls(restored).map((c) => [c.action, c.resource, c.calls, c.denied])).toEqual(expected);
    expect(leastPrivilegePolicy(restored)).toEqual(leastPrivilegePolicy(p));
    expect(describeProfile(p, 24 * 3_600_000, 30).join('\n')).toContain('4 always denied (not granted)');
  });

  it('keeps no denial state for a function that was never denied', () => {
    const p = profile();
    expect(p.denied).toBeUndefined();
    expect(deniedCalls(p)).toEqual([]);
    expect('denied' in JSON.parse(JSON.stringify(p.toJSON()))).toBe(false);
  });
});

describe('S3 in the policy', () => {
  const s3 = (calls: [action: string, resource: string][]): IamPolicy => leastPrivilegePolicy(profileOf(calls));

  it('uses object ARNs with one `*` for object actions (a `*` matches across `/`)', () => {
    const policy = s3([
      ['s3:GetObject', 'arn:aws:s3:::orders/2024/*'],
      ['s3:GetObject', 'arn:aws:s3:::orders/*'],
      ['s3:PutObject', 'arn:aws:s3:::orders/out/*'],
      ['s3:DeleteObject', 'arn:aws:s3:::orders'],
    ]);
    const resources = policy.Statement.flatMap((st) => st.Resource);
    for (const r of resources) expect(r).not.toMatch(/\*\*/);
    expect(policy.Statement).toEqual([
      { Sid: 'Observed1', Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: ['arn:aws:s3:::orders/*'] },
      { Sid: 'Observed2', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::orders/*', 'arn:aws:s3:::orders/2024/*'] },
      { Sid: 'Observed3', Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::orders/out/*'] },
    ]);
  });

  it('names IAM actions, with the bucket ARN for bucket actions and `*` for ListAllMyBuckets', () => {
    const policy = s3([
      ['s3:ListObjectsV2', 'arn:aws:s3:::orders'],
      ['s3:HeadBucket', 'arn:aws:s3:::orders'],
      // resources[] can name the object first for a bucket-level call: the permission is on the bucket.
      ['s3:GetBucketLocation', 'arn:aws:s3:::orders/2024/*'],
      ['s3:HeadObject', 'arn:aws:s3:::orders/2024/*'],
      ['s3:ListBuckets', ''],
      ['s3:CreateMultipartUpload', 'arn:aws-cn:s3:::uploads/in/*'],
    ]);
    expect(policy.Statement).toEqual([
      { Sid: 'Observed1', Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: ['arn:aws:s3:::orders'] },
      { Sid: 'Observed2', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::orders/2024/*'] },
      { Sid: 'Observed3', Effect: 'Allow', Action: ['s3:ListAllMyBuckets'], Resource: ['*'] },
      { Sid: 'Observed4', Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['arn:aws-cn:s3:::uploads/in/*'] },
    ]);
  });

  it('maps S3 operations to the permission that allows them and leaves other services alone', () => {
    expect(iamAction('s3:ListObjects')).toBe('s3:ListBucket');
    expect(iamAction('s3:CopyObject')).toBe('s3:PutObject');
    expect(iamAction('s3:GetObjectTagging')).toBe('s3:GetObjectTagging');
    expect(iamAction('dynamodb:ListTables')).toBe('dynamodb:ListTables');
  });
});

describe('egressAllowlist', () => {
  it('lists destinations, most used first', () => {
    const list = egressAllowlist(profile());
    expect(list.map((e) => [e.destination, e.count])).toEqual([['api.stripe.com:443', 3], ['hooks.slack.com:443', 1]]);
  });
});

describe('describeProfile', () => {
  it('states the learning state', () => {
    const lines = describeProfile(profile(), 24 * 3_600_000, 30);
    expect(lines[0]).toContain('orders-api (111111111111/us-east-1)');
    expect(lines.join('\n')).toMatch(/learning: until 2024-01-02/);
    expect(lines.join('\n')).toContain('egress: 2 destinations');
  });
});
