/**
 * The simulated account: which functions exist, how they are configured (memory, timeout, log
 * format, version strategy) and how they behave (load shape, durations, egress hosts, AWS calls).
 * Everything is drawn from the seed; nothing here does I/O.
 */
import type { LogFormat } from '../../src/core/events.ts';
import { Rng } from './prng.ts';

/** How a function's load is shaped. */
export type Profile =
  | 'http-api'
  | 'queue-worker'
  | 'stream-processor'
  | 'cron-5min'
  | 'cron-hourly'
  | 'nightly-batch'
  | 'rare'
  | 'dormant';

/** One outbound destination a function talks to, and how often an invocation uses it. */
export interface HostUse {
  host: string;
  port: number;
  proto: string;
  /** Probability that one invocation connects to it */
  p: number;
}

/** What an AWS API call acts on; shapes `resources[]` and `requestParameters` in CloudTrail. */
export type CallTarget =
  | { type: 's3-object'; bucket: string; prefix: string }
  | { type: 's3-service' }
  | { type: 'dynamodb-table'; table: string }
  | { type: 'sqs-queue'; queue: string }
  | { type: 'secret'; secretId: string }
  | { type: 'kms-key'; keyId: string }
  | { type: 'ssm-parameter'; name: string }
  | { type: 'role'; roleArn: string }
  | { type: 'iam-user'; userName: string }
  | { type: 'none' };

/** One AWS API call a function's code makes. */
export interface ApiCall {
  /** eventSource without `.amazonaws.com` */
  service: string;
  eventName: string;
  readOnly: boolean;
  /** Data events are sampled (paid per event); management events are always logged */
  data: boolean;
  target: CallTarget;
}

/** A simulated function: configuration plus behaviour parameters. */
export interface FunctionSpec {
  name: string;
  account: string;
  region: string;
  profile: Profile;
  memoryMB: number;
  timeoutMs: number;
  architecture: 'x86_64' | 'arm64';
  /** Log format at the start of the dataset */
  format: LogFormat;
  role: string;
  /** AROA… id of the execution role, as CloudTrail prints it */
  roleId: string;
  runtimeVersion: string;
  runtimeVersionArn: string;
  /** Invoked through an alias on published versions (START Version: N), else `$LATEST` */
  versioned: boolean;
  initialVersion: number;
  /** X-Ray active tracing: REPORT lines carry XRAY fields */
  traced: boolean;
  /** Local time zone of the users driving the load, hours from UTC */
  tzOffsetH: number;

  /** Requests per minute at the reference point of the profile (weekday peak, mean, trickle) */
  ratePerMin: number;
  nightFloor: number;
  weekendFactor: number;
  growthPerDay: number;
  /** queue-worker bursts */
  burstsPerHour: number;
  burstRatePerMin: number;
  burstMeanMin: number;
  /** cron-5min / cron-hourly / nightly-batch schedule */
  cronMinute: number;
  fanout: number;
  nightlyHour: number;
  nightlySize: number;
  nightlyMinutes: number;

  durationMedianMs: number;
  durationSigma: number;
  initMedianMs: number;
  memBaseMB: number;
  errorRate: number;
  appLineP: number;

  hosts: HostUse[];
  /** Data-event calls, one sampled per `ctEvery` invocations on average */
  calls: ApiCall[];
  /** Calls made once per execution environment at cold start (config, secrets) */
  coldCalls: ApiCall[];
  ctEvery: number;
  /** Own secret, fetched at cold start (when the function has one) */
  secretId?: string;
  sdkVersion: string;
}

/** Order in which profiles are handed out, so that even small datasets get a varied mix. */
const PROFILE_CYCLE: readonly Profile[] = [
  'http-api',
  'queue-worker',
  'cron-5min',
  'dormant',
  'nightly-batch',
  'rare',
  'stream-processor',
  'cron-hourly',
  'http-api',
  'queue-worker',
  'http-api',
  'rare',
  'cron-5min',
  'dormant',
  'stream-processor',
  'http-api',
];

