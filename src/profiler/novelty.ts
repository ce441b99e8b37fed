/**
 * A capped set of things seen (egress host:port, action+resource) with first/last seen and counts.
 * Past the cap, new items are counted as overflow instead of stored: memory stays bounded, and a
 * function with an overflowing set is known to be too varied for novelty to mean much.
 */

/** One remembered item: [firstSeen ms, lastSeen ms, count]. */
export type SeenEntry = [first: number, last: number, count: number];

/** Strings are interned so that thousands of functions touching the same table share one copy. */
const interned = new Map<string, string>();
const INTERN_MAX = 200_000;
export function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < INTERN_MAX) interned.set(s, s);
  return s;
}

/**
 * @example
 * const s = new NoveltySet(64);
 * s.observe('api.stripe.com:443', t); // true: new
 * s.observe('api.stripe.com:443', t); // false: known
 */
export class NoveltySet {
  readonly items = new Map<string, SeenEntry>();
  overflow = 0;

  constructor(readonly cap: number) {}

  /** Records `key` at time `t`; returns true when it had not been seen before. */
  observe(key: string, t: number): boolean {
    const e = this.items.get(key);
    if (e) {
      if (t > e[1]) e[1] = t;
      e[2]++;
      return false;
    }
    if (this.items.size >= this.cap) {
      this.overflow++;
      return true;
    }
    this.items.set(intern(key), [t, t, 1]);
    return true;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get size(): number {
    return this.items.size;
  }

  toJSON(): { items: [string, SeenEntry][]; overflow: number } {
    return { items: [...this.items.entries()], overflow: this.overflow };
  }

  static fromJSON(j: { items: [string, SeenEntry][]; overflow: number }, cap: number): NoveltySet {
    const s = new NoveltySet(cap);
    for (const [k, v] of j.items) s.items.set(intern(k), [v[0], v[1], v[2]]);
    s.overflow = j.overflow;
    return s;
  }
}
