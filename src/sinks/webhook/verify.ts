/**
 * Receiver-side verification of Standard Webhooks signatures, for services that consume fnwatch
 * webhooks (and for fnwatch's own tests). Constant-time comparison, a ±5-minute timestamp window by
 * default, any of several signatures and any of several secrets (rotation on either side).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseSecrets } from './sign.ts';

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export interface VerifyOptions {
  /** Accepted clock difference in seconds (default 300) */
  toleranceSec?: number;
  /** Current time in ms (default Date.now()) */
  now?: number;
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  let v = bag[name];
  if (v === undefined) {
    for (const k of Object.keys(bag)) if (k.toLowerCase() === name) v = bag[k];
  }
  return Array.isArray(v) ? v.join(' ') : v;
}

/**
 * Checks a request's `webhook-id`, `webhook-timestamp` and `webhook-signature` against the raw
 * body. `secret` is `whsec_<base64>`, a raw string, a key Buffer, or a list of them. Returns the
 * message id and timestamp; throws {@link WebhookVerificationError} (never naming the secret).
 *
 * @example
 * const { id } = verifyWebhook(req.headers, rawBody, process.env.FNWATCH_WEBHOOK_SECRET!);
 * if (seen.has(id)) return res.writeHead(200).end(); // a retry of a message already processed
 */
export function verifyWebhook(
  headers: HeaderBag,
  rawBody: Buffer | string,
  secret: string | Buffer | ReadonlyArray<string | Buffer>,
  opts: VerifyOptions = {},
): { id: string; timestamp: number } {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !ts || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,12}$/.test(ts)) throw new WebhookVerificationError('webhook-timestamp is not Unix seconds');
  const timestamp = Number(ts);
  const tolerance = opts.toleranceSec ?? 300;
  const nowSec = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - timestamp) > tolerance) throw new WebhookVerificationError(`webhook-timestamp is ${nowSec - timestamp} s from now, outside ±${tolerance} s`);

  const keys = (Array.isArray(secret) ? secret : [secret]).flatMap((s: string | Buffer) => (typeof s === 'string' ? parseSecrets(s, 'secret') : [s]));
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : rawBody;
  const expected = keys.map((k) => createHmac('sha256', k).update(`${id}.${timestamp}.`).update(body).digest());
  for (const versioned of signatures.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(versioned.slice(comma + 1), 'base64');
    for (const e of expected) if (given.length === e.length && timingSafeEqual(given, e)) return { id, timestamp };
  }
  throw new WebhookVerificationError('no webhook-signature matches');
}
