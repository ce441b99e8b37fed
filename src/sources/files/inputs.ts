/**
 * Turning the paths a user typed into the list of files to read: directories are walked
 * recursively in sorted order, and anything missing or unreadable is a one-line {@link UsageError}
 * raised before a single record is processed.
 */
import { accessSync, constants, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../core/contracts.ts';

/** One file to read; `explicit` when the user named it rather than a directory holding it. */
export interface InputFile {
  path: string;
  size: number;
  explicit: boolean;
}

/**
 * Expands files and directories into files. Hidden entries (`.name`) inside directories are
 * skipped; names are sorted by code point so every machine reads them in the same order.
 *
 * @example
 * expandInputs(['datasets/demo', 'extra/trail.json.gz']);
 * // → [{ path: 'datasets/demo/kinesis/shard-000.ndjson.gz', size: 81234, explicit: false }, …]
 */
export function expandInputs(paths: readonly string[]): InputFile[] {
  if (paths.length === 0) throw new UsageError('no input files given');
  const out: InputFile[] = [];
  for (const path of paths) {
    const st = statOrThrow(path);
    if (st.isDirectory()) {
      const before = out.length;
      walk(path, out, new Set());
      if (out.length === before) throw new UsageError(`no files under ${path}`);
    } else {
      readableOrThrow(path);
      out.push({ path, size: st.size, explicit: true });
    }
  }
  return out;
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    throw new UsageError(describeFsError(path, err));
  }
}

function readableOrThrow(path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new UsageError(describeFsError(path, err));
  }
}

function walk(dir: string, out: InputFile[], seen: Set<string>): void {
  // A symlink loop would otherwise recurse forever.
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  let names: string[];
  try {
    readableOrThrow(dir);
    names = readdirSync(dir);
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(describeFsError(dir, err));
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const st = statOrThrow(path);
    if (st.isDirectory()) walk(path, out, seen);
    else if (st.isFile()) {
      readableOrThrow(path);
      out.push({ path, size: st.size, explicit: false });
    }
  }
}

/** One line naming the path and what is wrong with it. */
export function describeFsError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return `no such file or directory: ${path}`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot read ${path}: permission denied`;
  if (code === 'ENOTDIR') return `not a directory: ${path}`;
  return `cannot read ${path}: ${(err as Error)?.message ?? String(err)}`;
}
