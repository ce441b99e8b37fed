/**
 * Timing helpers and child-process runs for the benchmarks. Sections that claim "one core" run in a
 * child pinned to one CPU (`taskset`), so V8's GC helper threads and zlib cannot borrow the second
 * core; sections that need `--expose-gc` run in a child started with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/..). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `fn` `rounds` times and returns the fastest wall time in ms: on a shared machine the minimum
 * is the run least disturbed by others, which is the figure that reproduces.
 *
 * @example
 * const ms = bestOf(5, () => { for (const d of data) decodePayload(d); });
 */
export function bestOf(rounds: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/**
 * Like {@link bestOf} but in CPU time (user + system, all threads of this process). In a child pinned
 * to one CPU this equals wall time on an idle machine, and unlike wall time it does not count the
 * time other processes on a shared machine take from that CPU.
 *
 * @example
 * const ms = bestCpuOf(5, () => { for (const d of data) decodePayload(d); });
 */
export function bestCpuOf(rounds: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const u = process.cpuUsage();
    fn();
    const d = process.cpuUsage(u);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

/** Whether `taskset` can pin a child to one CPU here. */
export function canPin(): boolean {
  return process.platform === 'linux' && (existsSync('/usr/bin/taskset') || existsSync('/bin/taskset'));
}

export interface ChildOptions {
  /** pin to this CPU with taskset */
  cpu?: number;
  /** extra node flags (`--expose-gc`, `--cpu-prof` …) */
  nodeFlags?: string[];
  timeoutMs?: number;
}

/**
 * Runs `node --import tsx <script> <args>` and parses the last stdout line as JSON. Stderr passes
 * through (progress); a non-zero exit or a non-JSON last line is an error naming the script.
 *
 * @example
 * const r = await runChild<{ heapBytesPerFunction: number }>('bench/memory.ts', ['100000'], { nodeFlags: ['--expose-gc'] });
 */
export function runChild<T>(script: string, args: string[], opts: ChildOptions = {}): Promise<T> {
  const nodeArgs = [...(opts.nodeFlags ?? []), '--import', 'tsx', script, ...args];
  const cmd = opts.cpu !== undefined && canPin() ? 'taskset' : process.execPath;
  const argv = cmd === 'taskset' ? ['-c', String(opts.cpu), process.execPath, ...nodeArgs] : nodeArgs;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${signal ?? code}: ${out.slice(-500)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} did not print a JSON result: ${last.slice(0, 200)}`));
      }
    });
  });
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Busy CPU time of the whole machine so far, in ms (Linux /proc/stat), or undefined elsewhere. */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait (in USER_HZ = 1/100 s)
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return busy * 10;
  } catch {
    return undefined;
  }
}

/**
 * Watches how much CPU other processes used while something of ours ran: on a machine shared with
 * other work, a parallel figure means little when the "idle" core was busy elsewhere.
 *
 * @example
 * const w = new LoadWatch();
 * run();
 * const othersCores = w.othersCores(); // e.g. 0.9: others kept almost a core busy
 */
export class LoadWatch {
  private readonly busy0 = machineBusyMs();
  private readonly cpu0 = process.cpuUsage();
  private readonly t0 = performance.now();

  /** Average cores used by other processes since construction (0 when unknown). */
  othersCores(): number {
    const busy1 = machineBusyMs();
    if (busy1 === undefined || this.busy0 === undefined) return 0;
    const c = process.cpuUsage(this.cpu0);
    const ours = (c.user + c.system) / 1000;
    const wall = performance.now() - this.t0;
    return Math.max(0, (busy1 - this.busy0 - ours) / wall);
  }
}
