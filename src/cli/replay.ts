/**
 * `fnwatch replay <file-or-dir>...`: runs recorded telemetry through the detection pipeline, in
 * event-time order across files, and reports what it read and what alerted.
 *
 *   fnwatch replay recordings/ --alerts alerts.ndjson --dead-letter bad.ndjson --summary-json summary.json
 *
 * Inputs are recognized by content: Kinesis get-records dumps, `aws logs filter-log-events`
 * output (with --log-group), CloudTrail log files, log-event NDJSON, Arrow event files; gzip or not.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { ReportCollector, writePipelineReport } from '../../replay/report/index.ts';
import { severityName, type Alert } from '../core/alert.ts';
import { UsageError, type Sink } from '../core/contracts.ts';
import type { DeadLetter } from '../core/events.ts';
import { formatTime, parseOptionalRange } from '../core/time.ts';
import { loadPack } from '../detectors/pack.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { DeadLetterFile } from '../service/dead-letter-file.ts';
import { ProgressReporter } from '../service/progress.ts';
import { addSinkOptions, type SinkCliOptions } from '../sinks/cli.ts';
import { runReplay, totalEvents, type ReplayResult } from '../sources/files/replay.ts';
import { AlertDelivery } from './delivery.ts';
import { workerCount } from './run.ts';

interface ReplayCliOptions extends SinkCliOptions {
  report?: string;
  deadLetter?: string;
  summaryJson?: string;
  from?: string;
  to?: string;
  logGroup?: string;
  baseline?: string;
  models?: string;
  quiet?: boolean;
  workers: number;
}

/** Findings listed per function in the summary before "… N more". */
const FINDINGS_SHOWN_PER_FUNCTION = 20;

/**
 * Adds `replay` to the command line.
 *
 * @example
 * register(new Command('fnwatch'));
 */
export function register(program: Command): void {
  const cmd = program
    .command('replay')
    .description('replay recorded telemetry files through the detectors and summarise the alerts')
    .argument(
      '<inputs...>',
      'files or directories (recursive): Kinesis get-records dumps, aws logs filter-log-events JSON, CloudTrail log files, log-event NDJSON, .arrow events; gzip accepted',
    )
    .option('--dead-letter <file>', 'write records that could not be read or parsed to this file, one JSON object per line')
    .option('--summary-json <file>', 'write the counts as JSON to this file')
    .option('--from <time>', 'skip items before this time: ISO-8601 (UTC unless an offset is given), epoch ms, or back from now (-6h, 2d)')
    .option('--to <time>', 'skip items at or after this time')
    .option('--log-group <name>', 'log group of aws logs filter-log-events output files (the output does not name it)')
    .option('--baseline <dir>', 'start from a baseline saved by `fnwatch train` or the service')
    .option('--models <file>', 'detector pack (default: models/default.yaml)')
    .option('--report <file.html>', 'write an HTML report (per-function series, baselines, findings) to this file')
    .option('--quiet', 'no progress display and no summary on stdout')
    .option('--workers <n>', 'pipeline worker threads, functions partitioned over them (1: this thread; not with --report)', workerCount, 1);
  addSinkOptions(cmd)
    .addHelpText(
      'after',
      `
Formats are recognized by content, not by name; gzip by its magic bytes. Items are replayed in event-time
order across files (Kinesis records by arrival time, log events by timestamp, CloudTrail records by
eventTime); what disorder remains inside a file is left to the pipeline, which scores on event time.
Lines that fit no format are dead letters (counted; kept with --dead-letter), never a reason to stop.
Alerts go to every sink asked for (--alerts, --webhook-url); they are flushed before the command exits,
and an alert a webhook did not accept makes the exit code 1 (it stays in the outbox for the next run).
--workers N runs N pipelines on worker threads, each holding its functions' whole state, for the same
alerts on more cores, except that the fleet context (peer_functions: other functions using a new host
or action) counts only the functions of the same thread, so a novelty alert can rate higher than on
one thread. Reading files and routing stay on the main thread, so N workers want N + 1 free cores.
--report needs every event on one thread and cannot be combined with it.`,
    )
    .action(async (inputs: string[], opts: ReplayCliOptions) => {
      await replayCommand(inputs, opts);
    });
}

