/**
 * Recorded files as a {@link Source}: Kinesis get-records dumps, `aws logs filter-log-events`
 * outputs, CloudTrail log files and log-event NDJSON, each optionally gzip-compressed, detected
 * from their content, merged across files into event-time order (see merge.ts), in batches.
 *
 * Acknowledging a file batch does nothing: files are re-read from the start on every run.
 * Arrow files of normalized events are read by {@link runReplay}, which feeds them to the
 * pipeline directly; a Source carries only raw items.
 */
import type { Batch, Source, SourceItem } from '../../core/contracts.ts';
import { ReplayMerge, type MergeOptions, type MergeStats } from './merge.ts';

export { ReplayMerge, type MergeOptions, type MergeStats, type SkippedFile } from './merge.ts';
export { classify, FORMAT_NAMES, type ReplayEntry, type ReplayFormat } from './formats.ts';
export { expandInputs, type InputFile } from './inputs.ts';
export { runReplay, type ReplayOptions, type ReplayProgress, type ReplayResult } from './replay.ts';

export interface ReplaySourceOptions extends Omit<MergeOptions, 'allowArrow'> {
  /** Items per batch (default 1000) */
  batchSize?: number;
}

/** A file {@link Source} that also tells what it read. */
export interface ReplaySource extends Source {
  /** Merge statistics (files, skipped files, filtered, out-of-order, dead letters); set once batches() starts */
  readonly stats: MergeStats | undefined;
}

const noop = (): void => {};

/**
 * Opens files and directories as a Source. Inputs are checked when `batches()` starts: a missing
 * path or a file that is not a replay input throws a `UsageError` before the first batch. Lines
 * that do not fit their file's format go to `onDeadLetter`; they are not items.
 *
 * @example
 * const source = openReplaySource(['recordings/'], { onDeadLetter: (dl) => deadLetters.write(dl) });
 * await new Runner(source, new Pipeline(), sink).run();
 */
export function openReplaySource(paths: readonly string[], opts: ReplaySourceOptions = {}): ReplaySource {
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let merge: ReplayMerge | undefined;
  let closed = false;
  return {
    name: `files:${paths.join(',')}`,
    get stats() {
      return merge?.stats;
    },
    async *batches(): AsyncIterable<Batch> {
      merge = await ReplayMerge.open(paths, { ...opts, allowArrow: false });
      try {
        while (!closed) {
          const entries = await merge.next(batchSize);
          if (entries.length === 0) break;
          const items: SourceItem[] = new Array(entries.length);
          for (let i = 0; i < entries.length; i++) {
            const e = entries[i]!;
            // allowArrow: false means the merge never yields normalized events
            if (e.kind !== 'item') throw new Error(`unexpected ${e.kind} entry from ${e.position.file}`);
            items[i] = e.item;
          }
          yield { items, ack: noop, watermark: merge.stats.lastTime };
        }
      } finally {
        merge.close();
      }
    },
    async close() {
      closed = true;
    },
  };
}
