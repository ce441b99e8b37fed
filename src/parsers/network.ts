/**
 * VPC Flow Logs and Route 53 Resolver query logs delivered to CloudWatch Logs → egress events.
 * Neither names a function, only an interface (ENI id, private IP), so events are attributed through
 * the user's network map; see /work/shared/reference/egress.md §3–4.
 */
import type { EgressEvent, FunctionRef } from '../core/events.ts';
import { GenerationalMap } from './bounded.ts';

/** The default (version 2) flow-log format. */
export const DEFAULT_FLOW_LOG_FORMAT =
  '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';

/** ENI id / private IP → function names. Security groups are not in either record format (see README). */
export interface NetworkMap {
  eni?: Record<string, string[]>;
  ip?: Record<string, string[]>;
  securityGroup?: Record<string, string[]>;
}

/** What a network line turned into. */
export type NetworkOutcome =
  | { ok: true; events: EgressEvent[]; ignored?: undefined }
  | { ok: true; events?: undefined; ignored: string }
  | { ok: false; reason: 'bad-record' | 'bad-field'; detail: string };

const IANA_PROTOCOLS: Record<string, string> = {
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
  '58': 'icmpv6',
  '132': 'sctp',
};

function toLookup(rec: Record<string, string[]> | undefined): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  if (rec) for (const [k, v] of Object.entries(rec)) if (Array.isArray(v) && v.length > 0) m.set(k, v.filter((x) => typeof x === 'string'));
  return m;
}

/**
 * Field positions of a flow-log format string (`${version} ${account-id} …`).
 *
 * @example
 * const f = FlowLogFormat.parse(DEFAULT_FLOW_LOG_FORMAT);
 * f.index('dstaddr'); // → 4
 */
export class FlowLogFormat {
  private constructor(
    readonly fields: readonly string[],
    readonly version: number,
    readonly interfaceId: number,
    readonly srcaddr: number,
    readonly dstaddr: number,
    readonly srcport: number,
    readonly dstport: number,
    readonly protocol: number,
    readonly bytes: number,
    readonly start: number,
    readonly action: number,
    readonly logStatus: number,
    readonly accountId: number,
    readonly region: number,
    readonly pktSrcaddr: number,
    readonly flowDirection: number,
  ) {}

  static parse(format: string): FlowLogFormat {
    const fields = format.trim().split(/\s+/).map((f) => {
      const m = /^\$\{([a-z0-9-]+)\}$/.exec(f);
      if (!m) throw new Error(`flow-log format field ${JSON.stringify(f)} is not of the form \${name}`);
      return m[1];
    });
    const at = (name: string) => fields.indexOf(name);
    for (const required of ['interface-id', 'srcaddr', 'dstaddr', 'action', 'log-status']) {
      if (at(required) === -1) throw new Error(`flow-log format lacks \${${required}}, needed for egress attribution`);
    }
    return new FlowLogFormat(
      fields,
      at('version'),
      at('interface-id'),
      at('srcaddr'),
      at('dstaddr'),
      at('srcport'),
      at('dstport'),
      at('protocol'),
      at('bytes'),
      at('start'),
      at('action'),
      at('log-status'),
      at('account-id'),
      at('region'),
      at('pkt-srcaddr'),
      at('flow-direction'),
    );
  }

  index(name: string): number {
    return this.fields.indexOf(name);
  }
}

function dash(v: string | undefined): string | undefined {
  return v === undefined || v === '-' || v === '' ? undefined : v;
}

/** Context for attribution: where the line came from. */
export interface NetworkLineContext {
  time: number;
  owner?: string;
  region?: string;
  id?: string;
}

/**
 * Parses flow-log lines and resolver query records, attributing them through a {@link NetworkMap}.
 *
 * @example
 * const net = new NetworkParser({ eni: { 'eni-0a1b': ['orders-api'] } }, DEFAULT_FLOW_LOG_FORMAT, 'us-east-1');
 * net.flow('2 111111111111 eni-0a1b 10.0.1.5 52.94.1.1 40000 443 6 10 840 1700000000 1700000060 ACCEPT OK', ctx);
 * // → { ok: true, events: [{ kind: 'egress', host: '52.94.1.1', port: 443, protocol: 'tcp', via: 'flow', … }] }
 */
export class NetworkParser {
  private readonly eni: Map<string, readonly string[]>;
  private readonly ip: Map<string, readonly string[]>;
  readonly format: FlowLogFormat;
  /** Private IPs learned from outbound records, per ENI, to recognise the reply leg later. */
  private readonly eniAddress = new GenerationalMap<string, string>(10_000);

  constructor(map: NetworkMap | undefined, flowLogFormat: string | undefined, private readonly region?: string) {
    this.eni = toLookup(map?.eni);
    this.ip = toLookup(map?.ip);
    this.format = FlowLogFormat.parse(flowLogFormat ?? DEFAULT_FLOW_LOG_FORMAT);
  }

