/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/).
 *
 * Headers on every request:
 * - `webhook-id`: the message id, the receiver's idempotency key. For one alert it is
 *   `<finding uid>.<activity_id>.<revision>`, where revision is the first 16 hex digits of the
 *   SHA-256 of the alert's JSON: retries (and re-sends after a crash) carry the same bytes and so the
 *   same id, an Update of the same finding carries new content and so a new id. A batch of n > 1
 *   alerts has the id of its first alert followed by `+<n-1>`; batch boundaries are persisted in the
 *   outbox cursor before sending, so a batch re-sent after a restart has the same members and id.
 * - `webhook-timestamp`: Unix seconds at which this attempt was signed.
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` over the exact
 *   bytes sent; one signature per configured secret, space-separated (secret rotation).
 *
 * Secrets: `whsec_<base64>` (the key is the decoded part), or any other string taken as raw UTF-8
 * bytes. A secret file or variable may hold several secrets separated by whitespace. Secret values
 * never appear in errors or logs.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { readFileSync } from 'node:fs';
import type { Alert } from '../../core/alert.ts';
import { UsageError } from '../../core/contracts.ts';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Signing keys from secret text (`whsec_<base64>` or raw; several separated by whitespace).
 * `label` names where the text came from, for errors that must not show the value.
 *
 * @example
 * parseSecrets('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'FNWATCH_WEBHOOK_SECRET'); // → [<24-byte Buffer>]
 */
export function parseSecrets(text: string, label: string): Buffer[] {
  const parts = text.split(/\s+/).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError(`${label}: the webhook secret is empty`);
  return parts.map((p, i) => {
    if (!p.startsWith(PREFIX)) return Buffer.from(p, 'utf8');
    const b64 = p.slice(PREFIX.length);
    const key = Buffer.from(b64, 'base64');
    if (!BASE64.test(b64) || key.length === 0) throw new UsageError(`${label}: secret #${i + 1} starts with whsec_ but the rest is not base64`);
    return key;
  });
}

/** Where the webhook secret comes from: an environment variable's name, or a file. */
export interface SecretSource {
  env?: string;
  file?: string;
}

/**
 * Loads signing keys from an environment variable or a file; undefined when neither is set.
 *
 * @example
 * loadSecrets({ env: 'FNWATCH_WEBHOOK_SECRET' }); // → [Buffer] or throws UsageError('FNWATCH_WEBHOOK_SECRET: …')
 */
export function loadSecrets(src: SecretSource, env: NodeJS.ProcessEnv = process.env): Buffer[] | undefined {
  if (src.file) {
    let text: string;
    try {
      text = readFileSync(src.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the webhook secret file ${src.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return parseSecrets(text, src.file);
  }
  if (src.env) {
    const text = env[src.env];
    if (text === undefined || text === '') throw new UsageError(`environment variable ${src.env} (the webhook secret) is not set`);
    return parseSecrets(text, src.env);
  }
  return undefined;
}

/**
 * A plain token (Splunk HEC) from an environment variable or a file, trimmed.
 *
 * @example
 * loadToken({ env: 'SPLUNK_HEC_TOKEN' }, 'Splunk HEC token');
 */
export function loadToken(src: SecretSource, what: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let text: string | undefined;
  if (src.file) {
    try {
      text = readFileSync(src.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the ${what} file ${src.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  } else if (src.env) {
    text = env[src.env];
    if (text === undefined) throw new UsageError(`environment variable ${src.env} (the ${what}) is not set`);
  } else return undefined;
  const token = text.trim();
  if (token === '' || /\s/.test(token)) throw new UsageError(`the ${what} from ${src.file ?? src.env} is empty or contains whitespace`);
  return token;
}

/**
 * The message key of one alert: `<finding uid>.<activity_id>.<16 hex of SHA-256(json)>`.
 *
 * @example
 * messageKey(alert, Buffer.from(JSON.stringify(alert))); // → 'fw-7c1e….1.3f9a0c1d2b4e5f60'
 */
export function messageKey(alert: Alert, json: Buffer): string {
  const digest = createHash('sha256').update(json).digest('hex').slice(0, 16);
  return `${alert.finding_info.uid}.${alert.activity_id}.${digest}`;
}

/**
 * The `webhook-id` of a request carrying these alerts (their message keys, in order).
 *
 * @example
 * batchMessageId(['fw-a.1.0011', 'fw-b.1.2233', 'fw-c.2.4455']); // → 'fw-a.1.0011+2'
 */
export function batchMessageId(keys: readonly string[]): string {
  return keys.length === 1 ? keys[0]! : `${keys[0]}+${keys.length - 1}`;
}

/**
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` for one key.
 *
 * @example
 * sign(key, 'msg_1', 1767896435, Buffer.from('{}')); // → 'v1,K5oZfzN9…='
 */
export function sign(key: Buffer, id: string, timestampSec: number, body: Buffer | string): string {
  // The reference implementation signs; fnwatch only adds key parsing, rotation and message ids.
  return new Webhook(key, { format: 'raw' }).sign(id, new Date(timestampSec * 1000), body);
}

/**
 * The three Standard Webhooks headers (no signature header without keys).
 *
 * @example
 * signatureHeaders('fw-a.1.0011', Math.floor(Date.now() / 1000), body, keys);
 * // → { 'webhook-id': 'fw-a.1.0011', 'webhook-timestamp': '1767896435', 'webhook-signature': 'v1,…' }
 */
export function signatureHeaders(id: string, timestampSec: number, body: Buffer, keys: readonly Buffer[] | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': String(timestampSec) };
  if (keys && keys.length > 0) headers['webhook-signature'] = keys.map((k) => sign(k, id, timestampSec, body)).join(' ');
  return headers;
}
