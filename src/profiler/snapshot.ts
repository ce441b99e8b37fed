/**
 * Saved baselines: the format `fnwatch train` writes, `replay --baseline` and `investigate
 * --baseline` read, and the service snapshots on an interval and at shutdown. Schema-versioned JSON
 * (one file, `baseline.json`), written atomically (temp file + fsync + rename).
 */
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/contracts.ts';

/**
 * Schema 2 (this version) saves the whole state of a profile: schema 1 left out the open hour, the
 * 60-minute ring and the closed hours of the rate model, the recent durations and the error and
 * AccessDenied windows, so a restored baseline could miss or raise alerts that the uninterrupted
 * run would not (a dormant wake-up straddling a restart).
 */
export const BASELINE_SCHEMA = 'fnwatch.baseline/2';
/** Still read: its profiles restore with empty windows, as they always did. */
export const BASELINE_SCHEMA_V1 = 'fnwatch.baseline/1';
const READABLE_SCHEMAS: readonly string[] = [BASELINE_SCHEMA, BASELINE_SCHEMA_V1];
export const BASELINE_FILE = 'baseline.json';

export interface BaselineSnapshot {
  /** written as {@link BASELINE_SCHEMA}; {@link BASELINE_SCHEMA_V1} when read from an older file */
  schema: typeof BASELINE_SCHEMA | typeof BASELINE_SCHEMA_V1;
  /** Event-time watermark when taken (ms) */
  watermark: number;
  /** Wall-clock time when taken (ISO) */
  createdAt: string;
  /** Profiles, as `FunctionProfile.toJSON()` */
  functions: Record<string, unknown>[];
  /**
   * What the fleet knows beyond the profiles (optional: snapshots written before it, or merged from
   * several engines, have none, and a restore then falls back as {@link BaselineFleet} says).
   */
  fleet?: BaselineFleet;
}

/**
 * The fleet's memory that the profiles do not hold. `lateEgress`: for each function of `functions`
 * that began using a destination after its own learning period, the function's egress discovery
 * rate just after that first use and whether new-egress-host raised a finding on that use, as
 * `[functionKey, hostPort, discovery, alerted]` (`functionKey` as in `core/events.ts`).
 * new-egress-host judges from them whether that use vouches for the destination
 * (`lateUseVouches`). A late use missing from it (an older snapshot) is restored with the
 * function's discovery rate at restore instead, which is lower or equal, so it vouches less often;
 * an entry without `alerted` (written before it existed) is restored as not alerted.
 *
 * @example
 * const fleet: BaselineFleet = { lateEgress: [['111111111111/us-east-1/sso-provisioner', 'api.zendesk.com:443', 0.13, false]] };
 */
export interface BaselineFleet {
  lateEgress: [functionKey: string, hostPort: string, discovery: number, alerted?: boolean][];
}

/**
 * Writes a snapshot to `dir/baseline.json` atomically.
 *
 * @example
 * saveBaseline('./baselines', pipeline.snapshot());
 */
export function saveBaseline(dir: string, snap: BaselineSnapshot): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, BASELINE_FILE);
  writeFileAtomically(path, JSON.stringify(snap));
  return path;
}

/**
 * Writes `text` to `path` through a temporary file beside it (fsync, then rename): a reader sees the
 * old file or the new one, never a part of one.
 *
 * @example
 * writeFileAtomically('/var/lib/fnwatch/state/writer.json', JSON.stringify(writer));
 */
export function writeFileAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Reads `dir/baseline.json` (or a path to the file itself). A missing or foreign file is a
 * one-line {@link UsageError}.
 */
export function loadBaseline(dirOrFile: string): BaselineSnapshot {
  const path = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, BASELINE_FILE);
  if (!existsSync(path)) throw new UsageError(`no baseline at ${path} (write one with: fnwatch train <inputs> --out DIR)`);
  let snap: BaselineSnapshot;
  try {
    snap = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`baseline ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!READABLE_SCHEMAS.includes(snap?.schema)) {
    throw new UsageError(`baseline ${path} has schema ${JSON.stringify(snap?.schema)}; this fnwatch reads ${READABLE_SCHEMAS.join(' and ')}`);
  }
  if (!Array.isArray(snap.functions)) throw new UsageError(`baseline ${path} (schema ${snap.schema}) has no "functions" array`);
  if (snap.fleet !== undefined && !validFleet(snap.fleet)) {
    throw new UsageError(`baseline ${path} has a malformed "fleet.lateEgress" (want an array of [functionKey, hostPort, discovery rate in 0..1, alerted (optional boolean)])`);
  }
  return snap;
}

function validFleet(fleet: unknown): fleet is BaselineFleet {
  const late = (fleet as BaselineFleet | null)?.lateEgress;
  return (
    Array.isArray(late) &&
    late.every(
      (e) =>
        Array.isArray(e) &&
        (e.length === 3 || (e.length === 4 && typeof e[3] === 'boolean')) &&
        typeof e[0] === 'string' &&
        typeof e[1] === 'string' &&
        typeof e[2] === 'number' &&
        e[2] >= 0 &&
        e[2] <= 1,
    )
  );
}
