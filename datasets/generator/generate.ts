/**
 * The scenario generator: simulates an account's Lambda functions minute by minute and writes
 * what a Kinesis subscription on their log groups (and on a CloudTrail log group) would have
 * recorded, plus labels and the ground-truth normalized events.
 *
 * Output in the target directory:
 * - `kinesis/shard-NNN.ndjson.gz`: `aws kinesis get-records` Records[] entries, one per line
 * - `labels.json`: functions, attacks, confounders, learning period
 * - `events.arrow`: ground-truth normalized events (what a correct parser produces), in stream order
 * - `manifest.json`: provenance, licence, options, file list with sizes, hashes and counts
 *
 * Memory stays bounded: only the current minute, in-flight invocations and CloudTrail records
 * awaiting delivery are held; files are streamed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from '../../src/core/contracts.ts';
import type { FnEvent, FnEventKind, LogFormat } from '../../src/core/events.ts';
import { ArrowEventWriter } from '../../src/sources/files/arrow.ts';
import { buildCatalog, type FunctionSpec } from './catalog.ts';
import { deployerFor, managementRecord, type ManagementCall, type TrailRecord } from './cloudtrail.ts';
import { GzipPool } from './gzip-pool.ts';
import { PAYLOAD_GZIP, ShardWriter, SubscriptionBatcher, shardFileName } from './kinesis.ts';
import { FunctionSim, type LogItem, type SimOutput } from './lambda.ts';
import { ATTACK_KINDS, buildPlan, type AttackKind, type AttackLabel, type ConfounderLabel } from './plan.ts';
import { Rng, hash32 } from './prng.ts';

export const GENERATOR_VERSION = '1.1.0';
/** A Monday, so the weekly cycle starts on a working day. */
export const DEFAULT_START = '2026-01-05T00:00:00.000Z';

const MIN = 60_000;
const WINDOW_MS = MIN;
const CLOUDTRAIL_BATCH_MS = 5 * MIN;

/** What the caller may set; everything else has a default. */
export interface GenerateOptions {
  seed: number;
  /** Output directory (created if missing) */
  out: string;
  days?: number;
  functions?: number;
  scale?: number;
  /** ISO time or epoch ms; default {@link DEFAULT_START} */
  start?: string | number;
  shards?: number;
  /** Attack kinds to inject in order, `[]` for none; default: a seed-chosen mix */
  attacks?: AttackKind[];
  onProgress?: (doneMs: number, totalMs: number) => void;
}

/** Options after defaults and validation, as recorded in labels and manifest. */
export interface ResolvedOptions {
  days: number;
  functions: number;
  scale: number;
  start: string;
  shards: number;
  attacks: AttackKind[] | 'default';
}

export interface LabelsFile {
  seed: number;
  options: ResolvedOptions;
  start: number;
  end: number;
  learningEnd: number;
  functions: {
    name: string;
    account: string;
    region: string;
    profile: string;
    memoryMB: number;
    timeoutMs: number;
    architecture: string;
    format: LogFormat;
    formatSwitch?: { at: number; to: LogFormat };
    versioned: boolean;
  }[];
  attacks: AttackLabel[];
  confounders: ConfounderLabel[];
  skippedAttacks?: AttackKind[];
}

export interface ManifestFile {
  name: string;
  generator: { name: string; version: string };
  command: string;
  seed: number;
  options: ResolvedOptions;
  provenance: string;
  licence: { spdx: string; note: string };
  labels: Record<string, string>;
  files: { path: string; bytes: number; sha256: string; records?: number; dataRecords?: number; controlRecords?: number; logEvents?: number; events?: number }[];
  counts: {
    records: number;
    logEvents: number;
    lambdaLogEvents: number;
    cloudtrailRecords: number;
    events: Record<FnEventKind, number>;
    invocations: { total: number; coldStarts: number; timeouts: number; errors: number };
    attacks: Record<string, number>;
    confounders: Record<string, number>;
  };
}

export interface GenerateResult {
  labels: LabelsFile;
  manifest: ManifestFile;
}

