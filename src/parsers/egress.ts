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
  const host = rec.host;
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) return { ok: false, detail: 'egress record host is not a host name' };
  const port = rec.port;
  if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return { ok: false, detail: 'egress record port is not a port number' };
  }
  const proto = rec.proto;
  if (proto !== undefined && typeof proto !== 'string') return { ok: false, detail: 'egress record proto is not a string' };
  const event: EgressEvent = { kind: 'egress', time, fn, id, host: normaliseHost(host), via: 'instrumentation' };
  if (port !== undefined) event.port = port;
  if (proto !== undefined) event.protocol = proto;
  return { ok: true, event };
}
