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
 *
 * A rarely called function is never far along its repertoire, so a destination it had never used
 * is also news when the function is at the same time running far above its own rate: a destination
 * first seen within the last `surgeWindowMinutes`, used by no other function, while the last 60
 * minutes hold at least `surgeMinCount` invocations and `surgeRatio` times the expectation (and a
 * count the Poisson model puts below 10^`surgeLog10p`). That is what data theft through a quiet
 * function looks like: the attacker's calls are the surge, and each reaches the drop host. It is
 * judged on every connection to such a destination, not only the first, because the surge builds
 * up after the first attacker call. It is judged on invocations too (when `surgeRecheck` is 1): a
 * short theft may reach the drop host only before its calls add up to a surge (egress is logged once
 * per environment per few minutes), so the invocation that reveals the surge looks back at the
 * destinations first seen within the window (see {@link recentUnsharedDestination}).
 */
import { Severity } from '../core/alert.ts';
import type { FunctionProfile } from '../profiler/profile.ts';
import { log10p, poissonLogTail } from '../profiler/stats.ts';
import { num } from './cost.ts';
import { detectorParams, globMatch } from './pack.ts';
import type { Detector } from './types.ts';
import { afterDeployNote } from './deploy-note.ts';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const DEFAULTS = {
  maxDiscoveryRate: 0.02,
  unseenByPeersWeight: 0.2,
  surgeWindowMinutes: 60,
  surgeMinCount: 10,
  surgeRatio: 5,
  surgeLog10p: -6,
  minExpectedPerHour: 0.5,
  surgeRecheck: 1,
};

/** Invocations in the last 60 minutes against the function's expectation for them. */
export interface Surge {
  count: number;
  expected: number;
}

/**
 * Whether the function runs far above its rate: at least `surgeMinCount` invocations in the last
 * 60 minutes, `surgeRatio` times the expectation (the hour's forecast or the mean rate, whichever
 * is higher, floored at `minExpectedPerHour`), and a Poisson tail at most 10^`surgeLog10p`.
 *
 * @example
 * rateSurge({ count: 30, expected: 0.4 }, { surgeMinCount: 10, surgeRatio: 5, surgeLog10p: -6, minExpectedPerHour: 0.5 }); // true
 * rateSurge({ count: 30, expected: 12 }, { surgeMinCount: 10, surgeRatio: 5, surgeLog10p: -6, minExpectedPerHour: 0.5 }); // false
 */
export function rateSurge(s: Surge, k: { surgeMinCount: number; surgeRatio: number; surgeLog10p: number; minExpectedPerHour: number }): boolean {
  const expected = Math.max(s.expected, k.minExpectedPerHour);
  return s.count >= k.surgeMinCount && s.count >= k.surgeRatio * expected && log10p(poissonLogTail(s.count, expected)) <= k.surgeLog10p;
}

function surgeOf(p: FunctionProfile): Surge {
  const r = p.rate;
  return { count: r.lastHourCount, expected: Math.max(r.expectedForHour(r.curHour), r.meanPerHour()) };
}

