import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/contracts.ts';
import { sampleAlert } from '../testing/alerts.ts';
import { batchMessageId, loadSecrets, loadToken, messageKey, parseSecrets, sign, signatureHeaders } from './sign.ts';
import { verifyWebhook, WebhookVerificationError } from './verify.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER = 'whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=';
const NOW = 1_767_896_435_000;
const TS = Math.floor(NOW / 1000);
const body = Buffer.from('{"class_uid":2004}\n');

describe('signing and verification', () => {
  it('matches the standardwebhooks reference implementation both ways', () => {
    const lib = new Webhook(SECRET);
    const ours = signatureHeaders('fw-a.1.00', TS, body, parseSecrets(SECRET, 't'));
    expect(ours['webhook-signature']).toBe(lib.sign('fw-a.1.00', new Date(TS * 1000), body.toString()));
    const libHeaders = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(TS), 'webhook-signature': lib.sign('msg_1', new Date(TS * 1000), body.toString()) };
    expect(verifyWebhook(libHeaders, body, SECRET, { now: NOW })).toEqual({ id: 'msg_1', timestamp: TS });
  });

  it('rejects a changed body, id or timestamp, and a wrong secret', () => {
    const h = signatureHeaders('fw-a.1.00', TS, body, parseSecrets(SECRET, 't'));
    expect(() => verifyWebhook(h, Buffer.from('{"class_uid":2005}\n'), SECRET, { now: NOW })).toThrow('no webhook-signature matches');
    expect(() => verifyWebhook({ ...h, 'webhook-id': 'fw-b.1.00' }, body, SECRET, { now: NOW })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook({ ...h, 'webhook-timestamp': String(TS + 1) }, body, SECRET, { now: NOW })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(h, body, OTHER, { now: NOW })).toThrow(WebhookVerificationError);
  });

  it('enforces the ±5 minute window by default and a configured tolerance', () => {
    const h = signatureHeaders('m', TS, body, parseSecrets(SECRET, 't'));
    expect(() => verifyWebhook(h, body, SECRET, { now: NOW + 299_000 })).not.toThrow();
    expect(() => verifyWebhook(h, body, SECRET, { now: NOW + 301_000 })).toThrow(/outside ±300 s/);
    expect(() => verifyWebhook(h, body, SECRET, { now: NOW - 301_000 })).toThrow(/outside ±300 s/);
    expect(() => verifyWebhook(h, body, SECRET, { now: NOW + 20_000, toleranceSec: 10 })).toThrow(/outside ±10 s/);
    expect(() => verifyWebhook({ ...h, 'webhook-timestamp': '17e8' }, body, SECRET, { now: NOW })).toThrow(/not Unix seconds/);
  });

  it('accepts any of several signatures and any of several secrets (rotation)', () => {
    const both = signatureHeaders('m', TS, body, parseSecrets(`${OTHER}\n${SECRET}\n`, 't'));
    expect(both['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyWebhook(both, body, SECRET, { now: NOW }).id).toBe('m');
    expect(verifyWebhook(both, body, OTHER, { now: NOW }).id).toBe('m');
    const one = signatureHeaders('m', TS, body, parseSecrets(SECRET, 't'));
    expect(verifyWebhook(one, body, [OTHER, SECRET], { now: NOW }).id).toBe('m');
    expect(verifyWebhook({ ...one, 'webhook-signature': `v2,abc ${one['webhook-signature']}` }, body, SECRET, { now: NOW }).id).toBe('m');
  });

  it('takes a secret without the whsec_ prefix as raw bytes, and reads Fetch Headers', () => {
    const raw = 'correct-horse-battery-staple';
    const h = signatureHeaders('m', TS, body, parseSecrets(raw, 't'));
    expect(h['webhook-signature']).toBe(new Webhook(raw, { format: 'raw' }).sign('m', new Date(TS * 1000), body.toString()));
    expect(verifyWebhook(new Headers(h), body.toString(), raw, { now: NOW }).id).toBe('m');
    expect(verifyWebhook(h, body, Buffer.from(raw), { now: NOW }).id).toBe('m');
  });

  it('says what is missing without ever showing a secret', () => {
    expect(() => verifyWebhook({}, body, SECRET)).toThrow(/missing webhook-id/);
    const bad = 'whsec_not*base64!';
    let message = '';
    try {
      parseSecrets(bad, 'FNWATCH_WEBHOOK_SECRET');
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      message = (err as Error).message;
    }
    expect(message).toBe('FNWATCH_WEBHOOK_SECRET: secret #1 starts with whsec_ but the rest is not base64');
    expect(() => parseSecrets('  \n', 'f')).toThrow(/empty/);
  });

  it('loads secrets and tokens from a file or an environment variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-secret-'));
    try {
      writeFileSync(join(dir, 's'), `${SECRET}\n`);
      expect(loadSecrets({ file: join(dir, 's') })).toEqual(parseSecrets(SECRET, 'x'));
      expect(loadSecrets({ env: 'S' }, { S: SECRET })).toEqual(parseSecrets(SECRET, 'x'));
      expect(loadSecrets({})).toBeUndefined();
      expect(() => loadSecrets({ env: 'S' }, {})).toThrow('environment variable S (the webhook secret) is not set');
      expect(() => loadSecrets({ file: join(dir, 'nope') })).toThrow(/cannot read the webhook secret file .*nope: ENOENT/);
      writeFileSync(join(dir, 't'), ' 4a8a737d-5452-426c \n');
      expect(loadToken({ file: join(dir, 't') }, 'Splunk HEC token')).toBe('4a8a737d-5452-426c');
      expect(() => loadToken({ env: 'T' }, 'Splunk HEC token', { T: 'two words' })).toThrow(/empty or contains whitespace/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('message ids', () => {
  it('are stable for the same alert, differ for an update of the same finding, and name batches by their first member', () => {
    const a = sampleAlert(1);
    const json = Buffer.from(JSON.stringify(a));
    const key = messageKey(a, json);
    expect(key).toMatch(/^fw-0{23}1\.1\.[0-9a-f]{16}$/);
    expect(messageKey(a, Buffer.from(JSON.stringify(a)))).toBe(key);
    const update = { ...a, activity_id: 2 as const, type_uid: 200402 as const, severity_id: 5 };
    const updateKey = messageKey(update, Buffer.from(JSON.stringify(update)));
    expect(updateKey.startsWith(`${a.finding_info.uid}.2.`)).toBe(true);
    const escalated = { ...update, severity_id: 6, time: a.time + 1 };
    expect(messageKey(escalated, Buffer.from(JSON.stringify(escalated)))).not.toBe(updateKey);
    expect(batchMessageId([key])).toBe(key);
    expect(batchMessageId([key, updateKey, 'x'])).toBe(`${key}+2`);
    expect(sign(Buffer.from('k'), 'id', 1, 'b')).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });
});
