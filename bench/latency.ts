/**
 * Service latency (PutRecords → alert on a local Kinesis) comes from `bench/service-latency.ts`,
 * written separately. This calls it when present: its first exported function (preferring
 * `measureServiceLatency`, then the default export) with `{ quick, spec }`, and reads p50/p99 from
 * its result. The live rate is 50% of the single-core capacity of the service itself, which
 * service-latency.ts measures in the same run (its backlog phase, the service pinned to one CPU):
 * the pipeline's capacity, which the caller may pass as `eventsPerSecond`, leaves out the source,
 * the sinks and the checkpoints, so half of it could be most of the service's, and is not used.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './measure.ts';
import type { DatasetSpec } from './payloads.ts';

export interface LatencyResult {
  measured: boolean;
  latency_ms_p50: number | null;
  latency_ms_p99: number | null;
  note: string;
  raw?: unknown;
}

function pick(o: Record<string, unknown>, names: string[]): number | null {
  for (const n of names) if (typeof o[n] === 'number') return o[n] as number;
  return null;
}

/**
 * @example
 * const r = await measureLatency({ quick: true, eventsPerSecond: 100_000 });
 * if (r.measured) console.log(r.latency_ms_p99);
 */
export async function measureLatency(opts: { quick: boolean; eventsPerSecond?: number; spec?: DatasetSpec }): Promise<LatencyResult> {
  const file = join(ROOT, 'bench/service-latency.ts');
  if (!existsSync(file)) return { measured: false, latency_ms_p50: null, latency_ms_p99: null, note: 'not measured: bench/service-latency.ts is not present' };
  const mod = (await import(file)) as Record<string, unknown>;
  const fn = (mod.measureServiceLatency ?? mod.default ?? Object.values(mod).find((v) => typeof v === 'function')) as
    | ((o: { quick: boolean; spec?: DatasetSpec; verbose?: boolean }) => Promise<unknown>)
    | undefined;
  if (typeof fn !== 'function') return { measured: false, latency_ms_p50: null, latency_ms_p99: null, note: 'not measured: bench/service-latency.ts exports no function' };
  try {
    const raw = (await fn({ quick: opts.quick, spec: opts.spec, verbose: true })) as Record<string, unknown>;
    const p50 = pick(raw, ['latency_ms_p50', 'p50', 'p50Ms', 'p50_ms']);
    const p99 = pick(raw, ['latency_ms_p99', 'p99', 'p99Ms', 'p99_ms']);
    const live = (raw.live ?? {}) as { achievedLogEventsPerSecond?: number; alerts?: number; measuredAlerts?: number };
    const capacity = ((raw.backlog ?? {}) as { logEventsPerSecond?: number }).logEventsPerSecond;
    const rate = live.achievedLogEventsPerSecond ?? NaN;
    const of = capacity ? ` (${Math.round((rate / capacity) * 100)}% of the ${raw.pinned ? 'single-core ' : ''}service capacity, ${Math.round(capacity)}/s)` : '';
    const why = p99 === null ? `; no latency: ${live.measuredAlerts ?? 0} alerts raised in the live phase` : `; ${live.measuredAlerts} alerts timed`;
    return { measured: p50 !== null && p99 !== null, latency_ms_p50: p50, latency_ms_p99: p99, note: `bench/service-latency.ts, live phase at ${Math.round(rate)} log events/s${of}${why}`, raw };
  } catch (err) {
    return { measured: false, latency_ms_p50: null, latency_ms_p99: null, note: `not measured: bench/service-latency.ts failed: ${(err as Error).message}` };
  }
}
