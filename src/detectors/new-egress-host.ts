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
 * "Other functions use it" counts only established uses ({@link establishedPeers}): a function that
 * began using the destination during its own learning period, or one that began later while new
 * destinations were still ordinary for it and without this detector flagging that use
 * ({@link lateUseVouches}). A busy function with a settled
 * repertoire that starts reaching a host after learning has done something that was news, not
 * something that makes the host ordinary: the drop host of one compromised function must not
 * shield the next function that sends data there.
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
    if (!obs.isNew) return duringSurge(ev.time, hostPort, undefined, p, ctx);
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
    const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
    // The fleet notes this function's first sighting after detection: it is not among the users yet.
    const peers = establishedPeers(hostPort, p, ctx, k);
    const latePeers = (ctx.fleet?.egressUsers(hostPort) ?? 0) - peers;
    const discovery = p.egress.discoveryRate();
    const rawIp = IPV4.test(ev.host) || ev.host.includes(':');
    if (!knownBad && !rawIp && !surprising(discovery, peers, k)) {
      if (peers > 0) return undefined;
      return duringSurge(ev.time, hostPort, latePeers, p, ctx);
    }
    if (peers > 0) {
      reasons.push(`used by ${peers} other function${peers > 1 ? 's' : ''}`);
      if (!knownBad) severity = Severity.Low;
    }
    if (latePeers > 0) reasons.push(lateUsersReason(latePeers));
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
      extra: { host: ev.host, port: ev.port, reasons, version: p.version, peer_functions: peers, late_peer_functions: latePeers, discovery_rate: +discovery.toFixed(4) },
    };
  },
};

/**
 * A destination first seen recently, after learning, used by no other function (none established:
 * {@link establishedPeers}), reached while the function surges: a finding; otherwise nothing.
 * `latePeers`, when known, is how many other functions use it without being established peers.
 */
function duringSurge(time: number, hostPort: string, latePeers: number | undefined, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3]): ReturnType<Detector['detect']> {
  const k = detectorParams(ctx.pack, 'new-egress-host', DEFAULTS);
  const surge = surgeOf(p);
  if (!rateSurge(surge, k)) return undefined;
  // Cheap checks first: the item table is only read for a function that is surging.
  const firstSeen = p.egress.items.get(hostPort)?.[0];
  if (firstSeen === undefined || time - firstSeen > k.surgeWindowMinutes * 60_000 || !p.isTrusted(firstSeen, ctx.settings)) return undefined;
  if (establishedPeers(hostPort, p, ctx, k) > 0) return undefined;
  // Past its first sighting the fleet counts this function among the users too.
  const late = latePeers ?? Math.max(0, (ctx.fleet?.egressUsers(hostPort) ?? 0) - 1);
  return surgeFinding(time, hostPort, firstSeen, surge, late, p, ctx);
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
  const pick = recentUnsharedDestination(seen, time, k.surgeWindowMinutes * 60_000, (t) => p.isTrusted(t, ctx.settings), (h) => establishedPeers(h, p, ctx, k));
  // The fleet has noted this function's use of every destination it lists.
  return pick ? surgeFinding(time, pick[0], pick[1], surge, Math.max(0, (ctx.fleet?.egressUsers(pick[0]) ?? 0) - 1), p, ctx) : undefined;
}

/**
 * Other functions whose use of `hostPort` is established ({@link FleetView.establishedEgressUsers}
 * with {@link lateUseVouches}); `p` itself is never counted.
 */
function establishedPeers(hostPort: string, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3], k: { maxDiscoveryRate: number; unseenByPeersWeight: number }): number {
  return ctx.fleet?.establishedEgressUsers(hostPort, (use) => lateUseVouches(use, k), p.fn) ?? 0;
}

/**
 * Whether a function that began using a destination after its learning period makes that
 * destination ordinary for the others: when, by its discovery rate, a destination no other function
 * used would not be news for it ({@link surprising} with no peers), i.e. it is still showing its
 * repertoire. A function whose new destinations are news (a settled repertoire: the busy API that
 * was compromised and reached the drop host) vouches for nothing.
 *
 * Judged on the late user's discovery rate just after its first use of the destination (kept by
 * the fleet, and in baseline snapshots), not as it is when asked: a rarely called function that
 * began using a SaaS API while still showing its repertoire vouched for it then, and its rate falls
 * with every later call (TUNING.md, round 5: judged "now", such a host became a stranger hours
 * later, a false alert on held-out data). Why this rule and not the age of the use (TUNING.md,
 * round 4): on the tuning sets a drop host shared by two compromised functions was first used by
 * the other one 3 to 76 hours before, while the benign late-shared hosts (SaaS APIs first reached,
 * after learning, by rarely called functions) were first used by their late peer 1.7 to 94 hours
 * before; no age separates them, and "first used before this function finished learning" fails
 * both ways. The late peer's discovery rate at its first use does, mostly: the earlier users of drop
 * hosts that were busy functions had rates of 0.001 to 0.064 (they vouch for nothing), the benign
 * late users 0.10 to 0.27 (they vouch).
 * An earlier victim that was itself rarely called (0.11 to 0.25) would still vouch by its rate, so
 * a use this detector raised a finding on (`alerted`: at its first sighting, or in the surge that
 * followed) never vouches, whatever the rate: a use that was itself news is no evidence that the
 * destination is normal (TUNING.md, round 6: the earlier theft through a rarely called function
 * was caught by the surge rule, and then shielded the next one).
 *
 * @example
 * const k = { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
 * lateUseVouches({ discovery: 0.003, alerted: false }, k); // false: a busy API, settled
 * lateUseVouches({ discovery: 0.25, alerted: false }, k);  // true: still discovering
 * lateUseVouches({ discovery: 0.25, alerted: true }, k);   // false: that use was itself flagged
 */