/** Validates options and fills defaults; bad values are a {@link UsageError} naming the option. */
export function resolveOptions(opts: GenerateOptions): ResolvedOptions {
  const int = (name: string, v: number, lo: number, hi: number): number => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi} (got ${v})`);
    return v;
  };
  int('seed', opts.seed, 0, 2 ** 32 - 1);
  const days = opts.days ?? 7;
  if (!Number.isFinite(days) || days <= 0 || days > 60) throw new UsageError(`--days must be more than 0 and at most 60 (got ${days})`);
  const functions = int('functions', opts.functions ?? 40, 1, 500);
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0 || scale > 20) throw new UsageError(`--scale must be more than 0 and at most 20 (got ${scale})`);
  const startMs = typeof opts.start === 'number' ? opts.start : Date.parse(opts.start ?? DEFAULT_START);
  if (!Number.isFinite(startMs)) throw new UsageError(`--start must be an ISO date-time (got ${JSON.stringify(opts.start)})`);
  const shards = int('shards', opts.shards ?? (functions > 20 ? 2 : 1), 1, 64);
  for (const k of opts.attacks ?? []) {
    if (!(ATTACK_KINDS as readonly string[]).includes(k)) throw new UsageError(`unknown attack kind ${JSON.stringify(k)}; known: ${ATTACK_KINDS.join(', ')}`);
  }
  return { days, functions, scale, start: new Date(startMs - (startMs % 1000)).toISOString(), shards, attacks: opts.attacks ? [...opts.attacks] : 'default' };
}

/** The canonical command line that regenerates a dataset (the output directory by its base name). */
export function commandLine(seed: number, o: ResolvedOptions, out: string): string {
  const attacks = o.attacks === 'default' ? '' : ` --attacks ${o.attacks.length ? o.attacks.join(',') : 'none'}`;
  return `fnwatch gen --seed ${seed} --days ${o.days} --functions ${o.functions} --scale ${o.scale} --start ${o.start} --shards ${o.shards}${attacks} --out ${basename(out)}`;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

function byItemOrder(a: LogItem, b: LogItem): number {
  return a.sort - b.sort || a.ts - b.ts || a.seq - b.seq;
}

/**
 * Generates a dataset into `opts.out`.
 *
 * @example
 * const { labels, manifest } = await generateDataset({ seed: 7, out: '/tmp/ds', days: 3, functions: 12, scale: 0.1 });
 * labels.attacks.length; // → 3
 */
export async function generateDataset(opts: GenerateOptions): Promise<GenerateResult> {
  const o = resolveOptions(opts);
  try {
    mkdirSync(join(opts.out, 'kinesis'), { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot create output directory ${opts.out}: ${(err as Error).message}`);
  }
  const pool = new GzipPool(PAYLOAD_GZIP);
  try {
    return await generateInto(opts, o, pool);
  } finally {
    await pool.close();
  }
}

