/**
 * Baseline state across restarts. The service snapshots the pipeline's baselines (the `fnwatch
 * train` format, `baseline.json`) on an interval and at shutdown, and restores them at start.
 *
 * A snapshot also holds the scorer's open alerts (suppression windows), and records, per Kinesis
 * shard, the last record whose effect it holds. Checkpoints
 * and snapshots are written at different moments, so after a crash the source re-reads records
 * from its checkpoint that the restored baselines already learned: {@link PositionTracker} skips
 * those, so no record is learned twice. They need no re-processing for alerts either: a snapshot is
 * taken only between batches, after the runner acknowledged everything before it (its alerts are
 * durable in the sinks). Records after the snapshot position are processed again; their alerts are
 * re-sent with the same finding uids (at-least-once).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, Source, SourceItem } from '../core/contracts.ts';
import { UsageError } from '../core/contracts.ts';
import { BASELINE_FILE, BASELINE_SCHEMA, BASELINE_SCHEMA_V1, loadBaseline, saveBaseline, type BaselineSnapshot } from '../profiler/snapshot.ts';
import type { OpenAlert } from '../scorer/scorer.ts';

/** Last record learned, per stream and shard: `{ [stream]: { [shardId]: sequenceNumber } }`. */
export type StreamPositions = Record<string, Record<string, string>>;

/**
 * A baseline snapshot as the service writes it: the train format plus source positions and the
 * scorer's open alerts (without them, a condition still going on at a restart alerts again).
 */
export interface ServiceSnapshot extends BaselineSnapshot {
  positions?: StreamPositions;
  openAlerts?: Array<[string, OpenAlert]>;
}

/**
 * The saved state in `dir`, or `undefined` when there is none yet. A file that is not a baseline is
 * a UsageError (the service refuses to start over it rather than overwrite it).
 *
 * @example
 * const saved = loadState('/var/lib/fnwatch');
 * const pipeline = new Pipeline({ baseline: saved });
 */
export function loadState(dir: string): ServiceSnapshot | undefined {
  if (!existsSync(join(dir, BASELINE_FILE))) return undefined;
  return restoredState(loadBaseline(dir));
}

/**
 * Parses a snapshot's JSON text read from somewhere other than a local file (an S3 object), with
 * the checks and messages of `loadBaseline`: text that is not a baseline is a UsageError naming
 * `where` (the service refuses to start over it rather than overwrite it).
 *
 * @example
 * const saved = parseState(await body.transformToString(), 's3://fnwatch-state/prod/baseline.json');
 */
export function parseState(text: string, where: string): ServiceSnapshot {
  let snap: BaselineSnapshot;
  try {
    snap = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`baseline ${where} is not valid JSON: ${(err as Error).message}`);
  }
  const readable: readonly string[] = [BASELINE_SCHEMA, BASELINE_SCHEMA_V1];
  if (typeof snap !== 'object' || snap === null || !readable.includes(snap.schema)) {
    throw new UsageError(`baseline ${where} has schema ${JSON.stringify((snap as Partial<BaselineSnapshot> | null)?.schema)}; this fnwatch reads ${readable.join(' and ')}`);
  }
  if (!Array.isArray(snap.functions)) throw new UsageError(`baseline ${where} (schema ${snap.schema}) has no "functions" array`);
  return restoredState(snap);
}

/**
 * What the service writes: the baselines plus the positions they hold and the open alerts.
 *
 * @example
 * await store.save(serviceSnapshot(pipeline.snapshot(), tracker.processed(), pipeline.engine.scorer.openAlerts()));
 */
export function serviceSnapshot(baseline: BaselineSnapshot, positions: StreamPositions, openAlerts: Array<[string, OpenAlert]> = []): ServiceSnapshot {
  return { ...baseline, positions, openAlerts };
}

/** Keeps the extra keys only when well-formed: a hand-edited file loses its positions, not its baselines. */
function restoredState(baseline: BaselineSnapshot): ServiceSnapshot {
  const snap = baseline as ServiceSnapshot;
  const positions = snap.positions !== undefined && isPositions(snap.positions) ? snap.positions : undefined;
  const openAlerts = Array.isArray(snap.openAlerts) ? snap.openAlerts.filter((e) => Array.isArray(e) && e.length === 2) : undefined;
  return { ...snap, positions, openAlerts };
}

/**
 * Writes the snapshot atomically (temp file, fsync, rename).
 *
 * @example
 * saveState('/var/lib/fnwatch', pipeline.snapshot(), tracker.processed(), pipeline.engine.scorer.openAlerts());
 */
export function saveState(dir: string, baseline: BaselineSnapshot, positions: StreamPositions, openAlerts: Array<[string, OpenAlert]> = []): string {
  return saveBaseline(dir, serviceSnapshot(baseline, positions, openAlerts));
}

function isPositions(p: unknown): p is StreamPositions {
  if (typeof p !== 'object' || p === null) return false;
  for (const shards of Object.values(p)) {
    if (typeof shards !== 'object' || shards === null) return false;
    for (const seq of Object.values(shards)) if (typeof seq !== 'string' || !/^\d+$/.test(seq)) return false;
  }
  return true;
}

/**
 * Wraps a Kinesis source: drops records at or before the restored positions (already learned) and,
 * when the runner acknowledges a batch (processed, alerts durable), records its last record per
 * shard as learned.
 *
 * @example
 * const tracked = new PositionTracker(source, 'fnwatch-logs', saved?.positions);
 * await new Runner(tracked, pipeline, sink).run();
 * saveState(dir, pipeline.snapshot(), tracked.processed());
 */
export class PositionTracker implements Source {
  readonly name: string;
  /** Records dropped because the restored baselines already hold them */
  skipped = 0;
  private readonly skip: Map<string, bigint>;
  private readonly done: Record<string, string>;

  constructor(
    private readonly source: Source,
    readonly stream: string,
    restored?: StreamPositions,
  ) {
    this.name = source.name;
    const mine = restored?.[stream] ?? {};
    this.done = { ...mine };
    this.skip = new Map(Object.entries(mine).map(([shard, seq]) => [shard, BigInt(seq)]));
  }

  async *batches(): AsyncGenerator<Batch, void, void> {
    for await (const batch of this.source.batches()) {
      const items = this.skip.size > 0 ? this.dropLearned(batch.items) : batch.items;
      const last = lastPositions(items);
      const ack = async (): Promise<void> => {
        await batch.ack();
        for (const [shard, seq] of last) this.done[shard] = seq;
      };
      yield { items, ack, watermark: batch.watermark };
    }
  }

  /** Positions of everything acknowledged, for {@link saveState}. */
  processed(): StreamPositions {
    return { [this.stream]: { ...this.done } };
  }

  close(): Promise<void> {
    return this.source.close();
  }

  private dropLearned(items: SourceItem[]): SourceItem[] {
    const kept: SourceItem[] = [];
    for (const item of items) {
      const { shard, sequence } = item.position;
      const limit = shard !== undefined ? this.skip.get(shard) : undefined;
      if (limit !== undefined && sequence !== undefined) {
        if (BigInt(sequence) <= limit) {
          this.skipped++;
          continue;
        }
        // Past the restored position: everything after it in this shard is new.
        this.skip.delete(shard!);
      }
      kept.push(item);
    }
    return kept;
  }
}

/** The last sequence number per shard among `items`. */
function lastPositions(items: readonly SourceItem[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = items.length - 1; i >= 0; i--) {
    const { shard, sequence } = items[i]!.position;
    if (shard !== undefined && sequence !== undefined && !out.some(([s]) => s === shard)) out.push([shard, sequence]);
  }
  return out;
}
