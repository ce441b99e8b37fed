/**
 * `fnwatch investigate`: what happened to these functions between two times? Pulls the log groups
 * with FilterLogEvents (a learning window first, if asked, whose alerts are suppressed), runs the
 * events through the same pipeline as `replay` and the service, and prints per function what it
 * did, what changed and what alerted.
 *
 *   fnwatch investigate --log-group-prefix /aws/lambda/orders- --learn-from -3d --from -6h
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { Command, Option } from 'commander';
import { severityName, type Alert } from '../core/alert.ts';
import { UsageError } from '../core/contracts.ts';
import { functionKey, type FnEvent, type FunctionRef } from '../core/events.ts';
import { formatTime, parseTime, parseTimeRange } from '../core/time.ts';
import { defaultPack, loadPack, type ModelPack } from '../detectors/pack.ts';
import { Pipeline, type PipelineCounts } from '../pipeline/pipeline.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { createLogsClient, logsError } from '../sources/cloudwatch-logs/client.ts';
import { DEFAULT_FILTER_RATE, FilterLogEventsSource, type RangeProgress } from '../sources/cloudwatch-logs/filter.ts';
import { resolveLogGroups, type LogGroupRef } from '../sources/cloudwatch-logs/groups.ts';
import { RateLimiter } from '../sources/cloudwatch-logs/throttle.ts';
import { ReportCollector, writeHtmlReport } from '../../replay/report/index.ts';
import { addSinkOptions, type SinkCliOptions } from '../sinks/cli.ts';
import { AlertDelivery } from './delivery.ts';

/** Distinct egress destinations and actions remembered per function and window. */
const SET_CAP = 256;

export interface InvestigateOptions {
  client: CloudWatchLogsClient;
  logGroups?: readonly string[];
  logGroupPrefixes?: readonly string[];
  /** Investigation window [from, to), epoch ms */
  from: number;
  to: number;
  /** Start of the learning window [learnFrom, from), epoch ms */
  learnFrom?: number;
  /** Log groups holding CloudTrail records (read too, parsed as CloudTrail) */
  cloudTrailLogGroups?: readonly string[];
  baseline?: ReturnType<typeof loadBaseline>;
  models?: ModelPack;
  /** Region stamped on events when a log group's ARN does not tell */
  region?: string;
  requestsPerSecond?: number;
  pageLimit?: number;
  /** Each alert of the investigation window, as it is raised */
  onAlert?: (alert: Alert) => void;
  /** Collects series and findings for the HTML report (learning-window alerts are not given to it) */
  report?: ReportCollector;
  onProgress?: (phase: 'learning' | 'investigating', progress: Readonly<RangeProgress>, range: { from: number; to: number }) => void;
  onPhaseEnd?: (phase: 'learning' | 'investigating') => void;
}

/** What one function did in one window. */
export interface WindowStats {
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  durationSum: number;
  durationCount: number;
  durationMax: number;
  egress: Set<string>;
  actions: Set<string>;
  versions: Set<string>;
  changes: string[];
  deniedCalls: number;
}

export interface FunctionReport {
  fn: FunctionRef;
  key: string;
  learning: WindowStats;
  window: WindowStats;
  /** Alerts of the investigation window, latest state per finding */
  findings: { alert: Alert; updates: number }[];
  /** Plain-language differences between the learning window and the investigation window */
  changes: string[];
}

export interface InvestigationResult {
  groups: LogGroupRef[];
  from: number;
  to: number;
  learnFrom?: number;
  /** True when the run started from a saved baseline */
  baseline: boolean;
  alerts: Alert[];
  /** Alerts raised while learning: not reported, only counted */
  learningAlerts: number;
  functions: FunctionReport[];
  counts: PipelineCounts;
  fetch: { pages: number; events: number; retries: number; throttled: number };
}

function emptyStats(): WindowStats {
  return {
    invocations: 0,
    errors: 0,
    timeouts: 0,
    coldStarts: 0,
    durationSum: 0,
    durationCount: 0,
    durationMax: 0,
    egress: new Set(),
    actions: new Set(),
    versions: new Set(),
    changes: [],
    deniedCalls: 0,
  };
}

