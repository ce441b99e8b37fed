/**
 * new-egress-host: a host:port never seen for this function after its learning period. Known-bad
 * shapes weigh more: the instance metadata service, raw IP addresses, mining-pool ports and names.
 */
import { Severity } from '../core/alert.ts';
import { globMatch } from './pack.ts';
import type { Detector } from './types.ts';
import { afterDeployNote } from './deploy-note.ts';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

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
    if (IPV4.test(ev.host) || ev.host.includes(':')) {
      reasons.push('a raw IP address (no DNS name)');
      if (severity < Severity.High) severity = Severity.High;
    }
    const known = [...p.egress.items.keys()].slice(0, 5);
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
      extra: { host: ev.host, port: ev.port, reasons, version: p.version },
    };
  },
};
