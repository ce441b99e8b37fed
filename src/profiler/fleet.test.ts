import { describe, expect, it } from 'vitest';
import type { FunctionRef } from '../core/events.ts';
import { FleetProfile, type LateEgressUse } from './fleet.ts';

const fnRef = (name: string): FunctionRef => ({ name, account: '111111111111', region: 'us-east-1' });
/** The detector's rule with the default pack: a late use vouches when not alerted on and its rate then was above 0.1. */
const vouches = (u: Readonly<LateEgressUse>) => !u.alerted && u.discovery > 0.1;

describe('FleetProfile', () => {
  it('counts uses that began during learning as established, and late ones only when the rule says they vouch', () => {
    const f = new FleetProfile();
    const settled = fnRef('billing-api');
    const rare = fnRef('sso-provisioner');
    f.noteEgress('api.stripe.com:443'); // in two baselines
    f.noteEgress('api.stripe.com:443');
    f.noteEgress('api.stripe.com:443', { fn: settled, discovery: 0.002, alerted: false }); // and one function that began after learning
    f.noteEgress('transfer.sh:443', { fn: settled, discovery: 0.004, alerted: false });
    f.noteEgress('api.zendesk.com:443', { fn: rare, discovery: 0.13, alerted: false });
    expect(f.egressUsers('api.stripe.com:443')).toBe(3);
    expect(f.establishedEgressUsers('api.stripe.com:443', vouches)).toBe(2);
    expect(f.egressUsers('transfer.sh:443')).toBe(1);
    expect(f.establishedEgressUsers('transfer.sh:443', vouches)).toBe(0);
    expect(f.establishedEgressUsers('api.zendesk.com:443', vouches)).toBe(1);
    expect(f.establishedEgressUsers('never.example.org:443', vouches)).toBe(0);
  });

  it('judges a late use by the rate it was noted with, however the function has settled since', () => {
    const f = new FleetProfile();
    const seen: number[] = [];
    f.noteEgress('api.zendesk.com:443', { fn: fnRef('sso-provisioner'), discovery: 0.13, alerted: false });
    // Asked hours later, the rule is still handed the rate at first use.
    expect(f.establishedEgressUsers('api.zendesk.com:443', (u) => (seen.push(u.discovery), vouches(u)))).toBe(1);
    expect(seen).toEqual([0.13]);
  });

  it('marks the late use a detector alerted on, by function identity, and hands the mark to the rule', () => {
    const f = new FleetProfile();
    const gdpr = fnRef('gdpr-export');
    const other = fnRef('plan-upgrade-handler');
    f.noteEgress('api.stripe.com:443'); // a use begun during learning: nothing to mark
    f.noteEgress('transfer.sh:443', { fn: gdpr, discovery: 0.158, alerted: false });
    expect(f.establishedEgressUsers('transfer.sh:443', vouches)).toBe(1);
    expect(f.markEgressAlerted('transfer.sh:443', other)).toBe(false);
    expect(f.markEgressAlerted('transfer.sh:443', fnRef('gdpr-export'))).toBe(false); // same fields, another object
    expect(f.markEgressAlerted('api.stripe.com:443', gdpr)).toBe(false);
    expect(f.markEgressAlerted('transfer.sh:443', gdpr)).toBe(true);
    expect(f.establishedEgressUsers('transfer.sh:443', vouches)).toBe(0);
    expect([...f.lateEgressUses()]).toEqual([['transfer.sh:443', { fn: gdpr, discovery: 0.158, alerted: true }]]);
    expect(f.egressUsers('transfer.sh:443')).toBe(1); // still a user, just not a voucher
  });

  it('never counts the function asking, by identity', () => {
    const f = new FleetProfile();
    const self = fnRef('admin-password-reset');
    const other = fnRef('sso-provisioner');
    f.noteEgress('api.zendesk.com:443', { fn: self, discovery: 0.5, alerted: false });
    expect(f.establishedEgressUsers('api.zendesk.com:443', vouches, self)).toBe(0);
    f.noteEgress('api.zendesk.com:443', { fn: other, discovery: 0.5, alerted: false });
    expect(f.establishedEgressUsers('api.zendesk.com:443', vouches, self)).toBe(1);
    // A ref with the same fields is another object: only the profile's own ref is "self".
    expect(f.establishedEgressUsers('api.zendesk.com:443', vouches, fnRef('admin-password-reset'))).toBe(2);
  });

  it('lists its late uses for a snapshot', () => {
    const f = new FleetProfile();
    const a = fnRef('gdpr-export');
    f.noteEgress('api.stripe.com:443');
    f.noteEgress('transfer.sh:443', { fn: a, discovery: 0.01, alerted: true });
    f.noteEgress('api.auth0.com:443', { fn: a, discovery: 0.2, alerted: false });
    expect([...f.lateEgressUses()]).toEqual([
      ['transfer.sh:443', { fn: a, discovery: 0.01, alerted: true }],
      ['api.auth0.com:443', { fn: a, discovery: 0.2, alerted: false }],
    ]);
  });

  it('keeps no late uses for destinations beyond its cap', () => {
    const f = new FleetProfile(1);
    const x = fnRef('x');
    f.noteEgress('api.stripe.com:443');
    f.noteEgress('transfer.sh:443', { fn: x, discovery: 0.5, alerted: false }); // beyond the cap: not kept
    expect(f.egressUsers('transfer.sh:443')).toBe(0);
    expect(f.establishedEgressUsers('transfer.sh:443', () => true)).toBe(0);
    expect(f.markEgressAlerted('transfer.sh:443', x)).toBe(false);
    expect([...f.lateEgressUses()]).toEqual([]);
    f.noteAction('s3:GetObject'); // actions have their own table
    expect(f.actionUsers('s3:GetObject')).toBe(1);
  });
});
