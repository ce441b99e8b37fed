/**
 * The event-time merge across recorded files. Replay orders by item time: a Kinesis record by its
 * `ApproximateArrivalTimestamp`, a log event by its `timestamp`, a CloudTrail record by its
 * `eventTime`, an Arrow event by its `time`. Each file is assumed roughly time-ordered (a shard
 * dump, a CloudTrail file sorted on read, a filter-log-events page); a min-heap keyed by each
 * file's next entry merges them. What disorder remains (a late CloudTrail file, a record whose
 * events are older than its arrival) is counted as `outOfOrder` and left to the pipeline, which
 * scores on event time and tolerates late events.
 *
 * Memory is bounded by the files open at once, each holding one decompressed chunk of entries:
 * a file stays closed until the merge position reaches its first event time (known from the
 * probe), and is closed as soon as it is done, so a directory of ten thousand five-minute
 * CloudTrail files holds only the few that overlap.
 */
import { UsageError } from '../../core/contracts.ts';
import type { DeadLetter } from '../../core/events.ts';
import { MinHeap } from '../../core/min-heap.ts';
import { openCursor, type Cursor } from './cursor.ts';
import { FORMAT_NAMES, KNOWN_FORMATS, type ReplayEntry } from './formats.ts';
import { expandInputs } from './inputs.ts';
import { probeFile, type FileProbe, type ProbeBudget } from './probe.ts';

export interface MergeOptions {
  /** Log group of `aws logs filter-log-events` outputs (they do not name it) */
  logGroup?: string;
  /** Keep entries with `from <= time < to` (epoch ms); the rest are counted as `filtered` */
  from?: number;
  to?: number;
  /** File-level dead letters: bad lines, wrong shapes, damaged gzip */
  onDeadLetter?: (dl: DeadLetter) => void;
  /** Whether Arrow event files are accepted (default true) */
  allowArrow?: boolean;
}

/** A file that was found but not read, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

export interface MergeStats {
  /** Files read (or being read) */
  files: number;
  skipped: SkippedFile[];
  /** Entries handed on */
  entries: number;
  /** Entries outside --from/--to */
  filtered: number;
  /** Dead letters raised while reading files */
  deadLetters: number;
  /** Entries handed on with a time earlier than one handed on before them */
  outOfOrder: number;
  /** Most files open at once */
  maxOpen: number;
  /** Earliest and latest entry time handed on */
  firstTime?: number;
  lastTime?: number;
  /** Bytes of all files to read */
  bytesTotal: number;
}

interface Node {
  key: number;
  /** Input order: breaks ties so equal times keep file order */
  seq: number;
  probe: FileProbe;
  cursor?: Cursor;
}

function before(a: Node, b: Node): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}


/**
 * Files and directories merged into one event-time ordered stream of {@link ReplayEntry}s.
 *
 * @example
 * const merge = await ReplayMerge.open(['recordings/'], { onDeadLetter: (dl) => dls.push(dl) });
 * for (let batch = await merge.next(1000); batch.length > 0; batch = await merge.next(1000)) handle(batch);
 * merge.close();
 */
export class ReplayMerge {
  readonly stats: MergeStats;
  private readonly heap = new MinHeap<Node>(before);
  private open = 0;
  private bytesOfDoneFiles = 0;

  private constructor(
    readonly probes: readonly FileProbe[],
    skipped: SkippedFile[],
    private readonly opts: MergeOptions,
  ) {
    this.stats = {
      files: probes.length,
      skipped,
      entries: 0,
      filtered: 0,
      deadLetters: 0,
      outOfOrder: 0,
      maxOpen: 0,
      bytesTotal: probes.reduce((n, p) => n + p.size, 0),
    };
    probes.forEach((probe, seq) => this.heap.push({ key: probe.firstTime, seq, probe }));
  }

