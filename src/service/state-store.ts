/**
 * Where the service keeps its baseline snapshot between runs: a local directory (`state.dir`) or an
 * S3 prefix (`state.s3`). Both hold the same bytes, `baseline.json` in the `fnwatch train` format
 * (plus `positions` and `openAlerts`), and keep the same contract, tested by one suite
 * (`state-store-conformance.ts`): nothing saved loads as `undefined`, a save replaces the previous
 * one as a whole (a reader sees the old snapshot or the new one, never a mix), and something at the
 * location that is not a snapshot is a UsageError naming the location.
 *
 * One location has one writer. At start the service claims it: `writer.json` beside the snapshot
 * names the instance (a random id, host, pid, start time), and writing it proves the location is
 * writable. Before each save a store that has claimed its location reads `writer.json` again; if
 * another instance has claimed it since (two replicas given the same `state.dir` or prefix), the
 * save is refused with a {@link StateTakenError} naming that instance, instead of the two
 * overwriting each other's baselines in turns.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/contracts.ts';
import { BASELINE_FILE, saveBaseline, writeFileAtomically } from '../profiler/snapshot.ts';
import type { ServiceConfig } from './config.ts';
import { S3StateStore } from './s3-state-store.ts';
import { loadState, type ServiceSnapshot } from './state.ts';
import { parseStateWriter, StateTakenError, WRITER_FILE, type StateWriter } from './state-writer.ts';

/** A place for the service's snapshot. */
export interface StateStore {
  /** The snapshot's location, for logs and errors: a file path or an `s3://` URL */
  readonly location: string;
  /** The saved snapshot, or `undefined` when there is none yet. Throws when it cannot tell (start refuses). */
  load(): Promise<ServiceSnapshot | undefined>;
  /** Replaces the saved snapshot atomically; resolves with its location. Throws on failure (the caller retries later). */
  save(snapshot: ServiceSnapshot): Promise<string>;
  /**
   * Claims the location for `writer`: writes `writer.json` beside the snapshot (the snapshot itself
   * is left alone), which also proves at start that a save can succeed. A UsageError naming the
   * field and what is missing otherwise: without it a missing write permission would show first as
   * a failed snapshot an interval later. After a claim, `save` refuses with a
   * {@link StateTakenError} once another writer has claimed the location.
   */
  claim(writer: StateWriter): Promise<void>;
  /** Releases connections; idempotent */
  close(): void;
}

/**
 * Today's local store: `dir/baseline.json`, written with temp file + fsync + rename.
 *
 * @example
 * const store = new DirectoryStateStore('/var/lib/fnwatch/state');
 * const saved = await store.load();
 * await store.save(serviceSnapshot(pipeline.snapshot(), {}));
 */
export class DirectoryStateStore implements StateStore {
  readonly location: string;
  private writer: StateWriter | undefined;

  constructor(readonly dir: string) {
    this.location = join(dir, BASELINE_FILE);
  }

  async load(): Promise<ServiceSnapshot | undefined> {
    return loadState(this.dir);
  }

  async save(snapshot: ServiceSnapshot): Promise<string> {
    if (this.writer) {
      const path = join(this.dir, WRITER_FILE);
      const current = existsSync(path) ? parseStateWriter(readFileSync(path, 'utf8')) : undefined;
      if (current && current.id !== this.writer.id) throw new StateTakenError('state.dir', this.location, current);
      if (!current) this.writeClaim(this.writer);
    }
    return saveBaseline(this.dir, snapshot);
  }

  async claim(writer: StateWriter): Promise<void> {
    try {
      // The same steps a save takes: create the directory, write a file in it, rename it into place.
      mkdirSync(this.dir, { recursive: true });
      this.writeClaim(writer);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`state.dir: cannot write to ${this.dir}: ${e.code ?? e.message}`);
    }
    this.writer = writer;
  }

  private writeClaim(writer: StateWriter): void {
    writeFileAtomically(join(this.dir, WRITER_FILE), `${JSON.stringify(writer)}\n`);
  }

  close(): void {}
}

/**
 * The store a validated `state` config names (the config guarantees exactly one of `dir` and `s3`).
 *
 * @example
 * const store = createStateStore(config.state); // DirectoryStateStore or S3StateStore
 */
export function createStateStore(state: NonNullable<ServiceConfig['state']>, env: NodeJS.ProcessEnv = process.env): StateStore {
  if (state.s3 !== undefined) return new S3StateStore(state.s3, { env });
  if (state.dir !== undefined) return new DirectoryStateStore(state.dir);
  throw new Error('state: neither dir nor s3 is set (the config schema requires one)');
}
