import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILER_SETTINGS, FunctionProfile, type Observation } from './profile.ts';
import { describeProfile, egressAllowlist, leastPrivilegePolicy } from './export.ts';

const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };
const obs: Observation = { closedHours: 0, isNew: false, isNewAction: false, durationExceeded: false };
const t = Date.UTC(2024, 0, 1);

function profile(): FunctionProfile {
  const p = new FunctionProfile(fn, t, DEFAULT_PROFILER_SETTINGS);
  const api = (action: string, resource: string, errorCode?: string) =>
    p.observeResource({ kind: 'resource_access', time: t, fn, service: action.split(':')[0]!, action, resources: resource ? [resource] : [], errorCode }, DEFAULT_PROFILER_SETTINGS, obs);
  api('s3:GetObject', 'arn:aws:s3:::orders/2024');
  api('s3:PutObject', 'arn:aws:s3:::orders/2024');
  api('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:111111111111:table/orders');
  api('secretsmanager:GetSecretValue', 'prod/orders-db');
  api('sts:GetCallerIdentity', '');
  for (let i = 0; i < 3; i++) p.observeEgress({ kind: 'egress', time: t + i, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' }, obs);
  p.observeEgress({ kind: 'egress', time: t, fn, host: 'hooks.slack.com', port: 443, via: 'instrumentation' }, obs);
  return p;
}

describe('leastPrivilegePolicy', () => {
  it('groups observed actions by resource and turns names into ARNs', () => {
    const policy = leastPrivilegePolicy(profile());
    expect(policy.Statement).toEqual([
      { Sid: 'Observed1', Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: ['arn:aws:dynamodb:us-east-1:111111111111:table/orders'] },
      { Sid: 'Observed2', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: ['arn:aws:s3:::orders/2024*'] },
      { Sid: 'Observed3', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ['arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/orders-db*'] },
      { Sid: 'Observed4', Effect: 'Allow', Action: ['sts:GetCallerIdentity'], Resource: ['*'] },
    ]);
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
