/**
 * The scenario plan: which attacks hit which functions when, which benign confounders (deploys,
 * scheduled bursts, growth, flash crowds) happen, and the behaviour changes ("effects") the
 * simulators apply. The labels written to labels.json come from here.
 */
import type { AlertKind } from '../../src/core/alert.ts';
import { expectedRate, type ApiCall, type FunctionSpec, type HostUse, type Profile } from './catalog.ts';
import type { CallError } from './cloudtrail.ts';
import { nightlyBurstStart } from './lambda.ts';
import { Rng } from './prng.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Attack kinds the generator injects. */
export const ATTACK_KINDS = [
  'denial-of-wallet',
  'cost-ramp',
  'dormant-wakeup',
  'crypto-mining',
  'exfiltration',
  'imds-access',
  'secret-grab',
  'error-probing',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/** Alert kinds that count as catching each attack kind. */
export const ATTACK_EXPECT: Record<AttackKind, AlertKind[]> = {
  'denial-of-wallet': ['denial-of-wallet'],
  'cost-ramp': ['cost-ramp', 'denial-of-wallet'],
  'dormant-wakeup': ['dormant-wakeup', 'denial-of-wallet'],
  'crypto-mining': ['duration-anomaly', 'new-egress-host', 'error-spike'],
  exfiltration: ['new-egress-host'],
  'imds-access': ['new-egress-host'],
  'secret-grab': ['new-resource-access'],
  'error-probing': ['error-spike', 'new-resource-access'],
};

/** Profiles each attack kind can target, in order of preference. */
const TARGETS: Record<AttackKind, readonly Profile[]> = {
  'denial-of-wallet': ['http-api', 'queue-worker', 'stream-processor'],
  'cost-ramp': ['http-api', 'stream-processor', 'queue-worker'],
  'dormant-wakeup': ['dormant', 'rare'],
  'crypto-mining': ['cron-5min', 'http-api', 'queue-worker', 'stream-processor', 'cron-hourly'],
  exfiltration: ['queue-worker', 'http-api', 'nightly-batch', 'rare', 'cron-hourly', 'stream-processor'],
  'imds-access': ['http-api', 'queue-worker', 'cron-5min', 'stream-processor', 'rare', 'cron-hourly'],
  'secret-grab': ['http-api', 'queue-worker', 'rare', 'cron-hourly', 'stream-processor', 'cron-5min', 'nightly-batch'],
  'error-probing': ['http-api', 'stream-processor', 'queue-worker', 'cron-5min'],
};

/** A labeled attack. `start`/`end` are epoch ms. */
export interface AttackLabel {
  id: string;
  function: string;
  kind: AttackKind;
  expect: AlertKind[];
  start: number;
  end: number;
  description: string;
}

/** A labeled benign event that must not raise a high-severity alert. */
export interface ConfounderLabel {
  id: string;
  function: string;
  kind: 'deploy' | 'scheduled-burst' | 'growth' | 'flash-crowd';
  start: number;
  end: number;
  description: string;
  mustNotAlertAbove: 'medium';
}

/** A behaviour change a simulator applies while `start <= t < end`. */
export type Effect =
  | { type: 'rate-mult'; start: number; end: number; mult: number; perMin?: undefined }
  | { type: 'ramp'; start: number; rampEnd: number; end: number; extra: number; perMin?: undefined }
  | { type: 'extra-rate'; start: number; end: number; perMin: number }
  | { type: 'mining'; start: number; end: number; pool?: HostUse; perMin: number }
  | { type: 'egress'; start: number; end: number; hosts: HostUse[]; durationFactor: number; perMin: number }
  | { type: 'errors'; start: number; end: number; prob: number; accessDenied: boolean; perMin: number };

/** An API call made by attacker-controlled code at a given time. */
export interface ScheduledCall {
  time: number;
  function: string;
  call: ApiCall;
  error?: CallError;
}

/** A code deploy or a logging-format switch. */
export interface Deploy {
  time: number;
  function: string;
  kind: 'code' | 'format';
  durationFactor: number;
}

export interface Plan {
  learningEnd: number;
  attacks: AttackLabel[];
  confounders: ConfounderLabel[];
  effects: Map<string, Effect[]>;
  calls: ScheduledCall[];
  deploys: Deploy[];
  /** Attack kinds requested that no function could host */
  skipped: AttackKind[];
}

export interface PlanOptions {
  seed: number;
  start: number;
  end: number;
  days: number;
  scale: number;
  /** Attack kinds to inject, in order; undefined = a seed-chosen mix sized to the dataset */
  attacks?: readonly AttackKind[];
}

/** End of the learning period: 3 days when the dataset spans at least 5, else its first 60 %. */
export function learningEndFor(start: number, end: number, days: number): number {
  return days >= 5 ? start + 3 * DAY : start + Math.round((end - start) * 0.6);
}

const MINING_POOLS: readonly HostUse[] = [
  { host: 'pool.minexmr.com', port: 4444, proto: 'tcp', p: 1 },
  { host: '45.9.148.117', port: 3333, proto: 'tcp', p: 1 },
  { host: 'xmr.2miners.com', port: 2222, proto: 'tcp', p: 1 },
  { host: 'gulf.moneroocean.stream', port: 10128, proto: 'tcp', p: 1 },
];

const EXFIL_HOSTS: readonly string[] = ['transfer.sh', 'webhook.site', 'paste.ee', 'files.catbox.moe', '185.225.73.18', 'a3f9-81-2-69-142.ngrok-free.app'];

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function fmt(ms: number): string {
  return `${Math.round(ms / MIN)} min`;
}

/**
 * Plans attacks and confounders for a catalog.
 *
 * @example
 * const plan = buildPlan(catalog, { seed: 7, start, end, days: 7, scale: 1 });
 * plan.attacks.map((a) => a.kind); // → ['crypto-mining', 'denial-of-wallet', …]
 */
export function buildPlan(specs: readonly FunctionSpec[], opts: PlanOptions): Plan {
  const rng = new Rng(opts.seed).fork('plan');
  const learningEnd = learningEndFor(opts.start, opts.end, opts.days);
  const effects = new Map<string, Effect[]>(specs.map((s) => [s.name, []]));
  const addEffect = (fn: string, e: Effect): void => void effects.get(fn)!.push(e);
  const attacks: AttackLabel[] = [];
  const confounders: ConfounderLabel[] = [];
  const calls: ScheduledCall[] = [];
  const deploys: Deploy[] = [];
  const skipped: AttackKind[] = [];
  const busy = new Set<string>();

  // The busiest API gets the flash crowd; it stays clear of attacks so the confounder is clean.
  const busiestApi = specs.filter((s) => s.profile === 'http-api').sort((a, b) => b.ratePerMin - a.ratePerMin)[0];
  if (busiestApi && specs.length >= 3) busy.add(busiestApi.name);

  // Attacks: one slot each in the post-learning span, in a seed-shuffled order.
  const kinds = opts.attacks ?? defaultAttackKinds(rng.fork('kinds'), specs.length, opts.days);
  const postStart = learningEnd + HOUR;
  const postEnd = opts.end - HOUR;
  const slotLen = (postEnd - postStart) / Math.max(1, kinds.length);
  const slotOrder = shuffle(rng.fork('slots'), kinds.map((_, i) => i));
  let miningCount = 0;
  // Labels must hold exactly: the simulators step minute by minute from the dataset's start and
  // apply a rate effect to a whole minute when the minute's middle is inside its window, and
  // CloudTrail prints whole seconds. An attack that starts and ends on a simulated minute boundary
  // is active from its first minute's first millisecond, so no injected event precedes `start`
  // (calls are placed at or after `start`, which is also a whole second).
  const onMinute = (t: number): number => opts.start + Math.round((t - opts.start) / MIN) * MIN;
  const wholeMinutes = (minutes: number): number => Math.max(1, Math.round(minutes)) * MIN;
  kinds.forEach((kind, i) => {
    const r = rng.fork(`attack:${i}:${kind}`);
    const target = pickTarget(r, specs, kind, busy);
    if (!target) {
      skipped.push(kind);
      return;
    }
    busy.add(target.name);
    const slotStart = postStart + slotOrder[i]! * slotLen;
    const place = (duration: number): number => {
      const room = Math.max(0, slotLen - duration);
      return onMinute(slotStart + r.next() * room);
    };
    const id = `atk-${String(attacks.length + 1).padStart(2, '0')}-${kind}`;
    const rate = Math.max(expectedRate(target), 0.05);
    let start: number;
    let end: number;
    let description: string;
    switch (kind) {
      case 'denial-of-wallet': {
        const duration = wholeMinutes(r.range(10, 60));
        // A flood worth the name costs money whatever the account's scale: at least 25/min.
        const mult = r.range(20, 200);
        const perMin = Math.min(Math.max(mult * rate, r.range(25, 60)), 1500 * opts.scale + 60);
        start = place(duration);
        end = start + duration;
        addEffect(target.name, { type: 'extra-rate', start, end, perMin });
        description = `invocation flood: +${perMin.toFixed(1)}/min (about x${Math.round(perMin / rate)} the usual ${rate.toFixed(2)}/min) for ${fmt(duration)}`;
        break;
      }
      case 'cost-ramp': {
        const ramp = wholeMinutes(Math.min(r.range(6, 12) * 60, ((postEnd - postStart) * 0.4) / MIN));
        const extra = r.range(0.5, 3);
        // Leave at least half the ramp's length after it, so the sustained level is in the data.
        start = Math.min(place(ramp), onMinute(Math.max(postStart, postEnd - 1.5 * ramp)));
        end = opts.end;
        addEffect(target.name, { type: 'ramp', start, rampEnd: start + ramp, end, extra });
        description = `invocations climb +${Math.round(extra * 100)}% over ${(ramp / HOUR).toFixed(1)} h, then stay there to the end of the dataset`;
        break;
      }
      case 'dormant-wakeup': {
        const duration = wholeMinutes(r.range(30, 120));
        const perMin = r.logRange(2, 20);
        start = place(duration);
        end = start + duration;
        addEffect(target.name, { type: 'extra-rate', start, end, perMin });
        description = `${target.profile} function (about ${(expectedRate(target) * 1440).toFixed(2)} calls/day) suddenly runs ${perMin.toFixed(1)}/min for ${fmt(duration)}`;
        break;
      }
      case 'crypto-mining': {
        const duration = wholeMinutes(r.range(1, 4) * 60);
        const concurrency = r.intRange(2, 6);
        const perMin = (concurrency * MIN) / target.timeoutMs;
        const pool = miningCount++ % 2 === 0 ? r.pick(MINING_POOLS) : undefined;
        start = place(duration);
        end = start + duration;
        addEffect(target.name, { type: 'mining', start, end, pool, perMin });
        description = `cryptojacking: every invocation runs to near its ${target.timeoutMs / 1000} s timeout (most time out), ~${concurrency} attacker invocations in flight, ${pool ? `connecting to mining pool ${pool.host}:${pool.port}` : 'no pool connection visible (proxied)'}; ${fmt(duration)}`;
        break;
      }
      case 'exfiltration': {
        const duration = wholeMinutes(r.range(10, 45));
        const host = r.pick(EXFIL_HOSTS);
        start = place(duration);
        end = start + duration;
        const perMin = r.range(0.5, 2);
        addEffect(target.name, { type: 'egress', start, end, hosts: [{ host, port: 443, proto: 'tls', p: 1 }], durationFactor: r.range(1.5, 3), perMin });
        description = `data sent to never-seen host ${host}:443 on every invocation for ${fmt(duration)}`;
        break;
      }
      case 'imds-access': {
        const duration = wholeMinutes(r.range(5, 20));
        start = place(duration);
        end = start + duration;
        const perMin = r.range(0.5, 2);
        addEffect(target.name, { type: 'egress', start, end, hosts: [{ host: '169.254.169.254', port: 80, proto: 'http', p: 1 }], durationFactor: 1, perMin });
        description = `SSRF probing the instance-metadata endpoint 169.254.169.254:80 for ${fmt(duration)}`;
        break;
      }
      case 'secret-grab': {
        const duration = wholeMinutes(r.range(5, 30));
        start = place(duration);
        end = start + duration;
        addEffect(target.name, { type: 'extra-rate', start, end, perMin: r.range(0.3, 1) });
        const grabbed = secretGrabCalls(r, target, specs);
        for (const c of grabbed) calls.push({ ...c, function: target.name, time: start + Math.floor(r.next() * (end - start)) });
        description = `stolen credentials used for ${[...new Set(grabbed.map((c) => `${c.call.service}:${c.call.eventName}`))].join(', ')} (${grabbed.length} calls) over ${fmt(duration)}`;
        break;
      }
      case 'error-probing': {
        const duration = wholeMinutes(r.range(10, 40));
        start = place(duration);
        end = start + duration;
        const perMin = Math.min(Math.max(2, 3 * rate), 200);
        const prob = r.range(0.5, 0.9);
        addEffect(target.name, { type: 'errors', start, end, prob, accessDenied: true, perMin });
        const probes = probeCalls(r, target);
        for (const c of probes) calls.push({ ...c, function: target.name, time: start + Math.floor(r.next() * (end - start)) });
        description = `attacker probing with malformed input: ${Math.round(prob * 100)}% of invocations fail (AccessDenied), ${probes.length} denied API calls over ${fmt(duration)}`;
        break;
      }
    }
    attacks.push({ id, function: target.name, kind, expect: [...ATTACK_EXPECT[kind]], start, end, description });
  });

  const attackedNear = (fn: string, t: number, margin: number): boolean =>
    attacks.some((a) => a.function === fn && t >= a.start - margin && t <= a.end + margin);

  // Flash crowd on the busiest API, after learning, in its daytime.
  if (busiestApi && specs.length >= 3) {
    const r = rng.fork('flash');
    const day = Math.floor((postStart + r.next() * Math.max(0, postEnd - postStart - DAY)) / DAY) * DAY;
    let start = day + ((((14 - busiestApi.tzOffsetH) % 24) + 24) % 24) * HOUR + r.int(3 * 60) * MIN;
    if (start < postStart || start > postEnd - 30 * MIN) start = Math.round(postStart + r.next() * Math.max(0, postEnd - postStart - 30 * MIN));
    const mult = r.range(3, 5);
    const end = start + 20 * MIN;
    addEffect(busiestApi.name, { type: 'rate-mult', start, end, mult });
    confounders.push({
      id: 'conf-flash-crowd',
      function: busiestApi.name,
      kind: 'flash-crowd',
      start,
      end,
      description: `benign flash crowd (a marketing push): traffic x${mult.toFixed(1)} for 20 min`,
      mustNotAlertAbove: 'medium',
    });
  }

  // Deploys: a few spread over the whole span, with modest duration changes.
  const r = rng.fork('deploys');
  const deployable = specs.filter((s) => s.profile !== 'dormant');
  const nDeploys = Math.max(1, Math.round((specs.length * opts.days) / 15));
  for (let i = 0; i < nDeploys && deployable.length > 0; i++) {
    const spec = r.pick(deployable);
    const time = Math.round(opts.start + 2 * HOUR + r.next() * (opts.end - opts.start - 4 * HOUR));
    if (attackedNear(spec.name, time, 3 * HOUR)) continue;
    const durationFactor = r.range(0.8, 1.3);
    deploys.push({ time, function: spec.name, kind: 'code', durationFactor });
    confounders.push({
      id: `conf-deploy-${String(i + 1).padStart(2, '0')}`,
      function: spec.name,
      kind: 'deploy',
      start: time,
      end: time + 2 * HOUR,
      description: `CI deploy (UpdateFunctionCode${spec.versioned ? ' + PublishVersion + alias' : ''}); durations x${durationFactor.toFixed(2)}`,
      mustNotAlertAbove: 'medium',
    });
  }

  // One function switches its log format from Text to JSON midway.
  const switcher = specs.find((s) => s.format === 'text' && s.profile !== 'dormant' && s.profile !== 'rare' && !attacks.some((a) => a.function === s.name));
  if (switcher) {
    const time = Math.round(opts.start + (opts.end - opts.start) * r.range(0.4, 0.7));
    deploys.push({ time, function: switcher.name, kind: 'format', durationFactor: 1 });
    confounders.push({
      id: 'conf-format-switch',
      function: switcher.name,
      kind: 'deploy',
      start: time,
      end: time + 2 * HOUR,
      description: 'logging config switched from Text to JSON (UpdateFunctionConfiguration): same behaviour, new log format',
      mustNotAlertAbove: 'medium',
    });
  }
  deploys.sort((a, b) => a.time - b.time);

  // Scheduled bursts and growth are part of the functions' nature; label them so they are scored.
  for (const spec of specs) {
    if (spec.profile === 'nightly-batch') {
      for (let day = opts.start - (opts.start % DAY); day < opts.end; day += DAY) {
        const start = nightlyBurstStart(spec, day);
        if (start < learningEnd || start >= opts.end) continue;
        confounders.push({
          id: `conf-burst-${spec.name}-${new Date(day).toISOString().slice(0, 10)}`,
          function: spec.name,
          kind: 'scheduled-burst',
          start,
          end: start + Math.round(spec.nightlyMinutes * MIN),
          description: `nightly batch: ~${spec.nightlySize} invocations in ${Math.round(spec.nightlyMinutes)} min at ${String(spec.nightlyHour).padStart(2, '0')}:00 local`,
          mustNotAlertAbove: 'medium',
        });
      }
    }
    if (spec.growthPerDay >= 0.005 && ['http-api', 'queue-worker', 'stream-processor', 'rare', 'nightly-batch'].includes(spec.profile)) {
      confounders.push({
        id: `conf-growth-${spec.name}`,
        function: spec.name,
        kind: 'growth',
        start: opts.start,
        end: opts.end,
        description: `organic growth of +${(spec.growthPerDay * 100).toFixed(1)}%/day`,
        mustNotAlertAbove: 'medium',
      });
    }
  }
  confounders.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  calls.sort((a, b) => a.time - b.time);
  return { learningEnd, attacks, confounders, effects, calls, deploys, skipped };
}

/** A seed-chosen mix of attack kinds, sized to the dataset. */
function defaultAttackKinds(rng: Rng, functions: number, days: number): AttackKind[] {
  const n = Math.min(16, Math.max(3, Math.round((functions * days) / 28)));
  const order = shuffle(rng, [...ATTACK_KINDS]);
  const kinds: AttackKind[] = [];
  for (let i = 0; i < n; i++) kinds.push(order[i % order.length]!);
  return kinds;
}

/** A function for an attack: an unattacked one of a preferred profile, busier ones first where rate matters. */
function pickTarget(rng: Rng, specs: readonly FunctionSpec[], kind: AttackKind, busy: Set<string>): FunctionSpec | undefined {
  const profiles = TARGETS[kind];
  let candidates = specs.filter((s) => profiles.includes(s.profile) && !busy.has(s.name));
  if (candidates.length === 0) return undefined;
  if (kind === 'cost-ramp' || kind === 'error-probing' || kind === 'crypto-mining' || kind === 'denial-of-wallet') {
    // Relative changes need a base rate to be relative to.
    candidates = [...candidates].sort((a, b) => expectedRate(b) - expectedRate(a)).slice(0, Math.max(1, Math.ceil(candidates.length / 2)));
  }
  if (kind === 'dormant-wakeup') {
    const dormant = candidates.filter((s) => s.profile === 'dormant');
    if (dormant.length > 0) candidates = dormant;
  }
  return rng.pick(candidates);
}

function denied(spec: FunctionSpec, action: string, resource: string | undefined, code: string): CallError {
  return {
    code,
    message: `User: arn:aws:sts::${spec.account}:assumed-role/${spec.role}/${spec.name} is not authorized to perform: ${action}${resource ? ` on resource: ${resource}` : ''} because no identity-based policy allows the ${action} action`,
  };
}

/** GetSecretValue on other secrets, object deletes, access-key creation, role assumption. */
function secretGrabCalls(rng: Rng, spec: FunctionSpec, specs: readonly FunctionSpec[]): Omit<ScheduledCall, 'time' | 'function'>[] {
  const out: Omit<ScheduledCall, 'time' | 'function'>[] = [];
  const otherSecrets = specs.filter((s) => s.secretId && s.name !== spec.name && s.account === spec.account).map((s) => s.secretId!);
  const secrets = shuffle(rng, [...otherSecrets, 'prod/rds/master-credentials', 'prod/stripe/live-secret-key', 'prod/github/deploy-token']).slice(0, rng.intRange(2, 5));
  const families = shuffle(rng, ['delete', 'access-key', 'assume-role']).slice(0, rng.intRange(1, 3));
  for (const secretId of secrets) {
    out.push({ call: { service: 'secretsmanager', eventName: 'GetSecretValue', readOnly: true, data: false, target: { type: 'secret', secretId } } });
  }
  const bucketCall = spec.calls.find((c) => c.target.type === 's3-object');
  for (const family of families) {
    if (family === 'delete') {
      const target = bucketCall?.target.type === 's3-object' ? bucketCall.target : { type: 's3-object' as const, bucket: `acme-backups-${spec.account.slice(-4)}`, prefix: 'db' };
      for (let i = rng.intRange(1, 4); i > 0; i--) out.push({ call: { service: 's3', eventName: 'DeleteObject', readOnly: false, data: true, target } });
    } else if (family === 'access-key') {
      const userName = rng.pick(['admin', 'ci-deployer', 'backup-operator']);
      const ok = rng.chance(0.4);
      out.push({
        call: { service: 'iam', eventName: 'CreateAccessKey', readOnly: false, data: false, target: { type: 'iam-user', userName } },
        ...(ok ? {} : { error: denied(spec, 'iam:CreateAccessKey', `arn:aws:iam::${spec.account}:user/${userName}`, 'AccessDenied') }),
      });
    } else {
      const roleArn = `arn:aws:iam::${spec.account}:role/${rng.pick(['OrganizationAccountAccessRole', 'admin-break-glass', 'terraform-admin'])}`;
      out.push({ call: { service: 'sts', eventName: 'AssumeRole', readOnly: true, data: false, target: { type: 'role', roleArn } } });
    }
  }
  return out;
}

/** Reconnaissance calls that fail with AccessDenied. */
function probeCalls(rng: Rng, spec: FunctionSpec): Omit<ScheduledCall, 'time' | 'function'>[] {
  const probes: (() => Omit<ScheduledCall, 'time' | 'function'>)[] = [
    () => ({ call: { service: 's3', eventName: 'ListBuckets', readOnly: true, data: false, target: { type: 's3-service' } }, error: denied(spec, 's3:ListAllMyBuckets', undefined, 'AccessDenied') }),
    () => ({ call: { service: 'iam', eventName: 'ListUsers', readOnly: true, data: false, target: { type: 'none' } }, error: denied(spec, 'iam:ListUsers', `arn:aws:iam::${spec.account}:user/`, 'AccessDenied') }),
    () => ({ call: { service: 'lambda', eventName: 'ListFunctions20150331', readOnly: true, data: false, target: { type: 'none' } }, error: denied(spec, 'lambda:ListFunctions', '*', 'AccessDeniedException') }),
    () => ({ call: { service: 'secretsmanager', eventName: 'ListSecrets', readOnly: true, data: false, target: { type: 'none' } }, error: denied(spec, 'secretsmanager:ListSecrets', undefined, 'AccessDeniedException') }),
    () => {
      const table = rng.pick(['users', 'payments', 'sessions', 'admin-audit']);
      return {
        call: { service: 'dynamodb', eventName: 'Scan', readOnly: true, data: true, target: { type: 'dynamodb-table', table } },
        error: denied(spec, 'dynamodb:Scan', `arn:aws:dynamodb:${spec.region}:${spec.account}:table/${table}`, 'AccessDeniedException'),
      };
    },
    () => ({ call: { service: 'ec2', eventName: 'DescribeInstances', readOnly: true, data: false, target: { type: 'none' } }, error: denied(spec, 'ec2:DescribeInstances', undefined, 'Client.UnauthorizedOperation') }),
    () => ({ call: { service: 'kms', eventName: 'ListKeys', readOnly: true, data: false, target: { type: 'none' } }, error: denied(spec, 'kms:ListKeys', undefined, 'AccessDeniedException') }),
  ];
  const out: Omit<ScheduledCall, 'time' | 'function'>[] = [];
  for (let i = rng.intRange(10, 40); i > 0; i--) out.push(rng.pick(probes)());
  out.push({ call: { service: 'sts', eventName: 'GetCallerIdentity', readOnly: true, data: false, target: { type: 'none' } } });
  return out;
}