const NAMES: Record<Profile, readonly string[]> = {
  'http-api': [
    'orders-api', 'checkout-api', 'auth-api', 'search-api', 'users-api', 'catalog-api', 'payments-api',
    'graphql-gateway', 'webhooks-ingest', 'cart-api', 'inventory-api', 'notifications-api', 'reviews-api', 'pricing-api',
  ],
  'queue-worker': [
    'email-sender', 'image-resizer', 'order-fulfillment-worker', 'invoice-worker', 'webhook-dispatcher',
    'thumbnail-worker', 'pdf-renderer', 'sms-sender', 'video-transcoder-callback', 'refund-processor',
  ],
  'stream-processor': ['clickstream-processor', 'audit-log-shipper', 'cdc-replicator', 'metrics-aggregator', 'fraud-scorer', 'search-indexer'],
  'cron-5min': ['health-checker', 'queue-depth-monitor', 'cache-warmer', 'token-refresher', 'stuck-order-sweeper', 'cert-expiry-checker'],
  'cron-hourly': ['hourly-rollup', 'sitemap-builder', 'fx-rates-sync', 'partner-feed-poller', 'usage-meter-export'],
  'nightly-batch': ['nightly-billing-batch', 'nightly-etl', 'daily-report-generator', 'backup-verifier', 'data-retention-purger'],
  rare: ['admin-password-reset', 'gdpr-export', 'tenant-onboarding', 'support-ticket-escalator', 'plan-upgrade-handler', 'sso-provisioner'],
  dormant: ['legacy-migration-v1', 'year-end-archiver', 'dr-failover-test', 'old-coupon-importer', 'one-off-backfill', 'beta-signup-legacy'],
};

const STANDARD_TIMEOUTS_S = [3, 5, 6, 10, 15, 30, 60, 120, 300, 600, 900];

const THIRD_PARTY: Record<Profile, readonly string[]> = {
  'http-api': ['api.stripe.com', 'hooks.slack.com', 'api.sendgrid.com', 'api.segment.io', 'oauth2.googleapis.com', 'api.twilio.com', 'api.auth0.com'],
  'queue-worker': ['api.sendgrid.com', 'hooks.slack.com', 'api.twilio.com', 'api.stripe.com', 'api.mailgun.net'],
  'stream-processor': ['http-intake.logs.datadoghq.com', 'api.honeycomb.io', 'search-prod.es.amazonaws.com'],
  'cron-5min': ['events.pagerduty.com', 'hooks.slack.com', 'status.partner-logistics.com'],
  'cron-hourly': ['api.exchangerate.host', 'partner-feed.acme-logistics.com', 'api.github.com'],
  'nightly-batch': ['api.stripe.com', 'sftp.partner-bank.com', 'api.quickbooks.intuit.com'],
  rare: ['api.auth0.com', 'api.zendesk.com', 'hooks.slack.com'],
  dormant: ['legacy.internal-erp.com', 'api.github.com'],
};

/** Sampled data events per function per minute: trails select data events sparingly, they are paid per event. */
const CT_DATA_EVENTS_PER_MIN = 0.1;

/** Options the catalog depends on. */
export interface CatalogOptions {
  seed: number;
  functions: number;
  scale: number;
}

/** Twelve-digit account ids derived from the seed (stable, never a real-looking well-known id). */
export function accountsFor(rng: Rng, functions: number): { account: string; region: string; tzOffsetH: number }[] {
  const r = rng.fork('accounts');
  const first = { account: r.digits(12), region: 'us-east-1', tzOffsetH: -5 };
  if (functions < 20) return [first];
  return [first, { account: r.digits(12), region: 'eu-west-1', tzOffsetH: 1 }];
}

function uniqueName(base: string, used: Set<string>): string {
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
  used.add(name);
  return name;
}