  /**
   * Expands and probes the inputs. Everything a user must fix is a {@link UsageError} raised here,
   * before any entry is read: a missing or unreadable path, a named file that is not a replay
   * input, a filter-log-events output without `logGroup`, an empty selection.
   */
  static async open(paths: readonly string[], opts: MergeOptions = {}): Promise<ReplayMerge> {
    const inputs = expandInputs(paths);
    const budget: ProbeBudget = { keptChars: 0 };
    const probes: FileProbe[] = [];
    const skipped: SkippedFile[] = [];
    for (const input of inputs) {
      let probe: FileProbe;
      try {
        probe = await probeFile(input, opts, budget);
      } catch (err) {
        throw new UsageError(`cannot read ${input.path}: ${(err as Error).message}`);
      }
      if (probe.layout === 'unknown' || probe.layout === 'empty') {
        const reason = probe.layout === 'empty' ? 'empty file' : `not a replay input: ${probe.reason}`;
        if (probe.explicit && probe.layout === 'unknown') throw new UsageError(`${probe.path}: ${reason}; expected ${KNOWN_FORMATS}`);
        skipped.push({ file: probe.path, reason });
        continue;
      }
      if (probe.format === 'filter-log-events' && !opts.logGroup) {
        throw new UsageError(`${probe.path}: ${FORMAT_NAMES['filter-log-events']} does not name its log group; pass --log-group NAME`);
      }
      if (probe.format === 'arrow' && opts.allowArrow === false) {
        throw new UsageError(`${probe.path}: Arrow files hold normalized events, not source items; replay them with runReplay (fnwatch replay)`);
      }
      probes.push(probe);
    }
    const raw = probes.some((p) => p.format !== 'arrow');
    const kept = probes.filter((p) => {
      // A generated dataset holds its raw telemetry and the ground-truth events.arrow side by side:
      // reading both would count every event twice.
      if (p.format === 'arrow' && !p.explicit && raw) {
        skipped.push({ file: p.path, reason: 'normalized events next to raw telemetry (they would count twice); name the file to replay it' });
        return false;
      }
      return true;
    });
    if (kept.length === 0) {
      const first = skipped[0];
      throw new UsageError(`nothing to replay in ${paths.join(' ')}${first ? `: ${first.file}: ${first.reason}` : ''}`);
    }
    return new ReplayMerge(kept, skipped, opts);
  }

  /** Files open right now. */
  get openFiles(): number {
    return this.open;
  }

  /** Bytes of the input files read so far (compressed bytes for gzip files), for progress. */
  bytesDone(): number {
    let n = this.bytesOfDoneFiles;
    for (const node of this.heap.items) if (node.cursor) n += node.cursor.bytesRead();
    return n;
  }

  /**
   * Up to `max` next entries in merged order; an empty array once every file is done. Awaits only
   * when a file must be opened or its buffer refilled.
   */
  async next(max: number): Promise<ReplayEntry[]> {
    const out: ReplayEntry[] = [];
    const { from, to } = this.opts;
    const stats = this.stats;
    while (out.length < max) {
      const top = this.heap.peek();
      if (!top) break;
      const cursor = top.cursor;
      if (!cursor) {
        this.heap.pop();
        await this.start(top);
        continue;
      }
      const entry = cursor.buffer[cursor.index++]!;
      if (cursor.index < cursor.buffer.length) {
        top.key = cursor.buffer[cursor.index]!.time;
        this.heap.siftDown();
      } else {
        this.heap.pop();
        await this.resume(top, cursor);
      }
      const t = entry.time;
      if ((from !== undefined && t < from) || (to !== undefined && t >= to)) {
        stats.filtered++;
        continue;
      }
      if (stats.lastTime !== undefined && t < stats.lastTime) stats.outOfOrder++;
      else if (Number.isFinite(t)) stats.lastTime = t;
      if (stats.firstTime === undefined && Number.isFinite(t)) stats.firstTime = t;
      stats.entries++;
      out.push(entry);
    }
    return out;
  }

  private async start(node: Node): Promise<void> {
    const cursor = openCursor(node.probe, { logGroup: this.opts.logGroup, deadLetter: (dl) => this.deadLetter(dl) });
    this.open++;
    if (this.open > this.stats.maxOpen) this.stats.maxOpen = this.open;
    node.cursor = cursor;
    await this.resume(node, cursor);
  }

  /** Refills a node whose buffer is used up and puts it back, or retires the file. */
  private async resume(node: Node, cursor: Cursor): Promise<void> {
    if (await cursor.refill()) {
      node.key = cursor.buffer[0]!.time;
      this.heap.push(node);
      return;
    }
    cursor.close();
    node.cursor = undefined;
    this.open--;
    this.bytesOfDoneFiles += node.probe.size;
  }

  private deadLetter(dl: DeadLetter): void {
    this.stats.deadLetters++;
    this.opts.onDeadLetter?.(dl);
  }

  /** Closes every open file. */
  close(): void {
    for (const node of this.heap.items) {
      if (!node.cursor) continue;
      node.cursor.close();
      node.cursor = undefined;
      this.open--;
    }
    this.heap.items.length = 0;
  }
}