async function generateInto(opts: GenerateOptions, o: ResolvedOptions, pool: GzipPool): Promise<GenerateResult> {
  const start = Date.parse(o.start);
  const end = start + Math.round(o.days * 86_400_000);
  const specs = buildCatalog({ seed: opts.seed, functions: o.functions, scale: o.scale });
  const plan = buildPlan(specs, { seed: opts.seed, start, end, days: o.days, scale: o.scale, attacks: o.attacks === 'default' ? undefined : o.attacks });
  const root = new Rng(opts.seed);
  const shards = Array.from({ length: o.shards }, (_, i) => new ShardWriter(join(opts.out, 'kinesis', shardFileName(i)), i, root.fork(`shard:${i}`), start, pool));
  const batcher = new SubscriptionBatcher(shards, root.fork('batcher'));

  let pending: LogItem[] = [];
  let seq = 0;
  let idCounter = 0;
  const eventId = (ts: number): string => ((BigInt(ts) << 144n) | BigInt(++idCounter)).toString();
  const groups = new Map(specs.map((s) => [s.name, `/aws/lambda/${s.name}`]));
  const homeRegion = new Map<string, string>();
  for (const s of specs) if (!homeRegion.has(s.account)) homeRegion.set(s.account, s.region);
  const counts = { lambdaLogEvents: 0, cloudtrailRecords: 0, events: { invocation: 0, resource_access: 0, egress: 0, change: 0 } as Record<FnEventKind, number> };

  const output: SimOutput = {
    log(fn, stream, ts, message, truth) {
      counts.lambdaLogEvents++;
      const id = eventId(ts);
      // A parser keys log-derived events by the CloudWatch event id: the dedupe key.
      if (truth) truth.id = id;
      pending.push({ sort: ts, ts, seq: seq++, owner: fn.account, group: groups.get(fn.name)!, stream, id, message, truth });
    },
    trail(account, rec: TrailRecord<FnEvent>) {
      // CloudTrail delivers in ~5-minute batches, 2-10 minutes after the calls.
      const batch = Math.floor(rec.time / CLOUDTRAIL_BATCH_MS) + 1;
      const deliver = batch * CLOUDTRAIL_BATCH_MS + 2 * MIN + (hash32(`${account}:${batch}`, opts.seed) % (3 * MIN));
      counts.cloudtrailRecords++;
      pending.push({
        sort: deliver,
        ts: rec.time,
        seq: seq++,
        owner: account,
        group: `aws-cloudtrail-logs-${account}`,
        stream: `${account}_CloudTrail_${homeRegion.get(account)}`,
        id: eventId(rec.time),
        message: rec.json,
        truth: rec.truth,
      });
    },
  };

  const sims = specs.map((s) => new FunctionSim(s, plan.effects.get(s.name) ?? [], root.fork(`sim:${s.name}`), start, output));
  const simByName = new Map(sims.map((s) => [s.spec.name, s]));

  // Deploys: the CI user's management calls, and the behaviour change they cause.
  const management: { time: number; spec: FunctionSpec; call: ManagementCall }[] = [];
  const deployRng = root.fork('deploy-records');
  const deployers = new Map([...homeRegion.keys()].map((a) => [a, deployerFor(a, deployRng)]));
  const formatSwitches = new Map<string, number>();
  for (const d of plan.deploys) {
    const sim = simByName.get(d.function)!;
    const spec = sim.spec;
    if (d.kind === 'format') {
      management.push({ time: d.time, spec, call: { eventName: 'UpdateFunctionConfiguration20150331v2', logFormat: 'JSON' } });
      sim.switchFormat(d.time + 5000, 'json');
      formatSwitches.set(spec.name, d.time + 5000);
      continue;
    }
    const codeSha256 = Buffer.from(deployRng.hex(64), 'hex').toString('base64');
    const version = sim.deployCode(d.time + 30_000, d.durationFactor);
    management.push({ time: d.time, spec, call: { eventName: 'UpdateFunctionCode20150331v2', codeSha256 } });
    if (spec.versioned) {
      management.push({ time: d.time + 3000 + deployRng.int(12_000), spec, call: { eventName: 'PublishVersion20150331', version, codeSha256 } });
      management.push({ time: d.time + 16_000 + deployRng.int(13_000), spec, call: { eventName: 'UpdateAlias20150331', version } });
    }
  }
  management.sort((a, b) => a.time - b.time);

  const invocationTotals = { total: 0, coldStarts: 0, timeouts: 0, errors: 0 };

  const arrowPath = join(opts.out, 'events.arrow');
  const truth = new ArrowEventWriter(arrowPath);

  function release(limit: number): void {
    pending.sort(byItemOrder);
    let k = 0;
    while (k < pending.length && pending[k]!.sort < limit) k++;
    const ready = pending.slice(0, k);
    pending = pending.slice(k);
    for (const item of ready) {
      batcher.add(item);
      if (item.truth) {
        counts.events[item.truth.kind]++;
        truth.append(item.truth);
      }
    }
    if (Number.isFinite(limit)) batcher.advance(limit);
  }

  async function simulate(): Promise<void> {
    let mi = 0;
    let ci = 0;
    for (let t0 = start; t0 < end; t0 += WINDOW_MS) {
      const t1 = Math.min(end, t0 + WINDOW_MS);
      for (; mi < management.length && management[mi]!.time < t1; mi++) {
        const m = management[mi]!;
        output.trail(m.spec.account, managementRecord(m.spec, m.call, m.time, deployers.get(m.spec.account)!, deployRng));
      }
      for (; ci < plan.calls.length && plan.calls[ci]!.time < t1; ci++) {
        const c = plan.calls[ci]!;
        simByName.get(c.function)!.call(undefined, c.call, c.time, c.error);
      }
      for (const sim of sims) sim.step(t0, t1);
      release(t1);
      for (const shard of shards) if (shard.congested) await shard.drain();
      if (opts.onProgress && (t0 - start) % (60 * MIN) === 0) opts.onProgress(t0 - start, end - start);
    }
    release(Infinity);
    batcher.flushAll();
  }

  await simulate();
  const truthEvents = await truth.finish();
  await Promise.all(shards.map((s) => s.close()));
  for (const sim of sims) {
    invocationTotals.total += sim.stats.invocations;
    invocationTotals.coldStarts += sim.stats.coldStarts;
    invocationTotals.timeouts += sim.stats.timeouts;
    invocationTotals.errors += sim.stats.errors;
  }
  opts.onProgress?.(end - start, end - start);

  const labels: LabelsFile = {
    seed: opts.seed,
    options: o,
    start,
    end,
    learningEnd: plan.learningEnd,
    functions: specs.map((s) => {
      const f: LabelsFile['functions'][number] = {
        name: s.name,
        account: s.account,
        region: s.region,
        profile: s.profile,
        memoryMB: s.memoryMB,
        timeoutMs: s.timeoutMs,
        architecture: s.architecture,
        format: s.format,
        versioned: s.versioned,
      };
      const switchAt = formatSwitches.get(s.name);
      if (switchAt !== undefined) f.formatSwitch = { at: switchAt, to: 'json' };
      return f;
    }),
    attacks: plan.attacks,
    confounders: plan.confounders,
  };
  if (plan.skipped.length > 0) labels.skippedAttacks = plan.skipped;
  const labelsPath = join(opts.out, 'labels.json');
  writeFileSync(labelsPath, JSON.stringify(labels, null, 2) + '\n');

  const files: ManifestFile['files'] = [];
  for (const shard of shards) {
    files.push({ path: `kinesis/${shardFileName(shard.index)}`, bytes: statSync(shard.path).size, sha256: await sha256(shard.path), ...shard.counts });
  }
  files.push({ path: 'events.arrow', bytes: statSync(arrowPath).size, sha256: await sha256(arrowPath), events: truthEvents });
  files.push({ path: 'labels.json', bytes: statSync(labelsPath).size, sha256: await sha256(labelsPath) });
  const tally = (xs: { kind: string }[]): Record<string, number> => {
    const t: Record<string, number> = {};
    for (const x of xs) t[x.kind] = (t[x.kind] ?? 0) + 1;
    return t;
  };
  const manifest: ManifestFile = {
    name: `fnwatch synthetic scenario (seed ${opts.seed})`,
    generator: { name: 'fnwatch gen (datasets/generator)', version: GENERATOR_VERSION },
    command: commandLine(opts.seed, o, opts.out),
    seed: opts.seed,
    options: o,
    provenance:
      'Synthetic. Every byte is produced by the fnwatch scenario generator from the seed and options above; no real account, ' +
      'log or CloudTrail data is included. Account ids, ARNs, IPs and request ids are random. Re-running the command with ' +
      'the same generator version reproduces the files byte for byte.',
    licence: { spdx: 'MIT', note: 'Generated data, released under the MIT licence like the rest of fnwatch.' },
    labels: {
      'labels.json#/attacks': 'injected attacks: {id, function, kind, expect (alert kinds that count as catching it), start, end (epoch ms), description}',
      'labels.json#/confounders': 'benign events that must not alert above mustNotAlertAbove (deploy, scheduled-burst, growth, flash-crowd)',
      'labels.json#/learningEnd': 'no attack starts before this time (epoch ms)',
      'events.arrow': 'ground truth: the normalized events (src/core/events.ts) a correct parser derives from the Kinesis records, in stream order',
      'kinesis/*.ndjson.gz': 'aws kinesis get-records Records[] entries, one JSON object per line; Data = base64(gzip(CloudWatch Logs subscription message))',
    },
    files,
    counts: {
      records: shards.reduce((n, s) => n + s.counts.records, 0),
      logEvents: shards.reduce((n, s) => n + s.counts.logEvents, 0),
      lambdaLogEvents: counts.lambdaLogEvents,
      cloudtrailRecords: counts.cloudtrailRecords,
      events: counts.events,
      invocations: invocationTotals,
      attacks: tally(plan.attacks),
      confounders: tally(plan.confounders),
    },
  };
  writeFileSync(join(opts.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { labels, manifest };
}