function addCapped(set: Set<string>, value: string): void {
  if (set.size < SET_CAP || set.has(value)) set.add(value);
}

function observe(s: WindowStats, ev: FnEvent): void {
  switch (ev.kind) {
    case 'invocation':
      s.invocations++;
      if (ev.status === 'timeout') s.timeouts++;
      if (ev.status !== 'success') s.errors++;
      if (ev.initDurationMs !== undefined || ev.restoreDurationMs !== undefined) s.coldStarts++;
      if (ev.durationMs !== undefined) {
        s.durationSum += ev.durationMs;
        s.durationCount++;
        if (ev.durationMs > s.durationMax) s.durationMax = ev.durationMs;
      }
      if (ev.version !== undefined) addCapped(s.versions, ev.version);
      break;
    case 'egress':
      addCapped(s.egress, ev.port === undefined ? ev.host : `${ev.host}:${ev.port}`);
      break;
    case 'resource_access':
      addCapped(s.actions, ev.action);
      if (ev.errorCode && /AccessDenied|Unauthorized/i.test(ev.errorCode)) s.deniedCalls++;
      break;
    case 'change':
      if (s.changes.length < 20) s.changes.push(`${ev.detail ?? ev.change}${ev.version ? ` ${ev.version}` : ''}${ev.actor ? ` by ${ev.actor}` : ''}`);
      break;
  }
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/**
 * What changed between the learning window and the investigation window, in words.
 *
 * @example
 * describeChanges(learningStats, windowStats, 24 * 3_600_000, 6 * 3_600_000);
 * // → ['invocation rate 2.1x: 126.7/h (was 60/h)', 'new egress: exfil.example.net:8443']
 */
export function describeChanges(learning: WindowStats, window: WindowStats, learningMs: number, windowMs: number): string[] {
  if (learningMs <= 0) return window.changes.map((c) => `change: ${c}`);
  const out: string[] = [];
  const learnedAnything = learning.invocations + learning.egress.size + learning.actions.size > 0;
  if (!learnedAnything) return ['first seen in this window (nothing in the learning window)', ...window.changes.map((c) => `change: ${c}`)];
  const rateBefore = (learning.invocations / learningMs) * 3_600_000;
  const rateNow = (window.invocations / windowMs) * 3_600_000;
  if (learning.invocations > 0 && window.invocations === 0) out.push(`went quiet: no invocations (was ${fmt.format(rateBefore)}/h)`);
  else if (rateBefore > 0 && (rateNow >= 2 * rateBefore || rateNow <= rateBefore / 2)) {
    out.push(`invocation rate ${fmt.format(rateNow / rateBefore)}x: ${fmt.format(rateNow)}/h (was ${fmt.format(rateBefore)}/h)`);
  } else if (rateBefore === 0 && window.invocations > 0) out.push(`invoked ${window.invocations} times (never in the learning window)`);
  const meanBefore = learning.durationCount ? learning.durationSum / learning.durationCount : 0;
  const meanNow = window.durationCount ? window.durationSum / window.durationCount : 0;
  if (meanBefore > 0 && meanNow > 0 && (meanNow >= 1.5 * meanBefore || meanNow <= meanBefore / 1.5)) {
    out.push(`mean duration ${fmt.format(meanNow)} ms (was ${fmt.format(meanBefore)} ms)`);
  }
  const errBefore = learning.invocations ? learning.errors / learning.invocations : 0;
  const errNow = window.invocations ? window.errors / window.invocations : 0;
  if (window.errors > 0 && errNow >= 0.01 && errNow >= 2 * errBefore) {
    out.push(`error rate ${fmt.format(errNow * 100)}% (was ${fmt.format(errBefore * 100)}%)${window.timeouts ? `, ${window.timeouts} timeouts` : ''}`);
  }
  const newEgress = [...window.egress].filter((h) => !learning.egress.has(h));
  if (newEgress.length) out.push(`new egress: ${newEgress.slice(0, 8).join(', ')}${newEgress.length > 8 ? ` (+${newEgress.length - 8})` : ''}`);
  const newActions = [...window.actions].filter((a) => !learning.actions.has(a));
  if (newActions.length) out.push(`new API actions: ${newActions.slice(0, 8).join(', ')}${newActions.length > 8 ? ` (+${newActions.length - 8})` : ''}`);
  const newVersions = [...window.versions].filter((v) => !learning.versions.has(v));
  if (newVersions.length) out.push(`new version${newVersions.length > 1 ? 's' : ''}: ${newVersions.join(', ')}`);
  if (window.deniedCalls > 0) out.push(`${window.deniedCalls} denied API calls`);
  for (const c of window.changes) out.push(`change: ${c}`);
  return out;
}

/**
 * Runs an investigation: resolves the log groups, reads the learning window (alerts suppressed)
 * and then the investigation window through one pipeline.
 *
 * @example
 * const result = await investigate({ client: createLogsClient(), logGroups: ['/aws/lambda/orders-api'],
 *   learnFrom: Date.now() - 3 * 86_400_000, from: Date.now() - 6 * 3_600_000, to: Date.now() });
 * process.stdout.write(formatInvestigation(result));
 */
export async function investigate(opts: InvestigateOptions): Promise<InvestigationResult> {
  if (!(opts.from < opts.to)) throw new UsageError(`empty time range: --from ${formatTime(opts.from)} is not before --to ${formatTime(opts.to)}`);
  if (opts.learnFrom !== undefined && !(opts.learnFrom < opts.from)) {
    throw new UsageError(`--learn-from ${formatTime(opts.learnFrom)} must be before --from ${formatTime(opts.from)}`);
  }
  const trailGroups = [...(opts.cloudTrailLogGroups ?? [])];
  const limiter = new RateLimiter(opts.requestsPerSecond ?? DEFAULT_FILTER_RATE);
  const groups = await resolveLogGroups(opts.client, { names: [...(opts.logGroups ?? []), ...trailGroups], prefixes: opts.logGroupPrefixes }, { limiter });
  const region = opts.region ?? (await opts.client.config.region().catch(() => undefined));

  const functions = new Map<string, { fn: FunctionRef; learning: WindowStats; window: WindowStats; findings: Map<string, { alert: Alert; updates: number }> }>();
  let learning = opts.learnFrom !== undefined;
  let learningAlerts = 0;
  const alerts: Alert[] = [];
  const entry = (fn: FunctionRef) => {
    const key = functionKey(fn);
    let f = functions.get(key);
    if (!f) functions.set(key, (f = { fn, learning: emptyStats(), window: emptyStats(), findings: new Map() }));
    return f;
  };
  const report = opts.report;
  const pipeline = new Pipeline({
    models: opts.models,
    baseline: opts.baseline,
    observer: report?.observer,
    parser: { cloudTrailLogGroups: trailGroups.length ? trailGroups : undefined, region },
    onEvent: (ev) => {
      const f = entry(ev.fn);
      observe(learning ? f.learning : f.window, ev);
    },
    onAlert: (alert) => {
      if (learning) {
        learningAlerts++;
        return;
      }
      alerts.push(alert);
      // The collector must see an alert before the observer call for the event that raised it,
      // which is the order the engine calls these in.
      report?.onAlert(alert);
      opts.onAlert?.(alert);
      const r = alert.resources[0];
      const f = entry({ name: r?.name ?? '?', account: r?.owner?.account?.uid, region: r?.region });
      const prev = f.findings.get(alert.finding_info.uid);
      f.findings.set(alert.finding_info.uid, { alert, updates: prev ? prev.updates + 1 : 0 });
    },
  });

  const fetch = { pages: 0, events: 0, retries: 0, throttled: 0 };
  const phases: { phase: 'learning' | 'investigating'; from: number; to: number }[] = [];
  if (opts.learnFrom !== undefined) phases.push({ phase: 'learning', from: opts.learnFrom, to: opts.from });
  phases.push({ phase: 'investigating', from: opts.from, to: opts.to });
  for (const { phase, from, to } of phases) {
    learning = phase === 'learning';
    const source = new FilterLogEventsSource(opts.client, {
      logGroups: groups,
      from,
      to,
      limiter,
      pageLimit: opts.pageLimit,
      onProgress: (p) => opts.onProgress?.(phase, p, { from, to }),
    });
    for await (const batch of source.batches()) {
      pipeline.processBatch(batch.items);
      if (batch.watermark !== undefined) pipeline.advance(batch.watermark);
    }
    // The range was read to its end: event time has reached `to` even if the last event was earlier.
    pipeline.advance(to - 1);
    fetch.pages += source.progress.pages;
    fetch.events += source.progress.fetched;
    fetch.retries += source.progress.retries;
    fetch.throttled += source.progress.throttled;
    opts.onPhaseEnd?.(phase);
  }
  pipeline.finish();

  const learningMs = opts.learnFrom !== undefined ? opts.from - opts.learnFrom : 0;
  const reports: FunctionReport[] = [...functions.entries()].map(([key, f]) => ({
    fn: f.fn,
    key,
    learning: f.learning,
    window: f.window,
    findings: [...f.findings.values()],
    changes: describeChanges(f.learning, f.window, learningMs, opts.to - opts.from),
  }));
  reports.sort(
    (a, b) =>
      maxSeverity(b) - maxSeverity(a) ||
      b.findings.length - a.findings.length ||
      b.changes.length - a.changes.length ||
      b.window.invocations - a.window.invocations ||
      a.fn.name.localeCompare(b.fn.name),
  );
  return { groups, from: opts.from, to: opts.to, learnFrom: opts.learnFrom, baseline: opts.baseline !== undefined, alerts, learningAlerts, functions: reports, counts: pipeline.counts, fetch };
}

function maxSeverity(r: FunctionReport): number {
  let m = 0;
  for (const f of r.findings) if (f.alert.severity_id > m) m = f.alert.severity_id;
  return m;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${fmt.format(h / 24)}d` : `${fmt.format(h)}h`;
}

/** Most functions listed one per line when nothing happened to them. */
const QUIET_LISTED = 20;

/**
 * The summary a person reads: the range, what was read, then per function what it did, what
 * changed and what alerted (most severe first).
 *
 * @example
 * process.stdout.write(formatInvestigation(await investigate(opts)));
 */
export function formatInvestigation(r: InvestigationResult): string {
  const lines: string[] = [];
  const c = r.counts;
  lines.push(
    `Investigated ${plural(r.groups.length, 'log group')} from ${formatTime(r.from)} to ${formatTime(r.to)} (${hours(r.to - r.from)})` +
      (r.learnFrom !== undefined ? `, learning from ${formatTime(r.learnFrom)} (${hours(r.from - r.learnFrom)})` : ''),
  );
  lines.push(
    `Read ${plural(r.fetch.events, 'log event')} in ${plural(r.fetch.pages, 'page')}${r.fetch.retries ? ` (${r.fetch.retries} retried, ${r.fetch.throttled} throttled)` : ''}: ` +
      `${plural(c.events.invocation, 'invocation')}, ${c.events.egress.toLocaleString('en-US')} egress, ` +
      `${c.events.resource_access.toLocaleString('en-US')} API calls, ${plural(c.events.change, 'change')}; ` +
      `${plural(c.dead_letter, 'unreadable event')}`,
  );
  lines.push(
    `${plural(r.alerts.length, 'alert')} in the investigation window` +
      (r.learnFrom !== undefined ? `; ${r.learningAlerts} raised while learning (suppressed)` : '') +
      '.',
  );
  if (r.learnFrom === undefined && !r.baseline) {
    lines.push('No --learn-from and no --baseline: functions first seen in this window are still learning, and learning functions do not alert.');
  }
  const notable = r.functions.filter((f) => f.findings.length > 0 || f.changes.length > 0);
  const quiet = r.functions.filter((f) => f.findings.length === 0 && f.changes.length === 0);
  const windowMs = r.to - r.from;
  for (const f of notable) {
    const w = f.window;
    lines.push('');
    lines.push(`${f.fn.name}${f.fn.account || f.fn.region ? `  (${f.fn.account ?? '?'} ${f.fn.region ?? '?'})` : ''}`);
    const mean = w.durationCount ? `, mean ${fmt.format(w.durationSum / w.durationCount)} ms, max ${fmt.format(w.durationMax)} ms` : '';
    lines.push(
      `  ${plural(w.invocations, 'invocation')} (${fmt.format((w.invocations / windowMs) * 3_600_000)}/h), ${plural(w.errors, 'error')}${w.timeouts ? ` (${w.timeouts} timeouts)` : ''}${w.coldStarts ? `, ${plural(w.coldStarts, 'cold start')}` : ''}${mean}`,
    );
    for (const change of f.changes) lines.push(`  changed: ${change}`);
    for (const { alert, updates } of f.findings) {
      const kind = alert.finding_info.types[0];
      lines.push(
        `  [${severityName(alert.severity_id)}] ${formatTime(alert.finding_info.first_seen_time)} ${kind}: ${alert.finding_info.desc}${updates ? ` (updated ${updates}x)` : ''}`,
      );
    }
  }
  if (quiet.length > 0) {
    lines.push('');
    lines.push(`${plural(quiet.length, 'function')} without alerts or notable changes:`);
    for (const f of quiet.slice(0, QUIET_LISTED)) lines.push(`  ${f.fn.name}: ${plural(f.window.invocations, 'invocation')}, ${plural(f.window.errors, 'error')}`);
    if (quiet.length > QUIET_LISTED) lines.push(`  … and ${quiet.length - QUIET_LISTED} more`);
  }
  if (r.functions.length === 0) lines.push('', 'No Lambda activity found in these log groups for this range.');
  return lines.join('\n') + '\n';
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface CliOptions extends SinkCliOptions {
  logGroup?: string[];
  logGroupPrefix?: string[];
  from: string;
  to?: string;
  learnFrom?: string;
  baseline?: string;
  cloudtrailLogGroup?: string[];
  report?: string;
  models?: string;
  requestsPerSecond: string;
}

/** Progress on stderr while it is a terminal: log groups done, events fetched, event-time position. */
function progressBar(): Pick<InvestigateOptions, 'onProgress' | 'onPhaseEnd'> {
  if (!process.stderr.isTTY) return {};
  let bar: SingleBar | undefined;
  let current: string | undefined;
  return {
    onProgress(phase, p, range) {
      const total = Math.max(1, Math.ceil((range.to - range.from) / 60_000));
      if (current !== phase) {
        bar?.stop();
        bar = new SingleBar({
          format: `${phase.padEnd(13)} [{bar}] {percentage}% | groups {groupsDone}/{groups} | {fetched} events | at {position}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        });
        bar.start(total, 0, { groupsDone: 0, groups: p.groups, fetched: 0, position: formatTime(range.from) });
        current = phase;
      }
      const minutes = p.position === undefined ? 0 : Math.floor((p.position - range.from) / 60_000);
      bar!.update(Math.min(total, minutes), {
        groupsDone: p.groupsDone,
        groups: p.groups,
        fetched: p.fetched.toLocaleString('en-US'),
        position: formatTime(p.position ?? range.from),
      });
    },
    onPhaseEnd() {
      bar?.update(bar.getTotal());
      bar?.stop();
      bar = undefined;
      current = undefined;
    },
  };
}

