/**
 * Heap per function baseline: builds N profiles through the engine with typical cardinalities and
 * measures the retained heap (`heapUsed` plus array-buffer backing stores, which V8 keeps off the
 * heap for typed arrays over 64 bytes) after a full GC, at several N for the growth curve.
 *
 * Typical cardinalities, per function: a few egress hosts (3), tens of action/resource pairs (30 on
 * 8 actions), 60 invocations over 3 hours. Resources come from an account-wide pool (tables, buckets
 * and secrets are shared by the functions of a service), as in a real account.
 *
 * Run: `node --expose-gc --import tsx bench/memory.ts 10000,100000` → one JSON line ({@link MemoryResult}).
 */
import type { FnEvent, FunctionRef } from '../src/core/events.ts';
import { Engine } from '../src/pipeline/engine.ts';

export interface MemoryResult {
  /** [functions, bytes per function] at each checkpoint */
  curve: [number, number][];
  /** engine fixed cost before any function (detector pack, scorer, profile table) */
  engine_fixed_bytes: number;
  /** time to build an `Engine` (default options, pack already loaded), best of 5 */
  engine_construct_ms?: number;
  heap_bytes_per_function: number;
  total_mb_at_max: number;
  cardinality: { egress: number; resources: number; actions: number; invocations: number };
}

export const CARDINALITY = { egress: 3, resources: 30, actions: 8, invocations: 60 };
const RESOURCE_POOL = 5000;
const HOST_POOL = 200;
const ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 's3:GetObject', 's3:PutObject', 'secretsmanager:GetSecretValue', 'sqs:SendMessage', 'kms:Decrypt', 'sns:Publish', 'ssm:GetParameter'];
const T0 = Date.parse('2026-01-05T00:00:00Z');

function resourceArn(k: number): string {
  switch (k % 3) {
    case 0:
      return `arn:aws:dynamodb:us-east-1:123456789012:table/service-${k % 500}-table-${k}`;
    case 1:
      return `arn:aws:s3:::bucket-${k % 300}/prefix-${k}/`;
    default:
      return `arn:aws:secretsmanager:us-east-1:123456789012:secret:svc/${k}-AbCdEf`;
  }
}

/** The events that give function `i` its typical baseline, in time order. */
function eventsFor(i: number, fn: FunctionRef): FnEvent[] {
  const evs: FnEvent[] = [];
  const c = CARDINALITY;
  for (let k = 0; k < c.invocations; k++) {
    const time = T0 + k * 180_000 + (i % 1000);
    evs.push({ kind: 'invocation', time, fn, status: 'success', durationMs: 20 + ((i + k * 7) % 200), billedDurationMs: 21 + ((i + k * 7) % 200), memorySizeMB: 512, maxMemoryUsedMB: 90, format: 'text', version: '$LATEST' });
    if (k < c.egress) evs.push({ kind: 'egress', time, fn, host: `api-${(i + k * 37) % HOST_POOL}.example.com`, port: 443, protocol: 'tls', via: 'instrumentation' });
    if (k < c.resources) {
      const action = ACTIONS[(i + (k % c.actions)) % ACTIONS.length]!;
      const [service] = action.split(':');
      evs.push({ kind: 'resource_access', time, fn, service: service!, action, resources: [resourceArn((i * 31 + k * 101) % RESOURCE_POOL)], role: `${fn.name}-role` });
    }
  }
  return evs;
}

function retained(): number {
  (globalThis as { gc?: () => void }).gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Builds up to the largest checkpoint and measures bytes per function at each.
 *
 * @example
 * measureMemory([10_000, 100_000]).heap_bytes_per_function;
 */
export function measureMemory(checkpoints: number[]): MemoryResult {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with node --expose-gc');
  // Construction time with the pack loaded and the code warm: what each Engine costs.
  new Engine({}, () => {});
  let engineConstructMs = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    new Engine({}, () => {});
    engineConstructMs = Math.min(engineConstructMs, performance.now() - t0);
  }
  const before = retained();
  const engine = new Engine({}, () => {});
  const base = retained();
  const curve: [number, number][] = [];
  let n = 0;
  for (const target of [...checkpoints].sort((a, b) => a - b)) {
    for (; n < target; n++) {
      const fn: FunctionRef = { name: `fn-${n}`, account: '123456789012', region: 'us-east-1' };
      for (const ev of eventsFor(n, fn)) engine.observe(ev);
    }
    curve.push([n, Math.round((retained() - base) / n)]);
  }
  const last = curve[curve.length - 1]!;
  if (engine.profiles.size !== n) throw new Error(`expected ${n} profiles, engine holds ${engine.profiles.size}`);
  return {
    curve,
    engine_fixed_bytes: base - before,
    engine_construct_ms: +engineConstructMs.toFixed(3),
    heap_bytes_per_function: last[1],
    total_mb_at_max: +((retained() - before) / 2 ** 20).toFixed(1),
    cardinality: CARDINALITY,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const checkpoints = (process.argv[2] ?? '1000,10000,30000,100000').split(',').map(Number);
  console.log(JSON.stringify(measureMemory(checkpoints)));
}
