/**
 * The one instance that writes a state location. At start the service claims its location by
 * writing `writer.json` beside the snapshot (a random id, host, pid and start time); before each
 * save a store checks that the file still names it (see state-store.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { FnwatchError } from '../core/contracts.ts';

/** The file (S3: the object) beside the snapshot that names the instance writing the location. */
export const WRITER_FILE = 'writer.json';

/** An fnwatch instance that writes a state location. */
export interface StateWriter {
  /** Random, new at each start */
  id: string;
  host: string;
  pid: number;
  startedAt: string;
}

/**
 * This process as a state writer, with a fresh id.
 *
 * @example
 * await store.claim(newStateWriter());
 */
export function newStateWriter(): StateWriter {
  return { id: randomUUID(), host: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
}

/** A save refused because another instance has claimed the location since this one did. */
export class StateTakenError extends FnwatchError {
  constructor(
    field: string,
    location: string,
    readonly by: StateWriter,
  ) {
    super(
      `${field}: ${location} is now written by another fnwatch (host ${by.host}, pid ${by.pid}, started ${by.startedAt}); ` +
        `this instance no longer saves its baselines there (a successor started before this one stopped, or two replicas share it: give each its own ${field})`,
      false,
      'state-taken',
    );
    this.name = 'StateTakenError';
  }
}

/**
 * The writer named by the text of a `writer.json`, or undefined when it is not one (then the next
 * claim replaces it).
 *
 * @example
 * parseStateWriter('{"id":"a","host":"h","pid":1,"startedAt":"2026-12-04T00:00:00Z"}')?.host; // → 'h'
 */
export function parseStateWriter(text: string): StateWriter | undefined {
  try {
    const w = JSON.parse(text) as Partial<StateWriter> | null;
    if (typeof w?.id !== 'string' || typeof w.host !== 'string' || typeof w.pid !== 'number' || typeof w.startedAt !== 'string') return undefined;
    return { id: w.id, host: w.host, pid: w.pid, startedAt: w.startedAt };
  } catch {
    return undefined;
  }
}
