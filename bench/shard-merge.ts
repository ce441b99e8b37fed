/**
 * What merging shards in arrival order ({@link ShardMerge}, on the service's path) costs per record,
 * against the decode floor (base64-free here: gunzip + `JSON.parse` of each record) measured in the
 * same run over the same records: the bundled demo's Kinesis records, dealt to 4 shards in batches
 * of 500 the way a source catching up hands them out (all of one shard's batch, then the next's).
 *
 * Run: `taskset -c 1 npx tsx bench/shard-merge.ts` (one core). Prints per-record µs and the ratio.
 */
import type { Batch, Source, SourceItem } from '../src/core/contracts.ts';
import { decodePayload } from '../src/parsers/index.ts';
import { DEMO_DATASET } from '../src/service/demo.ts';
import { readRecordDumps } from '../src/service/embedded.ts';
import { ShardMerge } from '../src/service/merge-sources.ts';

const SHARDS = 4;
const BATCH = 500;
const ROUNDS = 7;

const records = readRecordDumps(DEMO_DATASET);
// Arrivals spread over the dataset's three days; shard k gets every SHARDS-th record.
const t0 = Date.now() - 3 * 86_400_000;
const step = (3 * 86_400_000) / records.length;
const lanes: SourceItem[][] = Array.from({ length: SHARDS }, () => []);
records.forEach((r, i) => {
  lanes[i % SHARDS]!.push({ type: 'payload', data: r.data, position: { shard: `shard-${i % SHARDS}`, sequence: String(i) }, arrival: t0 + i * step });
});
// A catching-up source's order: one batch per shard in turn, each spanning a long stretch of time.
const script: SourceItem[][] = [];
for (let at = 0; lanes.some((l) => at < l.length); at += BATCH) for (const l of lanes) if (at < l.length) script.push(l.slice(at, at + BATCH));

function scripted(): Source {
  return {
    name: 'bench',
    async *batches(): AsyncGenerator<Batch> {
      for (const items of script) yield { items, ack: () => undefined };
    },
    close: async () => undefined,
  };
}

async function consume(source: Source): Promise<number> {
  let n = 0;
  for await (const b of source.batches()) {
    n += b.items.length;
    await b.ack();
  }
  return n;
}

async function bestMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const floorMs = await bestMs(() => {
  for (const r of records) decodePayload(r.data);
});
const plainMs = await bestMs(() => consume(scripted()));
const mergedMs = await bestMs(async () => {
  const n = await consume(new ShardMerge(scripted(), { maxWaitMs: 1_000, liveLagMs: 0 }));
  if (n !== records.length) throw new Error(`merge handed on ${n} of ${records.length} records`);
});

const perRecord = (ms: number) => (ms * 1000) / records.length;
const overhead = perRecord(mergedMs - plainMs);
console.log(`records: ${records.length} in ${script.length} batches of ≤${BATCH} over ${SHARDS} shards; best of ${ROUNDS}`);
console.log(`decode floor (gunzip + JSON.parse): ${perRecord(floorMs).toFixed(2)} µs/record`);
console.log(`source iteration alone:             ${perRecord(plainMs).toFixed(3)} µs/record`);
console.log(`through ShardMerge:                 ${perRecord(mergedMs).toFixed(3)} µs/record`);
console.log(`merge cost: ${overhead.toFixed(3)} µs/record = ${((100 * overhead) / perRecord(floorMs)).toFixed(2)} % of the decode floor`);
