/**
 * The bench's figures: the JSON written by `--json` (flat keys first, details after) and the
 * readable table / Markdown report written by `--markdown`.
 */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import type { LatencyResult } from './latency.ts';
import type { MemoryResult } from './memory.ts';
import type { ParallelResult } from './parallel.ts';
import type { ReplayResult } from './replay.ts';
import type { ThroughputResult } from './throughput.ts';

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  pinned: boolean;
  date: string;
}

/** The figures of one run. Flat keys are the ones the issue names; `null` = not measured. */
export interface BenchFigures {
  floor_events_per_s: number | null;
  pipeline_events_per_s: number | null;
  ratio: number | null;
  workers: number | null;
  parallel_events_per_s: number | null;
  heap_bytes_per_function: number | null;
  latency_ms_p50: number | null;
  latency_ms_p99: number | null;
  machine: Machine;
  quick: boolean;
  /** The command that measured these figures (absent in files written before 2026-12-04 evening) */
  command?: string;
  throughput?: ThroughputResult;
  parallel?: ParallelResult;
  memory?: MemoryResult;
  replay?: ReplayResult;
  latency?: LatencyResult;
}

/** Targets from the issue, checked in the report. */
export const TARGETS = {
  ratio: 0.8,
  scaling: 1.6,
  bytesPerFunction: 2048,
  mbAt100k: 256,
  p99Ms: 2000,
};

/**
 * The machine the figures come from.
 *
 * @example
 * machine(true).nproc; // 2
 */
export function machine(pinned: boolean): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return { nproc: cpus().length, cpu, node: process.version, pinned, date: new Date().toISOString() };
}

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined ? 'not measured' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (ok: boolean | undefined): string => (ok === undefined ? '' : ok ? 'met' : 'NOT met');

