/**
 * Replay: wall time of `fnwatch replay` over a generated dataset (~1M log events in the full run)
 * against the decode floor over the same bytes (read and gunzip the shard files, JSON.parse each
 * record line, decode each record's payload). Both run pinned to one CPU; the ratio is in CPU time
 * (via /usr/bin/time) when available, as wall time on a shared machine counts others' work too.
 *
 * The floor half runs as a child: `node --import tsx bench/replay.ts floor <dataset dir>` → JSON line.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePayload } from '../src/parsers/index.ts';
import { canPin, ROOT, runChild } from './measure.ts';
import { datasetDir, recordData, type DatasetSpec } from './payloads.ts';

export interface ReplayResult {
  dataset: string;
  records: number;
  log_events: number;
  /** whole command, start-up included */
  replay_wall_s: number;
  /** CPU time of the command (user + system), when /usr/bin/time can tell */
  replay_cpu_s: number | null;
  /** replay's own processing time (its summary's wall_ms: start-up excluded) */
  replay_processing_s: number;
  floor_wall_s: number;
  floor_cpu_s: number;
  /** floor ÷ replay, in CPU time when known (a shared machine inflates wall time), else wall */
  ratio: number;
  replay_events_per_s: number;
  alerts: number;
}

async function floorOver(dir: string): Promise<{ records: number; log_events: number; wall_s: number; cpu_s: number }> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  let records = 0;
  let logEvents = 0;
  for await (const d of recordData(dir)) {
    const doc = decodePayload(d) as { messageType?: string; logEvents?: unknown[] };
    records++;
    // Control messages carry a log event too, which the pipeline counts as a control message instead.
    if (doc.messageType === 'DATA_MESSAGE') logEvents += doc.logEvents?.length ?? 0;
  }
  const c = process.cpuUsage(cpu);
  return { records, log_events: logEvents, wall_s: (performance.now() - t) / 1000, cpu_s: (c.user + c.system) / 1e6 };
}

interface ReplayRun {
  wall_s: number;
  cpu_s: number | null;
  summary: { log_events: number; alerts: number; wall_ms: number };
}

const TIME = '/usr/bin/time';
const TIME_MARK = 'FNWATCH_BENCH_TIME';

function timeReplay(dir: string, cpu: number): Promise<ReplayRun> {
  const summaryFile = join(tmpdir(), `fnwatch-bench-replay-${process.pid}.json`);
  let argv = [process.execPath, join(ROOT, 'bin/fnwatch.js'), 'replay', join(dir, 'kinesis'), '--quiet', '--summary-json', summaryFile];
  if (canPin()) argv = ['taskset', '-c', String(cpu), ...argv];
  const timed = existsSync(TIME);
  if (timed) argv = [TIME, '-f', `${TIME_MARK} %U %S`, ...argv];
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t) / 1000;
      if (code !== 0) return reject(new Error(`fnwatch replay exited with ${code}: ${err.slice(-500)}`));
      const m = new RegExp(`${TIME_MARK} ([\\d.]+) ([\\d.]+)`).exec(err);
      const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as ReplayRun['summary'];
      rmSync(summaryFile, { force: true });
      resolve({ wall_s: wall, cpu_s: m ? Number(m[1]) + Number(m[2]) : null, summary });
    });
  });
}

/**
 * Times replay and its floor on the dataset of `spec` (generated and cached on first use).
 *
 * @example
 * const r = await measureReplay({ seed: 11, days: 7, functions: 40, scale: 1.2 });
 */
export async function measureReplay(spec: DatasetSpec, cpu = 0): Promise<ReplayResult> {
  const dir = await datasetDir(spec, false);
  const floor = await runChild<{ records: number; log_events: number; wall_s: number; cpu_s: number }>('bench/replay.ts', ['floor', dir], { cpu });
  const replay = await timeReplay(dir, cpu);
  if (replay.summary.log_events !== floor.log_events) {
    throw new Error(`replay read ${replay.summary.log_events} log events, the floor ${floor.log_events}`);
  }
  const ratio = replay.cpu_s !== null ? floor.cpu_s / replay.cpu_s : floor.wall_s / replay.wall_s;
  return {
    dataset: dir,
    records: floor.records,
    log_events: floor.log_events,
    replay_wall_s: +replay.wall_s.toFixed(2),
    replay_cpu_s: replay.cpu_s,
    replay_processing_s: +(replay.summary.wall_ms / 1000).toFixed(2),
    floor_wall_s: +floor.wall_s.toFixed(2),
    floor_cpu_s: +floor.cpu_s.toFixed(2),
    ratio: +ratio.toFixed(3),
    replay_events_per_s: Math.round(floor.log_events / replay.wall_s),
    alerts: replay.summary.alerts,
  };
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'floor') {
  console.log(JSON.stringify(await floorOver(process.argv[3]!)));
}