export const newEgressHost: Detector = {
  id: 'new-egress-host',
  handles: ['egress', 'invocation'],
  detect(ev, obs, p, ctx) {
    if (ev.kind === 'invocation') return surgeOnInvocation(ev.time, p, ctx);
    if (ev.kind !== 'egress' || !p.isTrusted(ev.time, ctx.settings)) return undefined;
    const hostPort = ev.port !== undefined ? `${ev.host}:${ev.port}` : ev.host;
    if (!obs.isNew) return duringSurge(ev.time, hostPort, false, p, ctx);
    const bad = ctx.pack.knownBadEgress;
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
    const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
    if (!knownBad && !rawIp && !surprising(discovery, peers, k)) {
      if (peers > 0) return undefined;
      return duringSurge(ev.time, hostPort, true, p, ctx);
    }
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
 * A destination first seen recently, after learning, used by no other function, reached while the
 * function surges: a finding; otherwise nothing.
 */
function duringSurge(time: number, hostPort: string, firstSighting: boolean, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3]): ReturnType<Detector['detect']> {
  const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
  const surge = surgeOf(p);
  if (!rateSurge(surge, k)) return undefined;
  // Cheap checks first: the item table is only read for a function that is surging.
  const firstSeen = p.egress.items.get(hostPort)?.[0];
  if (firstSeen === undefined || time - firstSeen > k.surgeWindowMinutes * 60_000 || !p.isTrusted(firstSeen, ctx.settings)) return undefined;
  // The fleet notes each function's first sighting after detection: past it, this function counts too.
  const users = ctx.fleet?.egressUsers(hostPort) ?? 0;
  if (users - (firstSighting ? 0 : 1) > 0) return undefined;
  return surgeFinding(time, hostPort, firstSeen, surge, p, ctx);
}

/**
 * On an invocation: when the function surges, the most recently first-seen destination that
 * {@link recentUnsharedDestination} picks becomes a finding (repeats fold into one alert in the
 * scorer, which keeps one open alert per destination); otherwise nothing.
 */
function surgeOnInvocation(time: number, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3]): ReturnType<Detector['detect']> {
  const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
  // Cheapest checks first: this runs on every invocation of every function.
  if (k.surgeRecheck !== 1 || p.rate.lastHourCount < k.surgeMinCount || p.egress.size === 0 || !p.isTrusted(time, ctx.settings)) return undefined;
  const surge = surgeOf(p);
  if (!rateSurge(surge, k)) return undefined;
  const seen: [string, number][] = [];
  for (const [hostPort, entry] of p.egress.items) seen.push([hostPort, entry[0]]);
  const pick = recentUnsharedDestination(seen, time, k.surgeWindowMinutes * 60_000, (t) => p.isTrusted(t, ctx.settings), (h) => ctx.fleet?.egressUsers(h) ?? 0);
  return pick ? surgeFinding(time, pick[0], pick[1], surge, p, ctx) : undefined;
}

/**
 * Of a function's destinations with their first-seen times, the most recently first-seen one that
 * was first seen within `windowMs` before `time`, after learning (`trusted`), and that no other
 * function uses. `users` is the fleet's count of functions using a destination; it includes this
 * function, which has already been seen using every destination in the list.
 *
 * @example
 * recentUnsharedDestination([['api.stripe.com:443', 0], ['drop.example.io:443', 3_000_000]], 3_600_000, 3_600_000, () => true, () => 1);
 * // ['drop.example.io:443', 3_000_000]
 */
export function recentUnsharedDestination(
  seen: Iterable<readonly [string, number]>,
  time: number,
  windowMs: number,
  trusted: (firstSeen: number) => boolean,
  users: (hostPort: string) => number,
): [string, number] | undefined {
  let pick: [string, number] | undefined;
  for (const [hostPort, firstSeen] of seen) {
    if (time - firstSeen > windowMs || firstSeen > time || (pick && firstSeen <= pick[1])) continue;
    if (!trusted(firstSeen) || users(hostPort) > 1) continue;
    pick = [hostPort, firstSeen];
  }
  return pick;
}

function surgeFinding(time: number, hostPort: string, firstSeen: number, surge: Surge, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3]): NonNullable<ReturnType<Detector['detect']>> {
  const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
  const known = [...p.egress.keys()].filter((h) => h !== hostPort).slice(0, 5);
  const expected = Math.max(surge.expected, k.minExpectedPerHour);
  return {
    kind: 'new-egress-host',
    object: hostPort,
    time,
    start: firstSeen,
    severity: Severity.Medium,
    analyticType: 2,
    title: 'New egress destination during an invocation surge',
    desc:
      `${p.fn.name} reached ${hostPort}, first seen for it ${num((time - firstSeen) / 60_000)} min ago and used by no other function, ` +
      `while running ${num(surge.count)} invocations in the last hour against ${num(expected)} expected` +
      `; known destinations: ${known.length ? known.join(', ') : 'none'}` +
      afterDeployNote(p, time, ctx) + '.',
    measures: [
      { parameter: 'egress_host', observed: hostPort, baseline: `${p.egress.size - 1} known`, type: 'Frequency', pattern: 'UNSEEN' },
      { parameter: 'invocations_per_hour', observed: surge.count, baseline: +expected.toFixed(2), type: 'Frequency', pattern: 'SURGE' },
    ],
    evidences: [{ dst_endpoint: { hostname: hostPort.replace(/:\d+$/, '') } }],
    extra: { reasons: ['first seen during an invocation surge', 'used by no other function'], version: p.version, peer_functions: 0, discovery_rate: +p.egress.discoveryRate().toFixed(4), first_seen: firstSeen },
  };
}

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
