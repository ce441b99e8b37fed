/**
 * Webhook body formats. Every format is a pure function of the alerts; a batch body is one request.
 *
 * | format       | body                                             | content type           |
 * |--------------|--------------------------------------------------|------------------------|
 * | `ocsf`       | one OCSF finding per line (NDJSON)               | `application/x-ndjson` |
 * | `splunk-hec` | HEC envelopes concatenated (`{…}{…}`, no array)  | `application/json`     |
 * | `ecs`        | one ECS document per line (NDJSON)               | `application/x-ndjson` |
 */
import type { Alert } from '../../core/alert.ts';
import { toEcs, validateEcs } from './ecs.ts';
import { validateOcsf } from './ocsf.ts';
import { parseHecBatch, toSplunkHec, validateSplunkHec } from './splunk-hec.ts';

export const WEBHOOK_FORMATS = ['ocsf', 'splunk-hec', 'ecs'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface FormatOptions {
  /** Splunk index for HEC envelopes (default: the token's default index) */
  splunkIndex?: string;
}

export interface EncodedBody {
  body: Buffer;
  contentType: string;
}

const NEWLINE = Buffer.from('\n');

/**
 * The request body for a batch. `alertsJson` are alerts already serialized as JSON (the outbox
 * stores them so), which `ocsf` sends as they are, byte for byte.
 *
 * @example
 * const { body, contentType } = encodeBatch('splunk-hec', [Buffer.from(JSON.stringify(alert))]);
 */
export function encodeBatch(format: WebhookFormat, alertsJson: readonly Buffer[], opts: FormatOptions = {}): EncodedBody {
  switch (format) {
    case 'ocsf': {
      const parts: Buffer[] = [];
      for (const a of alertsJson) parts.push(a, NEWLINE);
      return { body: Buffer.concat(parts), contentType: 'application/x-ndjson' };
    }
    case 'ecs':
      return { body: Buffer.from(alertsJson.map((a) => JSON.stringify(toEcs(parse(a))) + '\n').join('')), contentType: 'application/x-ndjson' };
    case 'splunk-hec':
      return { body: Buffer.from(alertsJson.map((a) => JSON.stringify(toSplunkHec(parse(a), { index: opts.splunkIndex }))).join('')), contentType: 'application/json' };
  }
}

/**
 * A batch body's documents (the receiver side of {@link encodeBatch}). Throws on a malformed body.
 *
 * @example
 * decodeBatch('ocsf', '{"class_uid":2004}\n'); // → [{ class_uid: 2004 }]
 */
export function decodeBatch(format: WebhookFormat, body: string): unknown[] {
  if (format === 'splunk-hec') return parseHecBatch(body);
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/**
 * The validator for one document of a format (empty result = valid).
 *
 * @example
 * validatorFor('ecs')(toEcs(alert)); // → []
 */
export function validatorFor(format: WebhookFormat): (doc: unknown) => string[] {
  return format === 'ocsf' ? validateOcsf : format === 'ecs' ? validateEcs : validateSplunkHec;
}

/** The OCSF finding inside a document of a format (for receivers that count findings). */
export function findingOf(format: WebhookFormat, doc: unknown): { uid?: string; fn?: string } {
  const d = doc as Record<string, any>;
  if (format === 'ocsf') return { uid: d?.finding_info?.uid, fn: d?.resources?.[0]?.name };
  if (format === 'splunk-hec') return { uid: d?.event?.finding_info?.uid, fn: d?.event?.resources?.[0]?.name };
  return { uid: d?.labels?.fnwatch_finding_uid, fn: d?.faas?.name };
}

function parse(json: Buffer): Alert {
  return JSON.parse(json.toString('utf8')) as Alert;
}

export { toEcs, validateEcs } from './ecs.ts';
export { toOcsf, validateOcsf } from './ocsf.ts';
export { parseHecBatch, toSplunkHec, validateSplunkHec } from './splunk-hec.ts';
