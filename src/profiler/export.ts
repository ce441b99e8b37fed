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

/**
 * CloudTrail names S3 calls by API operation; IAM names the permission, and for these operations
 * the two differ (AWS Service Authorization Reference, "API operations defined by Amazon S3").
 */
const S3_OPERATION_PERMISSION: Readonly<Record<string, string>> = {
  ListObjects: 'ListBucket',
  ListObjectsV2: 'ListBucket',
  HeadBucket: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
  ListMultipartUploads: 'ListBucketMultipartUploads',
  ListParts: 'ListMultipartUploadParts',
  ListBuckets: 'ListAllMyBuckets',
  HeadObject: 'GetObject',
  SelectObjectContent: 'GetObject',
  CopyObject: 'PutObject',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  UploadPartCopy: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  DeleteObjects: 'DeleteObject',
};

/**
 * The IAM action that allows a call recorded as `action` (`service:EventName`).
 *
 * @example
 * iamAction('s3:ListObjectsV2'); // → 's3:ListBucket'
 * iamAction('dynamodb:GetItem'); // → 'dynamodb:GetItem'
 */
export function iamAction(action: string): string {
  if (!action.startsWith('s3:')) return action;
  const permission = S3_OPERATION_PERMISSION[action.slice(3)];
  return permission ? `s3:${permission}` : action;
}

/** What an S3 permission applies to: the account (`*`), a bucket, or objects. */
function s3Scope(permission: string): 'account' | 'bucket' | 'object' {
  if (permission === 'ListAllMyBuckets') return 'account';
  if (permission.includes('Bucket')) return 'bucket';
  if (permission.includes('Object') || permission === 'AbortMultipartUpload' || permission === 'ListMultipartUploadParts') return 'object';
  // Other S3 permissions name bucket subresources (GetLifecycleConfiguration, PutEncryptionConfiguration, …).
  return 'bucket';
}

const S3_ARN = /^arn:([^:]+):s3:::([^/]+)(\/.*)?$/;

/**
 * An S3 resource for `permission`: object permissions get object ARNs (the profile keeps keys as
 * `bucket/prefix/*`, already IAM syntax: one `*` matches across `/`), bucket permissions the
 * bucket's ARN, account permissions `*`.
 */
function s3Resource(permission: string, resource: string): string {
  const m = S3_ARN.exec(resource);
  if (!m) return '*';
  const scope = s3Scope(permission);
  if (scope === 'account') return '*';
  const bucket = `arn:${m[1]}:s3:::${m[2]}`;
  if (scope === 'bucket') return bucket;
  return m[3] && m[3] !== '/' ? resource : `${bucket}/*`;
}

/** Turns a resource key from the profile into an IAM resource ARN pattern for `action` (an IAM action). */
function iamResource(action: string, resource: string, fn: FunctionProfile['fn']): string {
  if (resource === '*' || resource === '') return '*';
  if (action.startsWith('s3:')) return s3Resource(action.slice(3), resource);
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

/** One action/resource pair of a profile with how many of its calls were allowed and denied. */
export interface ObservedCall {
  action: string;
  resource: string;
  calls: number;
  denied: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * Every action/resource pair the profile holds, with its denied calls counted apart (AccessDenied
 * and the like; calls that were allowed and then failed, such as `NoSuchKey`, count as allowed).
 *
 * @example
 * observedCalls(profile).filter((c) => c.denied === c.calls); // what was only ever denied
 */
export function observedCalls(p: FunctionProfile): ObservedCall[] {
  const denied = p.denied?.items;
  const out: ObservedCall[] = [];
  for (const [key, [first, last, count]] of p.resources.items) {
    const sp = key.indexOf(' ');
    out.push({
      action: key.slice(0, sp),
      resource: key.slice(sp + 1),
      calls: count,
      denied: Math.min(count, denied?.get(key)?.[2] ?? 0),
      firstSeen: new Date(first).toISOString(),
      lastSeen: new Date(last).toISOString(),
    });
  }
  return out;
}

/**
 * The calls that were denied every time: an attacker's probing, or a permission the function lacks.
 * They are left out of {@link leastPrivilegePolicy} and listed here, most denied first.
 *
 * @example
 * deniedCalls(profile); // [{ action: 'iam:ListUsers', resource: '*', calls: 3, denied: 3, … }]
 */
export function deniedCalls(p: FunctionProfile): ObservedCall[] {
  return observedCalls(p)
    .filter((c) => c.denied === c.calls)
    .sort((a, b) => b.denied - a.denied || a.action.localeCompare(b.action) || a.resource.localeCompare(b.resource));
}

/**
 * A least-privilege policy: one statement per group of actions that share the same resources. Only
 * calls that succeeded at least once grant a permission; calls that were always denied are left
 * out (see {@link deniedCalls}). Actions are IAM actions (`s3:ListObjectsV2` → `s3:ListBucket`),
 * S3 object permissions get `arn:aws:s3:::bucket/prefix/*` and bucket permissions the bucket ARN.
 *
 * @example
 * leastPrivilegePolicy(profile).Statement[0]; // { Sid: 'Observed1', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::orders/2024/*'] }
 */
export function leastPrivilegePolicy(p: FunctionProfile): IamPolicy {
  const byAction = new Map<string, Set<string>>();
  for (const c of observedCalls(p)) {
    if (c.denied >= c.calls) continue;
    const action = iamAction(c.action);
    let set = byAction.get(action);
    if (!set) byAction.set(action, (set = new Set()));
    set.add(iamResource(action, c.resource, p.fn));
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
  const denied = deniedCalls(p).length;
  lines.push(`  egress: ${p.egress.size} destinations${p.egress.overflow ? ` (+${p.egress.overflow} over the cap)` : ''}; ` +
    `API: ${p.actions.size} actions on ${p.resources.size} action/resource pairs${p.resources.overflow ? ` (+${p.resources.overflow} over the cap)` : ''}` +
    (denied > 0 ? `, ${denied} always denied (not granted)` : ''));
  if (p.lastDeploy) lines.push(`  last deploy ${new Date(p.lastDeploy.time).toISOString()} version ${p.lastDeploy.version ?? '?'} (${p.lastDeploy.detail ?? ''})`);
  return lines;
}
