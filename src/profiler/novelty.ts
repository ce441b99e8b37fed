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
  /**
   * Item → slot; the slot's [first, last, count] are `seen[3·slot …]`. Flat numbers instead of one
   * `[first, last, count]` array per item: an array is ~72 bytes of heap of its own, the flat slot 24,
   * which is most of a baseline's memory at tens of resources (bench/memory.ts).
   */
  private readonly index = new Map<string, number>();
  private readonly seen: number[] = [];
  overflow = 0;
  /** Observations recorded (sum of counts, overflow included) */
  total = 0;
  /** Items seen exactly once: the Good-Turing estimate of what is still undiscovered */
  singletons = 0;

  constructor(readonly cap: number) {}

  /** Records `key` at time `t`; returns true when it had not been seen before. */
  observe(key: string, t: number): boolean {
    this.total++;
    const slot = this.index.get(key);
    if (slot !== undefined) {
      const seen = this.seen;
      const o = slot * 3;
      if (t > seen[o + 1]!) seen[o + 1] = t;
      if (seen[o + 2] === 1) this.singletons--;
      seen[o + 2]!++;
      return false;
    }
    this.singletons++;
    if (this.index.size >= this.cap) {
      this.overflow++;
      return true;
    }
    this.add(key, t, t, 1);
    return true;
  }

  private add(key: string, first: number, last: number, count: number): void {
    this.index.set(intern(key), this.seen.length / 3);
    this.seen.push(first, last, count);
  }

  /** The items with [first, last, count], in first-seen order (a copy: built on each call). */
  get items(): ReadonlyMap<string, Readonly<SeenEntry>> {
    const out = new Map<string, SeenEntry>();
    for (const [k, slot] of this.index) out.set(k, this.entry(slot));
    return out;
  }

  /** The items, in first-seen order. */
  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  private entry(slot: number): SeenEntry {
    const o = slot * 3;
    return [this.seen[o]!, this.seen[o + 1]!, this.seen[o + 2]!];
  }

  /**
   * Good-Turing estimate of the chance that the next observation is something never seen:
   * (items seen once + 1) / (observations + 2). Near 0 for a function that keeps doing the same
   * few things; high while it is still showing its repertoire (a function called a few times a
   * day), when a new item is no surprise.
   *
   * @example
   * const s = new NoveltySet(8);
   * for (let i = 0; i < 98; i++) s.observe('a', i);
   * s.discoveryRate(); // (0 + 1) / (98 + 2) = 0.01
   */
  discoveryRate(): number {
    return (this.singletons + 1) / (this.total + 2);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get size(): number {
    return this.index.size;
  }

  toJSON(): { items: [string, SeenEntry][]; overflow: number } {
    const items: [string, SeenEntry][] = [];
    for (const [k, slot] of this.index) items.push([k, this.entry(slot)]);
    return { items, overflow: this.overflow };
  }

  static fromJSON(j: { items: [string, SeenEntry][]; overflow: number }, cap: number): NoveltySet {
    const s = new NoveltySet(cap);
    for (const [k, v] of j.items) {
      s.add(k, v[0], v[1], v[2]);
      s.total += v[2];
      if (v[2] === 1) s.singletons++;
    }
    s.overflow = j.overflow;
    s.total += j.overflow;
    return s;
  }
}