function pickMemory(rng: Rng, profile: Profile): number {
  const options: Record<Profile, number[]> = {
    'http-api': [256, 512, 512, 1024, 1024, 1536],
    'queue-worker': [512, 1024, 1536, 2048, 3008],
    'stream-processor': [256, 512, 1024],
    'cron-5min': [128, 128, 256, 512],
    'cron-hourly': [512, 1024, 2048],
    'nightly-batch': [1024, 2048, 3008],
    rare: [128, 256, 512],
    dormant: [128, 256, 1024],
  };
  return rng.pick(options[profile]);
}

function pickTimeout(rng: Rng, medianMs: number, profile: Profile): number {
  const floorS = profile === 'http-api' ? 3 : profile === 'nightly-batch' || profile === 'cron-hourly' ? 60 : 5;
  const capS = profile === 'http-api' ? 30 : 900;
  const needS = Math.max(floorS, (medianMs * rng.range(12, 40)) / 1000);
  const fit = STANDARD_TIMEOUTS_S.filter((s) => s >= needS && s <= capS);
  return (fit.length > 0 ? fit[Math.min(fit.length - 1, rng.int(2))]! : capS) * 1000;
}

function durationMedian(rng: Rng, profile: Profile): number {
  switch (profile) {
    case 'http-api':
      return rng.logRange(15, 400);
    case 'queue-worker':
      return rng.logRange(150, 4000);
    case 'stream-processor':
      return rng.logRange(20, 300);
    case 'cron-5min':
      return rng.logRange(100, 3000);
    case 'cron-hourly':
      return rng.logRange(500, 20_000);
    case 'nightly-batch':
      return rng.logRange(300, 5000);
    case 'rare':
      return rng.logRange(100, 3000);
    case 'dormant':
      return rng.logRange(200, 5000);
  }
}

/** The things a function's code touches: tables, buckets, queues; the egress hosts follow from them. */
function resourcesFor(rng: Rng, spec: Pick<FunctionSpec, 'name' | 'account' | 'region' | 'profile'>): {
  hosts: HostUse[];
  calls: ApiCall[];
} {
  const stem = spec.name.replace(/-(api|worker|processor|batch|sender|checker|monitor)$/, '');
  const hosts: HostUse[] = [];
  const calls: ApiCall[] = [];
  const aws = (svc: string): string => `${svc}.${spec.region}.amazonaws.com`;
  const usesDynamo = spec.profile !== 'nightly-batch' ? rng.chance(0.75) : rng.chance(0.4);
  const usesS3 = ['queue-worker', 'nightly-batch', 'cron-hourly', 'stream-processor', 'dormant'].includes(spec.profile) ? rng.chance(0.8) : rng.chance(0.25);
  const usesSqs = ['http-api', 'stream-processor', 'cron-5min'].includes(spec.profile) && rng.chance(0.4);
  if (usesDynamo) {
    const table = `${stem}-${rng.pick(['table', 'state', 'records', 'items'])}`;
    hosts.push({ host: aws('dynamodb'), port: 443, proto: 'tls', p: rng.range(0.6, 1) });
    calls.push({ service: 'dynamodb', eventName: 'GetItem', readOnly: true, data: true, target: { type: 'dynamodb-table', table } });
    calls.push({ service: 'dynamodb', eventName: rng.pick(['PutItem', 'UpdateItem']), readOnly: false, data: true, target: { type: 'dynamodb-table', table } });
    if (rng.chance(0.5)) calls.push({ service: 'dynamodb', eventName: 'Query', readOnly: true, data: true, target: { type: 'dynamodb-table', table } });
  }
  if (usesS3 || (!usesDynamo && !usesSqs)) {
    const bucket = `acme-${stem}-${spec.account.slice(-4)}`;
    const prefix = rng.pick(['incoming', 'exports', 'uploads', 'reports', 'raw', 'processed']);
    hosts.push({ host: `s3.${spec.region}.amazonaws.com`, port: 443, proto: 'tls', p: rng.range(0.3, 1) });
    calls.push({ service: 's3', eventName: 'GetObject', readOnly: true, data: true, target: { type: 's3-object', bucket, prefix } });
    calls.push({ service: 's3', eventName: 'PutObject', readOnly: false, data: true, target: { type: 's3-object', bucket, prefix: rng.pick(['out', 'results', prefix]) } });
  }
  if (usesSqs) {
    const queue = `${stem}-${rng.pick(['events', 'jobs', 'outbox'])}`;
    hosts.push({ host: aws('sqs'), port: 443, proto: 'tls', p: rng.range(0.2, 0.8) });
    calls.push({ service: 'sqs', eventName: 'SendMessage', readOnly: false, data: true, target: { type: 'sqs-queue', queue } });
  }
  const thirdParty = THIRD_PARTY[spec.profile];
  const n = rng.intRange(spec.profile === 'dormant' ? 0 : 1, 2);
  const chosen = new Set<string>();
  for (let i = 0; i < n; i++) chosen.add(rng.pick(thirdParty));
  for (const host of chosen) hosts.push({ host, port: 443, proto: 'tls', p: rng.logRange(0.05, 0.7) });
  return { hosts, calls };
}