/** Rows of [measure, value, target, verdict]. */
export function rows(f: BenchFigures): string[][] {
  const t = f.throughput;
  const p = f.parallel;
  const m = f.memory;
  const r = f.replay;
  const l = f.latency;
  const out: string[][] = [];
  if (t) {
    out.push(['payloads', `${n(t.payloads)} × ${t.events_per_payload} log events (${n(t.bytes_per_payload)} B base64)`, '~100 events', '']);
    out.push(['floor: base64 + gunzip + JSON.parse', `${n(t.floor_events_per_s)} events/s`, '', `(${Math.round(t.floor_split.base64 * 100)}% / ${Math.round(t.floor_split.gunzip * 100)}% / ${Math.round(t.floor_split.json * 100)}%)`]);
    if (t.floor_with_messages_events_per_s) {
      out.push([
        'for comparison: floor + JSON.parse of JSON messages',
        `${n(t.floor_with_messages_events_per_s)} events/s`,
        '',
        `pipeline at ×${(t.pipeline_events_per_s / t.floor_with_messages_events_per_s).toFixed(2)} of it`,
      ]);
    }
    out.push(['parser alone (null sink)', `${n(t.parse_events_per_s)} events/s`, '', `×${(t.parse_events_per_s / t.floor_events_per_s).toFixed(2)} of floor`]);
    out.push(['full pipeline, one core', `${n(t.pipeline_events_per_s)} events/s`, '', `${n(t.normalized_events)} normalized events`]);
    out.push(['pipeline ÷ floor', `×${t.ratio.toFixed(2)}`, `≥ ×${TARGETS.ratio}`, verdict(t.ratio >= TARGETS.ratio)]);
  }
  if (p) {
    out.push([`parallel, ${p.workers} workers`, `${n(p.events_per_s)} events/s`, '', `1 worker: ${n(p.one_worker_events_per_s)} events/s; ${Math.round(p.routed_raw * 100)}% of payloads decoded in workers`]);
    out.push([`scaling ${p.workers} workers ÷ 1 worker`, `×${p.scaling.toFixed(2)}`, `≥ ×${TARGETS.scaling}`, verdict(p.scaling >= TARGETS.scaling)]);
    out.push(['', `other processes used ${p.others_cores[0]} / ${p.others_cores[1]} cores meanwhile`, '', `worker balance ${Math.round(p.balance * 100)}%`]);
    if (p.cpu_scaling !== null) out.push([`scaling on idle cores (thread CPU time)`, `×${p.cpu_scaling.toFixed(2)}`, `≥ ×${TARGETS.scaling}`, verdict(p.cpu_scaling >= TARGETS.scaling)]);
    if (typeof p.scaling_vs_single === 'number') {
      // Both timed in the same rounds, warm, in wall time: the one-core section above is CPU time pinned to a core.
      out.push([`${p.workers} workers ÷ single-thread pipeline (same rounds)`, `×${p.scaling_vs_single.toFixed(2)}`, `≥ ×${TARGETS.scaling}`, `${verdict(p.scaling_vs_single >= TARGETS.scaling)}; single thread ${n(p.single_thread_events_per_s)} events/s`]);
    } else if (t) {
      const vs = p.events_per_s / t.pipeline_events_per_s;
      out.push([`${p.workers} workers ÷ single-thread pipeline`, `×${vs.toFixed(2)}`, `≥ ×${TARGETS.scaling}`, verdict(vs >= TARGETS.scaling)]);
    }
  }
  if (m) {
    out.push(['heap per function baseline', `${n(m.heap_bytes_per_function)} B`, `≤ ${TARGETS.bytesPerFunction} B`, verdict(m.heap_bytes_per_function <= TARGETS.bytesPerFunction)]);
    out.push(['growth curve (functions: B/function)', m.curve.map(([k, b]) => `${n(k)}: ${n(b)}`).join(', '), '', `cardinality ${m.cardinality.egress} egress, ${m.cardinality.resources} resources on ${m.cardinality.actions} actions`]);
    const at100k = m.curve.find(([k]) => k === 100_000);
    out.push([`heap at ${n(m.curve[m.curve.length - 1]![0])} functions`, `${n(m.total_mb_at_max, 1)} MB`, at100k ? `< ${TARGETS.mbAt100k} MB at 100k` : '', at100k ? verdict(m.total_mb_at_max < TARGETS.mbAt100k) : '']);
  }
  if (r) {
    out.push(['replay dataset', `${n(r.records)} records, ${n(r.log_events)} log events`, '', r.dataset]);
    out.push(['fnwatch replay', `${r.replay_wall_s.toFixed(2)} s wall, ${r.replay_cpu_s === null ? '?' : r.replay_cpu_s.toFixed(2)} s CPU`, '', `${r.replay_processing_s.toFixed(2)} s after start-up; ${n(r.alerts)} alerts`]);
    out.push(['floor over the same bytes', `${r.floor_wall_s.toFixed(2)} s wall, ${r.floor_cpu_s.toFixed(2)} s CPU`, '', `replay at ×${r.ratio.toFixed(2)} of floor speed`]);
  }
  if (l) {
    out.push(['PutRecords → alert p50 / p99', l.measured ? `${n(l.latency_ms_p50, 1)} / ${n(l.latency_ms_p99, 1)} ms` : 'not measured', `p99 < ${TARGETS.p99Ms} ms`, l.measured ? verdict(l.latency_ms_p99! < TARGETS.p99Ms) : '']);
    out.push(['', l.note, '', '']);
  }
  return out;
}

/** A plain-text table for the terminal. */
export function table(f: BenchFigures): string {
  const rs = [['measure', 'value', 'target', ''], ...rows(f)];
  const w = [0, 1, 2].map((i) => Math.min(60, Math.max(...rs.map((r) => r[i]!.length))));
  const m = f.machine;
  const head = `fnwatch bench${f.quick ? ' (--quick)' : ''}: ${m.nproc} × ${m.cpu}, node ${m.node}${m.pinned ? ', one-core figures pinned with taskset' : ''}`;
  return [head, ...rs.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd())].join('\n');
}

/** The Markdown report (bench/RESULTS.md). */
export function markdown(f: BenchFigures, command: string, notes: string): string {
  const m = f.machine;
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '# fnwatch benchmark results',
    '',
    `Figures measured by \`${command}\` on ${m.date.slice(0, 10)}; the notes after them are bench/notes.md (\`npm run bench -- --render bench/results.json --markdown bench/RESULTS.md\` re-renders them without measuring). Do not edit by hand.`,
    '',
    `Machine: \`nproc\` = ${m.nproc}, CPU: ${m.cpu}, Node ${m.node}. One-core figures ${m.pinned ? 'ran pinned to one CPU with `taskset`' : 'ran unpinned (no taskset)'}; throughput is the best of several rounds, because the machine is shared.`,
    '',
    '| measure | value | target | |',
    '|---|---|---|---|',
    ...rows(f).map((r) => `| ${r.map(esc).join(' | ')} |`),
    '',
    notes.trim(),
    '',
    '## Raw figures (`--json`)',
    '',
    '```json',
    JSON.stringify(f, null, 2),
    '```',
    '',
  ].join('\n');
}
