/**
 * new-egress-host: a host:port never seen for this function after its learning period. Known-bad
 * shapes weigh more: the instance metadata service, raw IP addresses, mining-pool ports and names.
 *
 * Novelty is only news once the function has shown its repertoire. Its Good-Turing discovery rate
 * (the chance that the next connection goes somewhere new) says how far it has: near 0 for a busy
 * function, high for one called a few times a day. A new destination is surprising when
 * discovery × prior ≤ `maxDiscoveryRate`, where the prior that it is just more repertoire is 1 when
 * other functions in the fleet use it and `unseenByPeersWeight` when none does (see
 * {@link surprising}). Known-bad destinations and raw IPs alert regardless.
 */
import { Severity } from '../core/alert.ts';
import { detectorParams, globMatch } from './pack.ts';
import type { Detector } from './types.ts';
import { afterDeployNote } from './deploy-note.ts';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const DEFAULTS = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };

export const newEgressHost: Detector = {
  id: 'new-egress-host',
  handles: ['egress'],
  detect(ev, obs, p, ctx) {
    if (ev.kind !== 'egress' || !obs.isNew || !p.isTrusted(ev.time, ctx.settings)) return undefined;
    const bad = ctx.pack.knownBadEgress;
    const hostPort = ev.port !== undefined ? `${ev.host}:${ev.port}` : ev.host;
    const reasons: string[] = [];
    let severity: number = Severity.Medium;
    if (bad.metadataHosts.includes(ev.host)) {
      reasons.push('the instance metadata service (credential theft)');
      severity = Severity.Critical;
    }
    if (ev.port !== undefined && bad.miningPorts.includes(ev.port)) {
      reasons.push(`a mining-pool port (${ev.port})`);
      severity = Severity.Critical;
    }
    if (bad.miningHostPatterns.some((g) => globMatch(g, ev.host))) {
      reasons.push('a mining-pool-like name');
      severity = Severity.Critical;
    }
    const knownBad = severity === Severity.Critical;
    const peers = ctx.fleet?.egressUsers(hostPort) ?? 0;
    const discovery = p.egress.discoveryRate();
    const rawIp = IPV4.test(ev.host) || ev.host.includes(':');
    if (!knownBad && !rawIp && !surprising(discovery, peers, detectorParams(ctx.pack, 'new-egress-host', DEFAULTS))) return undefined;
    if (peers > 0) {
      reasons.push(`used by ${peers} other function${peers > 1 ? 's' : ''}`);
      if (!knownBad) severity = Severity.Low;
    }
    if (rawIp) {
      reasons.push('a raw IP address (no DNS name)');
      if (severity < Severity.High) severity = Severity.High;
    }
    const known = [...p.egress.keys()].slice(0, 5);
    return {
      kind: 'new-egress-host',
      object: hostPort,
      time: ev.time,
      start: ev.time,
      severity,
      analyticType: 2,
      title: 'New egress destination',
      desc:
        `${p.fn.name} connected to ${hostPort}${ev.protocol ? ` (${ev.protocol})` : ''}, never seen for it before` +
        (reasons.length ? `: ${reasons.join(', ')}` : '') +
        `; known destinations: ${known.length ? known.join(', ') : 'none'}${p.egress.size > 5 ? ` and ${p.egress.size - 5} more` : ''}` +
        afterDeployNote(p, ev.time, ctx) + '.',
      measures: [{ parameter: 'egress_host', observed: hostPort, baseline: `${p.egress.size} known`, type: 'Frequency', pattern: 'UNSEEN' }],
      evidences: [{ dst_endpoint: { hostname: ev.host, port: ev.port }, data: { via: ev.via, protocol: ev.protocol } }],
      extra: { host: ev.host, port: ev.port, reasons, version: p.version, peer_functions: peers, discovery_rate: +discovery.toFixed(4) },
    };
  },
};

/**
 * Whether a novelty is news: the function's discovery rate, weighted by how ordinary the item is in
 * the fleet, is at most `maxDiscoveryRate`.
 *
 * @example
 * surprising(0.15, 0, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // false: still learning
 * surprising(0.05, 0, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // true: unseen anywhere
 * surprising(0.05, 3, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // false: peers use it
 */
export function surprising(discovery: number, peers: number, k: { maxDiscoveryRate: number; unseenByPeersWeight: number }): boolean {
  return discovery * (peers > 0 ? 1 : k.unseenByPeersWeight) <= k.maxDiscoveryRate;
}