/**
 * Adds `investigate` to the command line.
 *
 * @example
 * register(new Command('fnwatch'));
 */
export function register(program: Command): void {
  const cmd = program
    .command('investigate')
    .description('pull CloudWatch Logs for a time range, run them through the detectors, and summarise per function what changed and what alerted')
    .option('--log-group <name>', 'log group name or ARN (repeatable)', collect)
    .option('--log-group-prefix <prefix>', 'every log group whose name starts with this, e.g. /aws/lambda/ (repeatable)', collect)
    .requiredOption('--from <time>', 'start of the investigation window: ISO-8601 (UTC unless an offset is given) or back from now (-6h, 2d, 30m)')
    .option('--to <time>', 'end of the window (exclusive; default now)')
    .option('--learn-from <time>', 'learn baselines from this time up to --from first; alerts raised while learning are suppressed')
    .option('--baseline <dir>', 'start from a baseline saved by `fnwatch train` or the service')
    .option('--cloudtrail-log-group <name>', 'log group with CloudTrail records, for API calls by the functions (repeatable)', collect)
    .option('--report <file>', 'write an HTML report (per-function series, findings) to this file')
    .option('--models <file>', 'detector pack (default: models/default.yaml)')
    .addOption(new Option('--requests-per-second <n>', 'FilterLogEvents request budget (the AWS default quota is 5/s per account and region)').default(String(DEFAULT_FILTER_RATE)));
  addSinkOptions(cmd)
    .addHelpText('after', '\nAlerts go to every sink asked for (--alerts, --webhook-url) as they are raised, and are flushed before the command exits;\nan alert a webhook did not accept makes the exit code 1 (it stays in the outbox for the next run).')
    .action(async (o: CliOptions) => {
      if (!o.logGroup && !o.logGroupPrefix) throw new UsageError('name the log groups to read: --log-group NAME or --log-group-prefix PREFIX');
      const now = Date.now();
      const range = parseTimeRange(o.from, o.to, now);
      const learnFrom = o.learnFrom === undefined ? undefined : parseTime(o.learnFrom, now, '--learn-from');
      const rps = Number(o.requestsPerSecond);
      if (!(rps > 0)) throw new UsageError(`--requests-per-second must be a positive number, got ${o.requestsPerSecond}`);
      const baseline = o.baseline ? loadBaseline(o.baseline) : undefined;
      const models = o.models ? loadPack(o.models) : defaultPack();
      const client = createLogsClient();
      const region = await client.config.region().catch((err: unknown) => {
        throw logsError(err, 'investigate');
      });
      const delivery = await AlertDelivery.open(o);
      const report = o.report ? new ReportCollector({ models }) : undefined;
      try {
        const result = await investigate({
          client,
          logGroups: o.logGroup,
          logGroupPrefixes: o.logGroupPrefix,
          cloudTrailLogGroups: o.cloudtrailLogGroup,
          from: range.from,
          to: range.to,
          learnFrom,
          baseline,
          models,
          region,
          requestsPerSecond: rps,
          onAlert: delivery.empty ? undefined : (a) => delivery.push(a),
          report,
          ...progressBar(),
        });
        // A delivery failure is reported after the summary and the report: the investigation itself is complete.
        let deliveryError: unknown;
        let deliveryNotes: string[] = [];
        try {
          deliveryNotes = await delivery.finish();
        } catch (err) {
          deliveryError = err;
        }
        process.stdout.write(formatInvestigation(result));
        if (o.alerts && !deliveryError) process.stderr.write(`wrote ${plural(result.alerts.length, 'alert')} to ${o.alerts}\n`);
        for (const note of deliveryNotes) process.stderr.write(`${note}\n`);
        if (report && o.report) {
          mkdirSync(dirname(o.report), { recursive: true });
          const written = await writeHtmlReport(o.report, {
            title: 'fnwatch investigate',
            collector: report,
            summary: {
              dataset: result.groups.map((g) => g.name).join(', '),
              counts: result.counts,
              figures: {
                from: formatTime(result.from),
                to: formatTime(result.to),
                ...(result.learnFrom !== undefined ? { 'learning from': formatTime(result.learnFrom), 'alerts while learning (suppressed)': result.learningAlerts } : {}),
              },
            },
          });
          process.stderr.write(`wrote the report to ${written.path}\n`);
        }
        if (deliveryError) throw deliveryError;
      } finally {
        await delivery.close();
        client.destroy();
      }
    });
}
