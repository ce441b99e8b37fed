/**
 * Splunk HTTP Event Collector (`/services/collector/event`): one envelope per alert with the OCSF
 * finding as `event`. A batch is the envelopes concatenated (`{…}{…}`), not a JSON array.
 */
import { alertKind, severityName, type Alert } from '../../core/alert.ts';
import { isObject, validateOcsf } from './ocsf.ts';

export const HEC_SOURCETYPE = 'ocsf:detection_finding';

/** One HEC event envelope. */
export interface HecEvent {
  /** Epoch seconds (fractional) */
  time: number;
  /** `<account>/<region>`, `-` for an unknown part */
  host: string;
  /** `fnwatch:<kind>` */
  source: string;
  sourcetype: typeof HEC_SOURCETYPE;
  index?: string;
  event: Alert;
  /** Indexed fields: strings only */
  fields: { function: string; severity: string; kind: string };
}

/**
 * The HEC envelope for an alert.
 *
 * @example
 * toSplunkHec(alert, { index: 'security' });
 * // → { time: 1767896435.215, host: '123456789012/us-east-1', source: 'fnwatch:denial-of-wallet',
 * //     sourcetype: 'ocsf:detection_finding', index: 'security', event: alert,
 * //     fields: { function: 'orders-api', severity: 'high', kind: 'denial-of-wallet' } }
 */
export function toSplunkHec(alert: Alert, opts: { index?: string } = {}): HecEvent {
  const r = alert.resources[0];
  const account = r?.owner?.account?.uid ?? alert.metadata.tenant_uid ?? '-';
  const kind = alertKind(alert);
  return {
    time: alert.time / 1000,
    host: `${account}/${r?.region ?? '-'}`,
    source: `fnwatch:${kind}`,
    sourcetype: HEC_SOURCETYPE,
    ...(opts.index ? { index: opts.index } : {}),
    event: alert,
    fields: { function: r?.name ?? '-', severity: severityName(alert.severity_id).toLowerCase(), kind },
  };
}

/**
 * Splits a HEC batch body (concatenated JSON objects, optionally separated by whitespace) into its
 * objects. Throws on anything else, as Splunk does.
 *
 * @example
 * parseHecBatch('{"event":1}{"event":2}'); // → [{ event: 1 }, { event: 2 }]
 */
export function parseHecBatch(body: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === 0x7d) {
      depth--;
      if (depth < 0) throw new Error(`unbalanced } at offset ${i}`);
      if (depth === 0) out.push(JSON.parse(body.slice(start, i + 1)));
    } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      throw new Error(`unexpected character ${JSON.stringify(body[i])} at offset ${i} between events`);
    }
  }
  if (depth !== 0 || inString) throw new Error('truncated event at end of body');
  return out;
}

/**
 * Problems with one HEC envelope (empty when valid): `event` present and a valid OCSF finding,
 * `time` in epoch seconds, `host`/`source`/`sourcetype` strings, `fields` flat strings.
 *
 * @example
 * validateSplunkHec(toSplunkHec(alert)); // → []
 */
export function validateSplunkHec(value: unknown): string[] {
  if (!isObject(value)) return ['not a JSON object'];
  const errors: string[] = [];
  if (value.event === undefined) errors.push('event is required');
  else errors.push(...validateOcsf(value.event).map((e) => `event.${e}`));
  // Epoch ms in `time` would land events in the year 57000; seconds are below 1e11 until 5138.
  if (typeof value.time !== 'number' || !(value.time > 0 && value.time < 1e11)) errors.push('time must be epoch seconds');
  for (const k of ['host', 'source', 'sourcetype'] as const) if (typeof value[k] !== 'string') errors.push(`${k} must be a string`);
  if (value.sourcetype !== undefined && value.sourcetype !== HEC_SOURCETYPE) errors.push(`sourcetype must be ${HEC_SOURCETYPE}`);
  if (typeof value.source === 'string' && !value.source.startsWith('fnwatch:')) errors.push('source must be fnwatch:<kind>');
  if (value.fields !== undefined) {
    if (!isObject(value.fields)) errors.push('fields must be an object');
    else {
      for (const [k, f] of Object.entries(value.fields)) {
        if (typeof f !== 'string' && !(Array.isArray(f) && f.every((x) => typeof x === 'string'))) errors.push(`fields.${k} must be a string or an array of strings`);
      }
      for (const k of ['function', 'severity', 'kind']) if (typeof value.fields[k] !== 'string') errors.push(`fields.${k} is required`);
    }
  }
  return errors;
}