async function replayCommand(inputs: string[], opts: ReplayCliOptions): Promise<void> {
  if (opts.report !== undefined && opts.workers > 1) {
    throw new UsageError('--report cannot be used with --workers above 1: the report must see every event on one thread');
  }
  const now = Date.now();
  const { from, to } = parseOptionalRange(opts, now);
  const baseline = opts.baseline ? loadBaseline(opts.baseline) : undefined;
  const models = opts.models ? loadPack(opts.models) : undefined;

  // Outputs are opened once the inputs are checked, so a typo in a path leaves no empty outputs behind.
  let summaryFd: number | undefined;
  let deadLetters: DeadLetterFile | undefined;
  let delivery: AlertDelivery | undefined;
  const alertSink: Sink = {
    name: 'alerts',
    write: async (alerts) => delivery?.sink.write(alerts),
    // AlertDelivery.finish() flushes once, after the replay; a second flush would wait out a down endpoint twice.
    flush: async () => {},
    close: async () => delivery?.close(),
  };
  const report = opts.report ? new ReportCollector({ models }) : undefined;
  const reasons = new DeadLetterTally();
  const progress = new ProgressReporter({ label: 'replay', enabled: !opts.quiet });

  let result: ReplayResult;
  try {
    result = await runReplay({
      inputs,
      logGroup: opts.logGroup,
      from,
      to,
      workers: opts.workers,
      pipeline: { baseline, models, ...(report ? { observer: report.observer } : {}) },
      sinks: [alertSink],
      // The report must see each alert before the observer call for the event that raised it: runReplay calls onAlert as it is raised.
      ...(report ? { onAlert: report.onAlert } : {}),
      onDeadLetter: (dl) => {
        reasons.add(dl);
        deadLetters?.write(dl);
      },
      onStart: async (stats) => {
        delivery = await AlertDelivery.open(opts);
        if (opts.summaryJson) summaryFd = openOutput(opts.summaryJson, 'the summary');
        if (opts.deadLetter) deadLetters = new DeadLetterFile(opts.deadLetter);
        progress.start(stats.bytesTotal);
      },
      onBatch: async (p) => {
        progress.update({ done: p.bytesDone, events: p.events, position: p.position });
        await deadLetters?.drained();
      },
    });
  } catch (err) {
    if (summaryFd !== undefined) closeSync(summaryFd);
    await delivery?.close();
    throw err;
  } finally {
    progress.stop();
    await deadLetters?.close();
  }

  // A delivery failure is reported after the summary and the report: the replay itself is complete.
  let deliveryError: unknown;
  let deliveryNotes: string[] = [];
  try {
    deliveryNotes = (await delivery?.finish()) ?? [];
  } catch (err) {
    deliveryError = err;
  }

  if (summaryFd !== undefined) {
    try {
      writeSync(summaryFd, JSON.stringify(summaryJson(result), null, 2) + '\n');
    } finally {
      closeSync(summaryFd);
    }
  }
  // result.pipeline is there: --report is refused with --workers above 1.
  if (report && opts.report && result.pipeline) {
    mkdirSync(dirname(opts.report), { recursive: true });
    const written = await writePipelineReport(opts.report, {
      title: 'fnwatch replay',
      pipeline: result.pipeline,
      collector: report,
      alerts: result.alerts,
      dataset: inputs.join(', '),
      figures: { 'events/s': Math.round(result.eventsPerSecond) },
    });
    if (!opts.quiet) process.stderr.write(`wrote the report to ${written.path}\n`);
  }
  if (!opts.quiet) {
    process.stdout.write(humanSummary(result, reasons, { from, to, alerts: opts.alerts, deadLetter: opts.deadLetter }));
    for (const note of deliveryNotes) process.stderr.write(`${note}\n`);
  }
  if (deliveryError) throw deliveryError;
}

function openOutput(path: string, what: string): number {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'w');
  } catch (err) {
    throw new UsageError(`cannot write ${what} to ${path}: ${(err as Error).message}`);
  }
}

/** Dead letters by reason, and where the first one was. */
class DeadLetterTally {
  readonly byReason = new Map<string, number>();
  first: DeadLetter | undefined;

  add(dl: DeadLetter): void {
    this.first ??= dl;
    this.byReason.set(dl.reason, (this.byReason.get(dl.reason) ?? 0) + 1);
  }
}

/** The `--summary-json` document: the counts the issue specifies, then extra keys. */
export function summaryJson(r: ReplayResult): Record<string, unknown> {
  const c = r.counts;
  return {
    records: c.records,
    log_events: c.log_events,
    events: { ...c.events },
    control_messages: c.control_messages,
    dead_letter: c.dead_letter,
    alerts: c.alerts,
    ignored: c.ignored,
    files: r.merge.files,
    skipped_files: r.merge.skipped,
    filtered: r.merge.filtered,
    out_of_order: r.merge.outOfOrder,
    first_time: r.merge.firstTime ?? null,
    last_time: r.merge.lastTime ?? null,
    bytes: r.merge.bytesTotal,
    wall_ms: Math.round(r.wallMs),
    events_per_s: Math.round(r.eventsPerSecond),
  };
}

const n = (v: number): string => v.toLocaleString('en-US');

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

function where(dl: DeadLetter): string {
  const p = dl.position;
  if (p.file) return p.line !== undefined ? `${p.file}:${p.line}` : p.record !== undefined ? `${p.file} record ${p.record}` : p.file;
  if (p.shard) return `${p.shard} ${p.sequence ?? ''}`.trim();
  return p.logGroup ?? 'unknown position';
}