/**
 * Builds the function catalog for a dataset.
 *
 * @example
 * const fns = buildCatalog({ seed: 7, functions: 12, scale: 1 });
 * fns[0].profile; // → 'http-api'
 */
export function buildCatalog(opts: CatalogOptions): FunctionSpec[] {
  const root = new Rng(opts.seed);
  const accounts = accountsFor(root, opts.functions);
  const names = root.fork('names');
  const pools = Object.fromEntries(
    Object.entries(NAMES).map(([p, list]) => {
      const shuffled = [...list];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = names.int(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      return [p, shuffled];
    }),
  ) as Record<Profile, string[]>;
  const used = new Set<string>();
  const specs: FunctionSpec[] = [];
  let firstApi = true;
  for (let i = 0; i < opts.functions; i++) {
    const profile = PROFILE_CYCLE[i % PROFILE_CYCLE.length]!;
    const pool = pools[profile];
    const name = uniqueName(pool.find((n) => !used.has(n)) ?? pool[0]!, used);
    const rng = root.fork(`fn:${i}:${name}`);
    const acct = accounts[i % accounts.length]!;
    const memoryMB = pickMemory(rng, profile);
    const durationMedianMs = durationMedian(rng, profile);
    const timeoutMs = pickTimeout(rng, durationMedianMs, profile);
    const s = opts.scale;
    let ratePerMin = 0;
    switch (profile) {
      case 'http-api':
        // The first API is the account's busy front door: flash crowds and DoW have something to scale.
        ratePerMin = (firstApi ? rng.range(5, 10) : rng.logRange(0.2, 5)) * s;
        firstApi = false;
        break;
      case 'queue-worker':
        ratePerMin = rng.logRange(0.03, 0.6) * s;
        break;
      case 'stream-processor':
        ratePerMin = rng.logRange(0.3, 4) * s;
        break;
      case 'rare':
        ratePerMin = rng.logRange(0.001, 0.01);
        break;
      case 'dormant':
        // Half call in now and then (~0.3-1.4 a day), half stay silent for days after their smoke test.
        ratePerMin = rng.chance(0.5) ? rng.logRange(0.0002, 0.001) : rng.logRange(0.00002, 0.0001);
        break;
      default:
        ratePerMin = 0;
    }
    const partial = { name, account: acct.account, region: acct.region, profile };
    const { hosts, calls } = resourcesFor(rng, partial);
    const coldCalls: ApiCall[] = [];
    let secretId: string | undefined;
    if (rng.chance(0.7)) {
      secretId = `prod/${name}/config`;
      coldCalls.push({ service: 'secretsmanager', eventName: 'GetSecretValue', readOnly: true, data: false, target: { type: 'secret', secretId } });
    }
    if (rng.chance(0.2)) {
      coldCalls.push({ service: 'ssm', eventName: 'GetParameter', readOnly: true, data: false, target: { type: 'ssm-parameter', name: `/prod/${name}/feature-flags` } });
    }
    if (rng.chance(0.3)) {
      coldCalls.push({ service: 'kms', eventName: 'Decrypt', readOnly: true, data: false, target: { type: 'kms-key', keyId: rng.uuid() } });
    }
    const memBaseMB = Math.min(memoryMB * 0.85, 55 + memoryMB * rng.range(0.08, 0.4));
    const expectedPerMin = profile === 'nightly-batch' ? (rng.logRange(150, 2000) * s) / (24 * 60) : ratePerMin;
    specs.push({
      ...partial,
      memoryMB,
      timeoutMs,
      architecture: rng.chance(0.6) ? 'arm64' : 'x86_64',
      format: rng.chance(0.35) ? 'json' : 'text',
      role: `${name}-role-${rng.upper(8).toLowerCase()}`,
      roleId: `AROA${rng.upper(17)}`,
      runtimeVersion: 'nodejs:20.v48',
      runtimeVersionArn: `arn:aws:lambda:${acct.region}::runtime:${rng.hex(64)}`,
      versioned: (profile === 'http-api' || profile === 'queue-worker') && rng.chance(0.5),
      initialVersion: rng.intRange(1, 40),
      traced: rng.chance(0.2),
      tzOffsetH: acct.tzOffsetH,
      ratePerMin,
      nightFloor: profile === 'stream-processor' ? rng.range(0.5, 0.8) : rng.range(0.04, 0.15),
      weekendFactor: profile === 'stream-processor' ? rng.range(0.7, 0.95) : rng.range(0.2, 0.45),
      growthPerDay: rng.chance(0.7) ? rng.range(0, 0.005) : rng.range(0.005, 0.015),
      burstsPerHour: rng.range(0.3, 2),
      burstRatePerMin: rng.logRange(2, 15) * s,
      burstMeanMin: rng.range(1.5, 6),
      cronMinute: profile === 'cron-hourly' ? rng.int(60) : 0,
      fanout: profile === 'cron-hourly' ? Math.max(1, Math.round(rng.logRange(1, 20) * Math.min(1, s * 2))) : profile === 'cron-5min' ? (rng.chance(0.7) ? 1 : rng.intRange(2, 4)) : 1,
      nightlyHour: rng.intRange(1, 4),
      nightlySize: Math.max(5, Math.round(expectedPerMin * 24 * 60)),
      nightlyMinutes: rng.range(10, 40),
      durationMedianMs,
      durationSigma: rng.range(0.3, 0.8),
      initMedianMs: rng.range(120, 500) * (memoryMB <= 256 ? 1.8 : 1),
      memBaseMB,
      errorRate: rng.logRange(0.0005, 0.01),
      appLineP: rng.range(0.2, 0.9),
      hosts,
      calls,
      coldCalls,
      ctEvery: 1,
      secretId,
      sdkVersion: `3.${rng.intRange(600, 700)}.0`,
    });
  }
  for (const spec of specs) spec.ctEvery = Math.max(1, Math.round(expectedRate(spec) / CT_DATA_EVENTS_PER_MIN));
  return specs;
}

/**
 * Rough mean invocations per minute of a function (used to sample data events to a few per hour,
 * the way a cost-conscious trail's selectors thin them).
 */
export function expectedRate(spec: FunctionSpec): number {
  switch (spec.profile) {
    case 'http-api':
      return spec.ratePerMin * 0.35;
    case 'queue-worker':
      return spec.ratePerMin + (spec.burstsPerHour * spec.burstMeanMin * spec.burstRatePerMin) / 60;
    case 'stream-processor':
      return spec.ratePerMin * 0.8;
    case 'cron-5min':
      return spec.fanout / 5;
    case 'cron-hourly':
      return spec.fanout / 60;
    case 'nightly-batch':
      return spec.nightlySize / (24 * 60);
    default:
      return spec.ratePerMin;
  }
}
