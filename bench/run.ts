/**
 * `npm run bench [-- --quick] [--json FILE] [--markdown FILE] [--only SECTIONS] [--workers N]`
 *
 * Throughput, parallel scaling, memory, replay and service latency of the pipeline, each as a ratio
 * to a floor measured in the same run (see bench/README.md). Payloads come from the seeded scenario
 * generator, cached under $FNWATCH_BENCH_CACHE (default /tmp/fnwatch-bench), so runs reproduce.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { measureLatency } from './latency.ts';
import { canPin, ROOT, runChild } from './measure.ts';
import type { MemoryResult } from './memory.ts';
import type { ParallelResult } from './parallel.ts';
import type { DatasetSpec } from './payloads.ts';
import { measureReplay } from './replay.ts';
import { machine, markdown, table, type BenchFigures } from './report.ts';
import type { ThroughputResult } from './throughput.ts';

const SECTIONS = ['throughput', 'parallel', 'memory', 'replay', 'latency'] as const;
type Section = (typeof SECTIONS)[number];

/** Dataset sizes: the full run and the CI smoke run. */
const PLAN = {
  full: {
    throughput: { seed: 7, days: 1, functions: 40, scale: 3 } satisfies DatasetSpec,
    rounds: 5,
    parallelRounds: 6,
    memory: [1_000, 10_000, 30_000, 100_000],
    replay: { seed: 11, days: 7, functions: 40, scale: 1.2 } satisfies DatasetSpec,
  },
  quick: {
    throughput: { seed: 5, days: 1, functions: 20, scale: 0.5 } satisfies DatasetSpec,
    rounds: 2,
    parallelRounds: 1,
    memory: [1_000, 10_000],
    replay: { seed: 5, days: 1, functions: 20, scale: 0.5 } satisfies DatasetSpec,
  },
};

interface Flags {
  quick?: boolean;
  json?: string;
  markdown?: string;
  only?: Section[];
  workers: number;
  render?: string;
}

function sections(raw: string): Section[] {
  const list = raw.split(',').map((s) => s.trim());
  for (const s of list) if (!(SECTIONS as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown section ${JSON.stringify(s)}; known: ${SECTIONS.join(', ')}`);
  return list as Section[];
}

function positiveInt(raw: string): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`must be a positive integer (got ${JSON.stringify(raw)})`);
  return v;
}

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function main(flags: Flags): Promise<void> {
  if (flags.render) return render(flags);
  const plan = flags.quick ? PLAN.quick : PLAN.full;
  const want = new Set<Section>(flags.only ?? SECTIONS);
  const pinned = canPin();
  const f: BenchFigures = {
    floor_events_per_s: null,
    pipeline_events_per_s: null,
    ratio: null,
    workers: null,
    parallel_events_per_s: null,
    heap_bytes_per_function: null,
    latency_ms_p50: null,
    latency_ms_p99: null,
    machine: machine(pinned),
    quick: flags.quick === true,
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
  };
  const spec = JSON.stringify(plan.throughput);

  if (want.has('throughput')) {
    log(`throughput: floor, parser and pipeline on one core (${spec})`);
    const t = await runChild<ThroughputResult>('bench/throughput.ts', [spec, String(plan.rounds)], { cpu: 0 });
    Object.assign(f, { throughput: t, floor_events_per_s: t.floor_events_per_s, pipeline_events_per_s: t.pipeline_events_per_s, ratio: t.ratio });
  }
  if (want.has('parallel')) {
    log(`parallel: 1 and ${flags.workers} worker threads`);
    const p = await runChild<ParallelResult>('bench/parallel.ts', [spec, String(flags.workers), String(plan.parallelRounds)]);
    Object.assign(f, { parallel: p, workers: p.workers, parallel_events_per_s: p.events_per_s });
  }
  if (want.has('memory')) {
    log(`memory: heap per function at ${plan.memory.join(', ')} functions`);
    const m = await runChild<MemoryResult>('bench/memory.ts', [plan.memory.join(',')], { nodeFlags: ['--expose-gc'] });
    Object.assign(f, { memory: m, heap_bytes_per_function: m.heap_bytes_per_function });
  }
  if (want.has('replay')) {
    log(`replay: fnwatch replay vs the floor over the same files (${JSON.stringify(plan.replay)})`);
    f.replay = await measureReplay(plan.replay, 0);
  }
  if (want.has('latency')) {
    // 50% of single-core capacity, as the issue sets the latency target.
    const capacity = f.pipeline_events_per_s ?? 100_000;
    log('latency: PutRecords → alert on a local Kinesis');
    const l = await measureLatency({ quick: f.quick, eventsPerSecond: capacity / 2, spec: plan.replay });
    Object.assign(f, { latency: l, latency_ms_p50: l.latency_ms_p50, latency_ms_p99: l.latency_ms_p99 });
  }

  console.log(table(f));
  if (flags.json) writeFileSync(flags.json, JSON.stringify(f, null, 2) + '\n');
  if (flags.markdown) writeMarkdown(flags.markdown, f);
}

/** The report (Markdown: figures, then bench/notes.md as it is now) for figures measured earlier. */
function render(flags: Flags): void {
  const f = JSON.parse(readFileSync(flags.render!, 'utf8')) as BenchFigures;
  console.log(table(f));
  if (flags.markdown) writeMarkdown(flags.markdown, f);
  if (flags.json && flags.json !== flags.render) writeFileSync(flags.json, JSON.stringify(f, null, 2) + '\n');
}

function writeMarkdown(file: string, f: BenchFigures): void {
  const notesFile = join(ROOT, 'bench/notes.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
  writeFileSync(file, markdown(f, f.command ?? 'npm run bench', notes));
}

const program = new Command('bench')
  .description('fnwatch throughput, scaling, memory, replay and latency benchmarks')
  .option('--quick', 'small datasets and fewer rounds (CI smoke test, ~1 min)')
  .option('--json <file>', 'write the figures as JSON')
  .option('--markdown <file>', 'write the report as Markdown (bench/RESULTS.md)')
  .option('--only <sections>', `comma-separated subset of ${SECTIONS.join(', ')}`, sections)
  .option('--workers <n>', 'worker threads for the parallel figure', positiveInt, 2)
  .option('--render <figures.json>', 'measure nothing: print and write (--markdown, --json) the report of figures saved earlier with the current bench/notes.md')
  .action(main);

await program.parseAsync(process.argv);