export function lateUseVouches(use: { discovery: number; alerted: boolean }, k: { maxDiscoveryRate: number; unseenByPeersWeight: number }): boolean {
  return !use.alerted && !surprising(use.discovery, 0, k);
}

function lateUsersReason(n: number): string {
  return `also reached by ${n} other function${n > 1 ? 's' : ''} only since after ${n > 1 ? 'their' : 'its'} learning period (not an established peer)`;
}

/**
 * Of a function's destinations with their first-seen times, the most recently first-seen one that
 * was first seen within `windowMs` before `time`, after learning (`trusted`), and that no other
 * function uses. `peers` is the number of other functions with an established use of a destination
 * (not counting this one).
 *
 * @example
 * recentUnsharedDestination([['api.stripe.com:443', 0], ['drop.example.io:443', 3_000_000]], 3_600_000, 3_600_000, () => true, () => 0);
 * // ['drop.example.io:443', 3_000_000]
 */
export function recentUnsharedDestination(
  seen: Iterable<readonly [string, number]>,
  time: number,
  windowMs: number,
  trusted: (firstSeen: number) => boolean,
  peers: (hostPort: string) => number,
): [string, number] | undefined {
  let pick: [string, number] | undefined;
  for (const [hostPort, firstSeen] of seen) {
    if (time - firstSeen > windowMs || firstSeen > time || (pick && firstSeen <= pick[1])) continue;
    if (!trusted(firstSeen) || peers(hostPort) > 0) continue;
    pick = [hostPort, firstSeen];
  }
  return pick;
}

function surgeFinding(time: number, hostPort: string, firstSeen: number, surge: Surge, latePeers: number, p: FunctionProfile, ctx: Parameters<Detector['detect']>[3]): NonNullable<ReturnType<Detector['detect']>> {
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
      `${p.fn.name} reached ${hostPort}, first seen for it ${num((time - firstSeen) / 60_000)} min ago and used by no other function${latePeers > 0 ? ' as an established peer' : ''}, ` +
      `while running ${num(surge.count)} invocations in the last hour against ${num(expected)} expected` +
      (latePeers > 0 ? `; ${lateUsersReason(latePeers)}` : '') +
      `; known destinations: ${known.length ? known.join(', ') : 'none'}` +
      afterDeployNote(p, time, ctx) + '.',
    measures: [
      { parameter: 'egress_host', observed: hostPort, baseline: `${p.egress.size - 1} known`, type: 'Frequency', pattern: 'UNSEEN' },
      { parameter: 'invocations_per_hour', observed: surge.count, baseline: +expected.toFixed(2), type: 'Frequency', pattern: 'SURGE' },
    ],
    evidences: [{ dst_endpoint: { hostname: hostPort.replace(/:\d+$/, '') } }],
    extra: {
      reasons: ['first seen during an invocation surge', 'used by no other function', ...(latePeers > 0 ? [lateUsersReason(latePeers)] : [])],
      version: p.version,
      peer_functions: 0,
      late_peer_functions: latePeers,
      discovery_rate: +p.egress.discoveryRate().toFixed(4),
      first_seen: firstSeen,
    },
  };
}

/** Rounding allowance of {@link surprising}'s comparison: far below any difference that means something. */
const RELATIVE_TOLERANCE = 1e-9;

/**
 * Whether a novelty is news: the function's discovery rate, weighted by how ordinary the item is in
 * the fleet, is at most `maxDiscoveryRate`.
 *
 * @example
 * surprising(0.15, 0, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // false: still learning
 * surprising(0.05, 0, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // true: unseen anywhere
 * surprising(0.05, 3, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // false: peers use it
 * surprising(3 / 30, 0, { maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 }); // true: 0.1 × 0.2 is at most 0.02
 */
export function surprising(discovery: number, peers: number, k: { maxDiscoveryRate: number; unseenByPeersWeight: number }): boolean {
  // "At most" as in exact arithmetic: a discovery rate of 3/30 under the 0.2 weight is 0.02, which
  // binary floating point computes as 0.020000000000000004 (and 0.02 / 0.2 as 0.09999999999999999).
  return discovery * (peers > 0 ? 1 : k.unseenByPeersWeight) <= k.maxDiscoveryRate * (1 + RELATIVE_TOLERANCE);
}
