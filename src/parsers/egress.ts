/**
 * Egress lines written by fnwatch's in-function instrumentation (src/instrument/egress.cjs):
 * `{"fnwatch":"egress","host":"api.stripe.com","port":443,"proto":"tls"}`.
 */
import type { EgressEvent, FunctionRef } from '../core/events.ts';
import { normaliseHost } from './network.ts';

/** Result of reading an egress record: an event, or the reason it is malformed. */
export type EgressOutcome = { ok: true; event: EgressEvent } | { ok: false; detail: string };

/** How every instrumentation record starts: the hook always writes the `fnwatch` key first. */
export const EGRESS_PREFIX = '{"fnwatch":';
/** The same prefix inside a JSON string (a JSON-format app record's `message`). */
export const EGRESS_PREFIX_ESCAPED = '"{\\"fnwatch\\":';

/**
 * True if `message` has an instrumentation record at `start`. A prefix test, not a search: it runs on
 * every app line, and a search through long lines would cost as much as decoding them.
 *
 * @example
 * looksLikeEgress('{"fnwatch":"egress","host":"a.b","port":443,"proto":"tcp"}', 0); // → true
 */
export function looksLikeEgress(message: string, start: number): boolean {
  return message.startsWith(EGRESS_PREFIX, start);
}

/**
 * An instrumentation record object → EgressEvent.
 *
 * @example
 * egressFromRecord({ fnwatch: 'egress', host: 'API.example.com.', port: 443, proto: 'tls' }, fn, 1700000000000, 'id-1');
 * // → { ok: true, event: { kind: 'egress', host: 'api.example.com', port: 443, protocol: 'tls', via: 'instrumentation', … } }
 */
export function egressFromRecord(rec: Record<string, unknown>, fn: FunctionRef, time: number, id: string | undefined): EgressOutcome {
  return egressFromFields(rec.host, rec.port, rec.proto, fn, time, id);
}

/**
 * The record's fields (as JSON.parse or {@link scanEgress} read them) → EgressEvent, validated.
 *
 * @example
 * egressFromFields('api.example.com', 443, 'tls', fn, 1700000000000, 'id-1'); // → { ok: true, event: { kind: 'egress', … } }
 * egressFromFields('', 443, 'tls', fn, 1700000000000, 'id-1');                // → { ok: false, detail: 'egress record host is not a host name' }
 */
export function egressFromFields(host: unknown, port: unknown, proto: unknown, fn: FunctionRef, time: number, id: string | undefined): EgressOutcome {
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) return { ok: false, detail: 'egress record host is not a host name' };
  if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return { ok: false, detail: 'egress record port is not a port number' };
  }
  if (proto !== undefined && typeof proto !== 'string') return { ok: false, detail: 'egress record proto is not a string' };
  const event: EgressEvent = { kind: 'egress', time, fn, id, host: normaliseHost(host), via: 'instrumentation' };
  if (port !== undefined) event.port = port;
  if (proto !== undefined) event.protocol = proto;
  return { ok: true, event };
}

/** Fields of the last successful {@link scanEgress} (module state: the scan allocates nothing but the two strings). */
export const scannedEgress = { host: '', port: 0, proto: '', end: 0 };

/** The hook's record as JSON text, cut where its values go. */
const RAW = { head: '{"fnwatch":"egress","host":"', port: '","port":', proto: ',"proto":"', tail: '"}' };
/** The same inside a JSON string (quotes escaped, the string's own quotes included). */
const ESCAPED = { head: '"{\\"fnwatch\\":\\"egress\\",\\"host\\":\\"', port: '\\",\\"port\\":', proto: ',\\"proto\\":\\"', tail: '\\"}"' };

/**
 * Reads an instrumentation record written exactly as the hook writes it,
 * `{"fnwatch":"egress","host":"H","port":P,"proto":"T"}`, at `start` of `m`: as JSON text (`escaped`
 * false: a text-format app line) or as a JSON string holding it (`escaped` true: the `message` of a
 * JSON-format app record, `"{\"fnwatch\":…}"`, its quotes included). True, with the values in
 * {@link scannedEgress} and `end` the index after the record, only when JSON.parse would read exactly
 * these values: strings free of backslashes and control characters, the port a JSON integer. Any
 * other form (key order, spacing, escapes, extra keys) returns false; the caller then parses the
 * record, which stays the reference.
 *
 * @example
 * scanEgress('{"fnwatch":"egress","host":"api.stripe.com","port":443,"proto":"tls"}\n', 0, false); // → true
 * scannedEgress.host; // → 'api.stripe.com'
 */
export function scanEgress(m: string, start: number, escaped: boolean): boolean {
  const form = escaped ? ESCAPED : RAW;
  if (!m.startsWith(form.head, start)) return false;
  let i = start + form.head.length;
  const hostEnd = plainValueEnd(m, i, form.port);
  if (hostEnd === -1) return false;
  const host = m.slice(i, hostEnd);
  i = hostEnd + form.port.length;
  // A JSON integer: no sign, no leading zero, no fraction or exponent (a port has at most 5 digits).
  const digitsFrom = i;
  let port = 0;
  let c = m.charCodeAt(i);
  while (c >= 0x30 && c <= 0x39 && i - digitsFrom < 6) {
    port = port * 10 + (c - 0x30);
    c = m.charCodeAt(++i);
  }
  const digits = i - digitsFrom;
  if (digits === 0 || digits > 5 || (digits > 1 && m.charCodeAt(digitsFrom) === 0x30)) return false;
  if (!m.startsWith(form.proto, i)) return false;
  i += form.proto.length;
  const protoEnd = plainValueEnd(m, i, form.tail);
  if (protoEnd === -1) return false;
  scannedEgress.host = host;
  scannedEgress.port = port;
  scannedEgress.proto = m.slice(i, protoEnd);
  scannedEgress.end = protoEnd + form.tail.length;
  return true;
}

/**
 * End of a string value starting at `i` that `next` follows (`next` starts with the value's closing
 * quote, escaped or not), or -1 when the value before it has a backslash, a quote or a control
 * character: then its raw text is not its value (or the value ends elsewhere).
 */
function plainValueEnd(m: string, i: number, next: string): number {
  const quote = m.indexOf('"', i);
  if (quote === -1) return -1;
  const end = next.charCodeAt(0) === 0x5c /* \ */ ? quote - 1 : quote;
  if (end < i || !m.startsWith(next, end)) return -1;
  for (let k = i; k < end; k++) {
    const c = m.charCodeAt(k);
    if (c < 0x20 || c === 0x5c) return -1;
  }
  return end;
}
