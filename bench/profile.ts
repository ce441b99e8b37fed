/**
 * Profiling entry point: runs the pipeline (or the parser or the engine alone) over the bench payloads,
 * one untimed round to warm up, then profiles only the following rounds (V8's sampling profiler via
 * the inspector, 100 µs samples: building the payloads and compiling modules stay out of the
 * profile), writes the `.cpuprofile` (open it in Chrome DevTools) and prints the hottest functions
 * by self time. A builtin such as `JSON.parse` counts as self time of the function that calls it.
 *
 *   node --import tsx bench/profile.ts pipeline|parser|engine '<spec json>' [rounds] [out.cpuprofile]
 *   node --import tsx bench/profile.ts top <file>.cpuprofile [n]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { FnEvent } from '../src/core/events.ts';
import type { ParseSink } from '../src/core/parse-sink.ts';
import { createParser } from '../src/parsers/index.ts';
import { Engine } from '../src/pipeline/engine.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { buildPayloads, type DatasetSpec } from './payloads.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * The `n` functions with the most self time in a `.cpuprofile`, as percentages.
 *
 * @example
 * for (const row of topSelfTime('/tmp/prof/x.cpuprofile', 20)) console.log(row);
 */
export function topSelfTime(file: string, n: number): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/work\/main\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, arg, extra] = process.argv.slice(2);
  if (mode === 'top') {
    for (const row of topSelfTime(arg!, Number(extra ?? 30))) console.log(row);
  } else {
    const out = process.argv[5] ?? `/tmp/fnwatch-${mode}.cpuprofile`;
    const set = await buildPayloads(JSON.parse(arg ?? '{"seed":7,"days":1,"functions":40,"scale":3}') as DatasetSpec);
    const rounds = Number(extra ?? 4);
    const sink: ParseSink = { event() {}, deadLetter() {}, ignored() {}, control() {}, logEvent() {} };
    const events: FnEvent[] = [];
    if (mode === 'engine') {
      const parser = createParser();
      for (const d of set.data) parser.payload(d, {}, { ...sink, event: (ev) => events.push(ev) });
    }
    const round = (): void => {
      if (mode === 'engine') {
        const engine = new Engine({}, () => {});
        for (const ev of events) engine.observe(ev);
      } else if (mode === 'parser') {
        const parser = createParser();
        for (const d of set.data) parser.payload(d, {}, sink);
      } else {
        const p = new Pipeline({});
        for (const d of set.data) p.process({ type: 'payload', data: d, position: {} });
      }
    };
    round();
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const t = performance.now();
    for (let r = 0; r < rounds; r++) round();
    const ms = performance.now() - t;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(out, JSON.stringify(profile));
    console.error(`${mode}: ${(((set.logEvents * rounds) / ms) * 1000).toFixed(0)} events/s while profiled; profile in ${out}`);
    for (const row of topSelfTime(out, 30)) console.log(row);
  }
}