/** The summary printed at the end: counts, then the findings grouped by function. */
export function humanSummary(
  r: ReplayResult,
  reasons: { byReason: Map<string, number>; first: DeadLetter | undefined },
  ctx: { from?: number; to?: number; alerts?: string; deadLetter?: string },
): string {
  const c = r.counts;
  const m = r.merge;
  const lines: string[] = [];
  const events = totalEvents(c);
  const itemsPerSecond = r.wallMs > 0 ? Math.round((m.entries / r.wallMs) * 1000) : 0;
  lines.push(
    `Replayed ${n(m.files)} file${m.files === 1 ? '' : 's'} (${humanSize(m.bytesTotal)}) in ${(r.wallMs / 1000).toFixed(1)} s: ${n(itemsPerSecond)} items/s, ${n(Math.round(r.eventsPerSecond))} events/s`,
  );
  const row = (label: string, value: string): void => {
    lines.push(`  ${label.padEnd(18)}${value}`);
  };
  row('records', n(c.records));
  row('log events', n(c.log_events));
  row('events', `${n(events)}  (invocation ${n(c.events.invocation)}, resource access ${n(c.events.resource_access)}, egress ${n(c.events.egress)}, change ${n(c.events.change)})`);
  row('ignored lines', n(c.ignored));
  row('control messages', n(c.control_messages));
  let dead = n(c.dead_letter);
  if (c.dead_letter > 0) {
    const byReason = [...reasons.byReason].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${n(v)}`);
    dead += `  (${byReason.join(', ')}; first at ${reasons.first ? where(reasons.first) : '?'}${ctx.deadLetter ? `; written to ${ctx.deadLetter}` : '; keep them with --dead-letter FILE'})`;
  }
  row('dead letters', dead);
  if (ctx.from !== undefined || ctx.to !== undefined) {
    row('outside range', `${n(m.filtered)}  (--from ${ctx.from === undefined ? '-' : formatTime(ctx.from)} --to ${ctx.to === undefined ? '-' : formatTime(ctx.to)})`);
  }
  if (m.firstTime !== undefined && m.lastTime !== undefined) row('event time', `${formatTime(m.firstTime)} → ${formatTime(m.lastTime)}`);
  if (m.skipped.length > 0) {
    row('skipped files', n(m.skipped.length));
    const byReason = new Map<string, string[]>();
    for (const s of m.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.file]);
    for (const [reason, files] of byReason) {
      lines.push(`    ${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${n(files.length - 3)} more` : ''}: ${reason}`);
    }
  }
  lines.push('');
  lines.push(...alertLines(r.alerts, ctx.alerts));
  return lines.join('\n') + '\n';
}

/** Severity as a fixed-width column: `HIGH    `, `INFO    `. */
function severityLabel(id: number): string {
  const name = severityName(id).toUpperCase();
  return (name === 'INFORMATIONAL' ? 'INFO' : name).padEnd(8);
}

interface Finding {
  latest: Alert;
  updates: number;
}

function alertLines(alerts: readonly Alert[], alertsFile: string | undefined): string[] {
  if (alerts.length === 0) return ['No alerts.'];
  const findings = new Map<string, Finding>();
  for (const a of alerts) {
    const f = findings.get(a.finding_info.uid);
    if (f) {
      f.latest = a;
      f.updates++;
    } else findings.set(a.finding_info.uid, { latest: a, updates: 0 });
  }
  const byFunction = new Map<string, { title: string; findings: Finding[]; worst: number }>();
  for (const f of findings.values()) {
    const res = f.latest.resources[0];
    const name = res?.name ?? '(unknown function)';
    const account = res?.owner?.account?.uid;
    const key = `${name}\u0000${account ?? ''}\u0000${res?.region ?? ''}`;
    const where = [account, res?.region].filter(Boolean).join(', ');
    const group = byFunction.get(key) ?? { title: where ? `${name}  (${where})` : name, findings: [], worst: 0 };
    group.findings.push(f);
    group.worst = Math.max(group.worst, f.latest.severity_id);
    byFunction.set(key, group);
  }
  const groups = [...byFunction.values()].sort((a, b) => b.worst - a.worst || a.title.localeCompare(b.title));
  const lines = [
    `${n(alerts.length)} alert${alerts.length === 1 ? '' : 's'} (${n(findings.size)} finding${findings.size === 1 ? '' : 's'}) on ${n(groups.length)} function${groups.length === 1 ? '' : 's'}:`,
  ];
  for (const g of groups) {
    lines.push('', g.title);
    const sorted = g.findings.sort((a, b) => a.latest.finding_info.first_seen_time - b.latest.finding_info.first_seen_time);
    for (const f of sorted.slice(0, FINDINGS_SHOWN_PER_FUNCTION)) {
      const a = f.latest;
      const updates = f.updates > 0 ? `  (${f.updates} update${f.updates === 1 ? '' : 's'})` : '';
      lines.push(
        `  ${severityLabel(a.severity_id)} ${a.finding_info.types[0].padEnd(20)} ${formatTime(a.finding_info.first_seen_time)}  ${a.finding_info.desc}${updates}`,
      );
    }
    if (sorted.length > FINDINGS_SHOWN_PER_FUNCTION) lines.push(`  … ${n(sorted.length - FINDINGS_SHOWN_PER_FUNCTION)} more${alertsFile ? ` in ${alertsFile}` : ' (write them all with --alerts FILE)'}`);
  }
  return lines;
}