  /**
   * True when `line` has the shape of a flow-log data line in the configured format (field count,
   * an `eni-` interface), for content detection outside the configured flow-log groups.
   */
  looksLikeFlow(line: string): boolean {
    const f = this.format;
    let count = 1;
    for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) === 0x20) count++;
    if (count !== f.fields.length) return false;
    const parts = line.split(' ');
    return parts[f.interfaceId].startsWith('eni-') || parts[f.logStatus] === 'NODATA' || parts[f.logStatus] === 'SKIPDATA';
  }

  flow(line: string, ctx: NetworkLineContext): NetworkOutcome {
    const f = this.format;
    const parts = line.trimEnd().split(' ');
    if (parts.length !== f.fields.length) {
      if (parts[0] === 'version' || line.startsWith('${')) return { ok: true, ignored: 'flow-header' };
      return { ok: false, reason: 'bad-record', detail: `flow-log line has ${parts.length} fields, format has ${f.fields.length}` };
    }
    const status = parts[f.logStatus];
    if (status === 'NODATA') return { ok: true, ignored: 'flow-nodata' };
    if (status === 'SKIPDATA') return { ok: true, ignored: 'flow-skipdata' };
    const action = parts[f.action];
    if (action !== 'ACCEPT' && action !== 'REJECT') {
      return { ok: false, reason: 'bad-field', detail: `flow-log action ${JSON.stringify(action).slice(0, 40)} is not ACCEPT/REJECT` };
    }
    if (f.flowDirection !== -1 && parts[f.flowDirection] === 'ingress') return { ok: true, ignored: 'flow-ingress' };
    const src = parts[f.srcaddr];
    const dst = parts[f.dstaddr];
    const srcPort = f.srcport === -1 ? undefined : Number(parts[f.srcport]);
    const dstPort = f.dstport === -1 ? undefined : Number(parts[f.dstport]);
    // Lambda's Hyperplane ENIs only carry outbound connections (one-way NAT), so a record whose
    // destination is the function's own IP, or whose remote side holds the service port, is the reply leg.
    const eniId = parts[f.interfaceId];
    if (this.ip.has(dst) && !this.ip.has(src)) return { ok: true, ignored: 'flow-inbound' };
    if (f.flowDirection === -1 && srcPort !== undefined && dstPort !== undefined) {
      if (srcPort < 1024 && dstPort >= 1024) return { ok: true, ignored: 'flow-inbound' };
      if (srcPort >= 1024 && dstPort < 1024) this.eniAddress.set(src, eniId);
      else if (this.eniAddress.get(dst) === eniId) return { ok: true, ignored: 'flow-inbound' };
    }
    const pktSrc = f.pktSrcaddr === -1 ? undefined : dash(parts[f.pktSrcaddr]);
    const names =
      this.eni.get(eniId) ?? this.ip.get(src) ?? (pktSrc === undefined ? undefined : this.ip.get(pktSrc));
    if (names === undefined) return { ok: true, ignored: 'egress-unattributed' };

    const startSec = f.start === -1 ? NaN : Number(parts[f.start]);
    const time = Number.isFinite(startSec) ? startSec * 1000 : ctx.time;
    const proto = f.protocol === -1 ? undefined : dash(parts[f.protocol]);
    const bytes = f.bytes === -1 ? undefined : Number(parts[f.bytes]);
    const account = (f.accountId === -1 ? undefined : dash(parts[f.accountId])) ?? ctx.owner;
    const region = (f.region === -1 ? undefined : dash(parts[f.region])) ?? ctx.region ?? this.region;
    const events: EgressEvent[] = [];
    for (const name of names) {
      const fn: FunctionRef = { name, account: account === 'unknown' ? ctx.owner : account, region };
      const ev: EgressEvent = { kind: 'egress', time, fn, id: ctx.id, host: dst, via: 'flow' };
      if (dstPort !== undefined && Number.isInteger(dstPort)) ev.port = dstPort;
      if (proto !== undefined) ev.protocol = IANA_PROTOCOLS[proto] ?? proto;
      if (bytes !== undefined && Number.isFinite(bytes)) ev.bytes = bytes;
      events.push(ev);
    }
    return { ok: true, events };
  }

  /** One Route 53 Resolver query-log record (already JSON-parsed). */
  resolver(rec: Record<string, unknown>, ctx: NetworkLineContext): NetworkOutcome {
    const q = rec.query_name;
    const src = rec.srcaddr;
    if (typeof q !== 'string' || q.length === 0) return { ok: false, reason: 'bad-field', detail: 'resolver record query_name is not a string' };
    if (typeof src !== 'string') return { ok: false, reason: 'bad-field', detail: 'resolver record srcaddr is not a string' };
    const names = this.ip.get(src);
    if (names === undefined) return { ok: true, ignored: 'egress-unattributed' };
    const parsed = typeof rec.query_timestamp === 'string' ? Date.parse(rec.query_timestamp) : NaN;
    const time = Number.isNaN(parsed) ? ctx.time : parsed;
    const host = normaliseHost(q);
    const account = typeof rec.account_id === 'string' ? rec.account_id : ctx.owner;
    const region = typeof rec.region === 'string' ? rec.region : (ctx.region ?? this.region);
    const events: EgressEvent[] = [];
    for (const name of names) {
      events.push({ kind: 'egress', time, fn: { name, account, region }, id: ctx.id, host, protocol: 'dns', via: 'resolver' });
    }
    return { ok: true, events };
  }
}

/**
 * Host names compare case-insensitively and DNS names may carry the root's trailing dot.
 *
 * @example
 * normaliseHost('API.Stripe.com.'); // → 'api.stripe.com'
 */
export function normaliseHost(host: string): string {
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  return h.toLowerCase();
}
