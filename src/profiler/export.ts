/**
 * What users take away from a baseline: a least-privilege IAM policy built from the actions and
 * resources a function actually used, an egress allowlist, and a readable summary of what was
 * learned. Pure functions over a saved profile.
 */
import type { FunctionProfile } from './profile.ts';

export interface IamPolicy {
  Version: '2012-10-17';
  Statement: { Sid: string; Effect: 'Allow'; Action: string[]; Resource: string[] }[];
}

/** Turns a resource key from the profile into an IAM resource ARN pattern. */
function iamResource(action: string, resource: string, fn: FunctionProfile['fn']): string {
  if (resource === '*' || resource === '') return '*';
  if (resource.startsWith('arn:aws:s3:::')) {
    // Object keys are stored truncated to their first path segment: allow that prefix.
    return resource.includes('/') ? `${resource}*` : resource;
  }
  if (resource.startsWith('arn:')) return resource;
  const service = action.slice(0, action.indexOf(':'));
  const region = fn.region ?? '*';
  const account = fn.account ?? '*';
  if (service === 'secretsmanager') return `arn:aws:secretsmanager:${region}:${account}:secret:${resource}*`;
  if (service === 'ssm') return `arn:aws:ssm:${region}:${account}:parameter/${resource.replace(/^\//, '')}`;
  if (service === 'dynamodb') return `arn:aws:dynamodb:${region}:${account}:table/${resource}`;
  if (service === 'kms') return `arn:aws:kms:${region}:${account}:key/${resource}`;
  if (service === 'sqs' && resource.startsWith('https://')) {
    const m = /https:\/\/[^/]+\/(\d+)\/(.+)$/.exec(resource);
    if (m) return `arn:aws:sqs:${region}:${m[1]}:${m[2]}`;
  }
  return '*';
}

/**
 * A least-privilege policy: one statement per group of actions that share the same resources.
 * Denied calls are left out (the function was not allowed them, and should not be).
 *
 * @example
 * leastPrivilegePolicy(profile).Statement[0]; // { Sid: 'S3Read1', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::orders/2024*'] }
 */
export function leastPrivilegePolicy(p: FunctionProfile): IamPolicy {
  const byAction = new Map<string, Set<string>>();
  for (const key of p.resources.items.keys()) {
    const sp = key.indexOf(' ');
    const action = key.slice(0, sp);
    const resource = key.slice(sp + 1);
    let set = byAction.get(action);
    if (!set) byAction.set(action, (set = new Set()));
    set.add(iamResource(action, resource, p.fn));
  }
  // Group actions with identical resource sets.
  const groups = new Map<string, { actions: string[]; resources: string[] }>();
  for (const [action, res] of [...byAction].sort(([a], [b]) => a.localeCompare(b))) {
    const resources = res.has('*') ? ['*'] : [...res].sort();
    const k = resources.join('|');
    const g = groups.get(k);
    if (g) g.actions.push(action);
    else groups.set(k, { actions: [action], resources });
  }
  let i = 0;
  const Statement = [...groups.values()].map((g) => ({
    Sid: `Observed${++i}`,
    Effect: 'Allow' as const,
    Action: g.actions,
    Resource: g.resources,
  }));
  return { Version: '2012-10-17', Statement };
}

/** The egress allowlist: host:port entries with counts and first/last seen. */
export function egressAllowlist(p: FunctionProfile): { destination: string; count: number; firstSeen: string; lastSeen: string }[] {
  return [...p.egress.items.entries()]
    .sort((a, b) => b[1][2] - a[1][2])
    .map(([destination, [first, last, count]]) => ({
      destination,
      count,
      firstSeen: new Date(first).toISOString(),
      lastSeen: new Date(last).toISOString(),
    }));
}

/** A few lines a person reads: what the baseline says about this function and how far it is trusted. */
export function describeProfile(p: FunctionProfile, learningMs: number, minDurations: number): string[] {
  const r = p.rate;
  const age = (p.lastSeen - p.firstSeen) / 3_600_000;
  const trusted = p.lastSeen - p.firstSeen >= learningMs;
  const lines = [
    `${p.fn.name}${p.fn.account ? ` (${p.fn.account}${p.fn.region ? '/' + p.fn.region : ''})` : ''}` + (p.version ? ` version ${p.version}` : ''),
    `  seen ${new Date(p.firstSeen).toISOString()} .. ${new Date(p.lastSeen).toISOString()} (${age.toFixed(1)} h); ` +
      `learning: ${trusted ? 'done' : `until ${new Date(p.firstSeen + learningMs).toISOString()}`}`,
    `  invocations ${p.invocations}, errors ${p.errors} (${p.timeouts} timeouts), cold starts ${p.coldStarts}; ` +
      `rate ~${r.meanPerHour().toFixed(2)}/hour (${r.hoursObserved} hours learned, dispersion ${r.dispersion.toFixed(1)}, busiest minute ~${r.peakMinute().toFixed(0)})`,
  ];
  if (p.durations.count > 0) {
    lines.push(
      `  duration p50 ${p.durations.quantile(0.5).toFixed(0)} ms, p95 ${p.durations.quantile(0.95).toFixed(0)} ms, p99 ${p.durations.quantile(0.99).toFixed(0)} ms ` +
        `(${p.durations.count >= minDurations ? 'trusted' : `learning: ${Math.floor(p.durations.count)}/${minDurations}`})` +
        (p.memorySizeMB ? `; memory ${p.memorySizeMB} MB` : '') +
        (p.timeoutMs ? `; timeout ~${Math.round(p.timeoutMs)} ms` : ''),
    );
  }
  lines.push(`  egress: ${p.egress.size} destinations${p.egress.overflow ? ` (+${p.egress.overflow} over the cap)` : ''}; ` +
    `API: ${p.actions.size} actions on ${p.resources.size} action/resource pairs${p.resources.overflow ? ` (+${p.resources.overflow} over the cap)` : ''}`);
  if (p.lastDeploy) lines.push(`  last deploy ${new Date(p.lastDeploy.time).toISOString()} version ${p.lastDeploy.version ?? '?'} (${p.lastDeploy.detail ?? ''})`);
  return lines;
}
