/**
 * Bounded memory for the parsers' per-stream and per-function state and for delivery-id dedupe.
 * Parsers run for months in the service, so every map they keep must have a ceiling.
 */

/**
 * An approximately-LRU map with two generations: lookups hit `young`, then `old` (promoting the
 * entry), and when `young` fills up it becomes `old` and the previous `old` is dropped. That costs one
 * `Map.get` on a hit instead of the delete+set an exact LRU needs, and holds at most `2 × capacity`.
 *
 * @example
 * const streams = new GenerationalMap<string, number>(2);
 * streams.set('a', 1); streams.set('b', 2); streams.set('c', 3); // `a`,`b` move to the old generation
 * streams.get('a'); // → 1 (promoted back into the young generation)
 */
export class GenerationalMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  /**
   * The entry of the last `get` hit or `set`, which is always in `young` (both end by setting it,
   * after any insert that retired a generation): the parsers look up one log stream's state for each
   * of its events in a row, and a repeated hit in `young` changes nothing, so answering it from here
   * is the same as looking.
   */
  private lastKey: K | undefined;
  private lastValue: V | undefined;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`GenerationalMap capacity must be >= 1, got ${capacity}`);
  }

  get(key: K): V | undefined {
    if (key === this.lastKey && this.lastValue !== undefined) return this.lastValue;
    const v = this.young.get(key);
    if (v !== undefined) {
      this.lastKey = key;
      this.lastValue = v;
      return v;
    }
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insert(key, o);
      this.lastKey = key;
      this.lastValue = o;
    }
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
    } else {
      this.old.delete(key);
      this.insert(key, value);
    }
    this.lastKey = key;
    this.lastValue = value;
  }

  /** Entries currently held (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  private insert(key: K, value: V): void {
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

/**
 * Remembers recent delivery ids (CloudTrail eventIDs, short CloudWatch ids) to drop redeliveries:
 * Kinesis is at-least-once and CloudWatch Logs and CloudTrail can redeliver. Ids are kept as 64-bit
 * hashes in two generations of open-addressing tables on typed arrays: no per-id allocation, so a
 * 200 000-id window costs a few MB and no GC work. When the young generation holds `capacity` ids it
 * replaces the old one, so the window is always at least the last `capacity` ids and at most twice
 * that. A false "seen" needs a 64-bit hash collision (about 1e-9 over a full window).
 *
 * Strings are hashed without concatenation: `seen(a, b, c)` treats the parts as one key.
 *
 * @example
 * const ids = new RecentIds(1000);
 * ids.seen('e1'); // → false (first time; now remembered)
 * ids.seen('e1'); // → true
 */
export class RecentIds {
  private young: HashTable;
  private old: HashTable;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`RecentIds capacity must be >= 1, got ${capacity}`);
    this.young = new HashTable(capacity);
    this.old = new HashTable(capacity);
  }

  /** True if the key (`a`, or the parts `a`,`b`,`c` together) was seen within the window; otherwise remembers it. */
  seen(a: string, b?: string, c?: string): boolean {
    hashState[0] = 0x811c9dc5;
    hashState[1] = 0x9e3779b9;
    hashInto(a);
    // A separator outside any string's char range keeps ('ab','c') apart from ('a','bc').
    if (b !== undefined) hashInto(b, 0x10000);
    if (c !== undefined) hashInto(c, 0x10001);
    const h1 = fmix(hashState[0] ^ a.length);
    let h2 = fmix(hashState[1] ^ Math.imul(a.length, 0x27d4eb2f));
    if (h1 === 0 && h2 === 0) h2 = 1; // (0, 0) marks an empty slot
    if (this.young.has(h1, h2) || this.old.has(h1, h2)) return true;
    if (this.young.size >= this.capacity) {
      const recycled = this.old;
      recycled.clear();
      this.old = this.young;
      this.young = recycled;
    }
    this.young.add(h1, h2);
    return false;
  }

  /** Ids currently remembered (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}

/** Per stream: the largest id inserted, and the insert number of its latest insert. */
interface StreamMark {
  max: string;
  lastInsert: number;
}

/**
 * The dedupe window for CloudWatch log event ids: exactly the last `capacity` ids (FIFO), built for
 * the live case where each stream's ids arrive in increasing order.
 *
 * - Each stream keeps the largest id it has inserted. An id above it cannot be a repeat, so the
 *   common case needs no lookup at all: the id's hash is appended to a ring buffer (a sequential
 *   write, no cache miss).
 * - Only an id at or below its stream's mark (a redelivery, a backfill overlapping live data) needs a
 *   lookup. The hash index over the ring is built on the first such lookup, kept up to date while
 *   lookups keep coming, and dropped after `capacity` inserts without one.
 * - A stream's mark is trusted only while one of its ids is still in the window (tracked by insert
 *   number), so the mark is always at least every id of that stream the window holds.
 *
 * Keys are the last `suffixLength` chars of the id plus a number (`salt`, the event timestamp); the
 * parser explains why that is sound for CloudWatch ids. A false "seen" needs a 64-bit collision.
 *
 * @example
 * const w = new StreamIdWindow(200_000);
 * w.seen('/aws/lambda/f', '2024/01/01/[$LATEST]ab…', '3195310660…1568', 24, 1432826855000); // → false
 */
export class StreamIdWindow {
  /** (h1, h2) per insert, in insert order; slot = insert number % capacity */
  private readonly ring: Uint32Array;
  private inserts = 0;
  private index: HashTable | undefined;
  private insertsSinceLookup = 0;
  private marks = new Map<string, Map<string, StreamMark>>();
  private marksCount = 0;
  /**
   * The stream of the last `seen` call that inserted, and its entries in `marks`. Pruning only runs
   * inside such a call, before this is set, and never drops the mark just touched; so these stay valid.
   */
  private lastGroup: string | undefined;
  private lastStream: string | undefined;
  private lastStreams: Map<string, StreamMark> | undefined;
  private lastMark: StreamMark | undefined;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`StreamIdWindow capacity must be >= 1, got ${capacity}`);
    this.ring = new Uint32Array(capacity * 2);
  }

  /** True if this id of stream (`group`, `stream`) is in the window; otherwise remembers it. */
  seen(group: string, stream: string, id: string, suffixLength: number, salt: number): boolean {
    // Inline hash of the suffix, 4 chars per step (ids are decimal digits): this runs per log event.
    let h1 = 0x811c9dc5 ^ (salt % 0x100000000);
    let h2 = 0x9e3779b9 ^ Math.floor(salt / 0x100000000);
    const n = id.length;
    let i = n > suffixLength ? n - suffixLength : 0;
    for (; i + 3 < n; i += 4) {
      const word = id.charCodeAt(i) | (id.charCodeAt(i + 1) << 8) | (id.charCodeAt(i + 2) << 16) | (id.charCodeAt(i + 3) << 24);
      h1 = Math.imul(h1 ^ word, 0x01000193);
      h2 = Math.imul(h2 ^ word, 0x5bd1e995);
      h1 ^= h1 >>> 15;
      h2 ^= h2 >>> 13;
    }
    for (; i < n; i++) {
      h1 = Math.imul(h1 ^ id.charCodeAt(i), 0x01000193);
      h2 = Math.imul(h2 ^ id.charCodeAt(i), 0x5bd1e995);
    }
    h1 = fmix(h1 ^ n);
    h2 = fmix(h2 ^ Math.imul(n, 0x27d4eb2f));
    if (h1 === 0 && h2 === 0) h2 = 1; // (0, 0) marks an empty index slot

    // Events come in runs of one stream (a payload holds one stream's events): remember the last
    // stream's entry instead of two map lookups per id.
    const cached = stream === this.lastStream && group === this.lastGroup;
    let streams = cached ? this.lastStreams : this.marks.get(group);
    const found = cached ? this.lastMark : streams?.get(stream);
    let mark = found;
    const live = found !== undefined && this.inserts - found.lastInsert <= this.capacity;
    const above = live && id.length === found.max.length && id > found.max;
    if (!above) {
      if (live && this.lookup(h1, h2)) return true;
      // With no live mark, none of the stream's ids is in the window: nothing to look up.
    }
    this.insert(h1, h2);
    if (mark === undefined) {
      if (streams === undefined) {
        streams = new Map();
        this.marks.set(group, streams);
      }
      mark = { max: id, lastInsert: this.inserts };
      streams.set(stream, mark);
      if (++this.marksCount > 2 * this.capacity) this.pruneMarks();
    } else {
      if (!live || above) mark.max = id;
      mark.lastInsert = this.inserts;
    }
    // This stream's mark survives any pruning above (it was just touched).
    this.lastGroup = group;
    this.lastStream = stream;
    this.lastStreams = streams;
    this.lastMark = mark;
    return false;
  }

  private lookup(h1: number, h2: number): boolean {
    this.insertsSinceLookup = 0;
    if (this.index === undefined) {
      const index = new HashTable(this.capacity);
      const held = Math.min(this.inserts, this.capacity);
      for (let k = this.inserts - held; k < this.inserts; k++) {
        const slot = (k % this.capacity) * 2;
        index.add(this.ring[slot], this.ring[slot + 1]);
      }
      this.index = index;
    }
    return this.index.has(h1, h2);
  }

  private insert(h1: number, h2: number): void {
    const slot = (this.inserts % this.capacity) * 2;
    const index = this.index;
    if (index !== undefined) {
      if (++this.insertsSinceLookup > this.capacity) this.index = undefined;
      else {
        if (this.inserts >= this.capacity) index.delete(this.ring[slot], this.ring[slot + 1]);
        index.add(h1, h2);
      }
    }
    this.ring[slot] = h1;
    this.ring[slot + 1] = h2;
    this.inserts++;
  }

  /** Drops the marks of streams with no id left in the window. */
  private pruneMarks(): void {
    let kept = 0;
    for (const [group, streams] of this.marks) {
      for (const [stream, mark] of streams) {
        if (this.inserts - mark.lastInsert > this.capacity) streams.delete(stream);
        else kept++;
      }
      if (streams.size === 0) this.marks.delete(group);
    }
    this.marksCount = kept;
  }

  /** Ids currently in the window. */
  get size(): number {
    return Math.min(this.inserts, this.capacity);
  }
}

/** Two independent 32-bit running hashes; module state so hashing allocates nothing. */
const hashState = new Int32Array(2);

/**
 * Feeds `s` (after an optional separator) to both hashes. Four one-byte chars (ids are ASCII) go in
 * one multiply step, which keeps the dependency chain short; wider chars go two per step.
 */
function hashInto(s: string, separator?: number): void {
  let h1 = hashState[0];
  let h2 = hashState[1];
  if (separator !== undefined) {
    h1 = Math.imul(h1 ^ separator, 0x01000193);
    h2 = Math.imul(h2 ^ separator, 0x5bd1e995);
  }
  const n = s.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) < 0x100) {
      const word = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      h1 = Math.imul(h1 ^ word, 0x01000193);
      h2 = Math.imul(h2 ^ word, 0x5bd1e995);
    } else {
      h1 = Math.imul(Math.imul(h1 ^ (c0 | (c1 << 16)), 0x01000193) ^ (c2 | (c3 << 16)), 0x01000193);
      h2 = Math.imul(Math.imul(h2 ^ (c0 | (c1 << 16)), 0x5bd1e995) ^ (c2 | (c3 << 16)), 0x5bd1e995);
    }
    h1 ^= h1 >>> 15;
    h2 ^= h2 >>> 13;
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  hashState[0] = h1;
  hashState[1] = h2;
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Linear-probing set of (h1, h2) pairs, load factor at most 1/2; a pair shares one cache line. */
class HashTable {
  private readonly slots: Uint32Array;
  private readonly mask: number;
  size = 0;

  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.slots = new Uint32Array(n * 2);
    this.mask = n - 1;
  }

  has(h1: number, h2: number): boolean {
    const slots = this.slots;
    for (let i = h1 & this.mask; ; i = (i + 1) & this.mask) {
      const a = slots[2 * i];
      const b = slots[2 * i + 1];
      if (a === h1 && b === h2) return true;
      if (a === 0 && b === 0) return false;
    }
  }

  add(h1: number, h2: number): void {
    // Callers keep at most half the slots used; past that a probe could loop forever, so fail loudly.
    if (this.size > this.mask >>> 1) throw new Error(`hash table over half full (${this.size} of ${this.mask + 1} slots)`);
    const slots = this.slots;
    let i = h1 & this.mask;
    while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) i = (i + 1) & this.mask;
    slots[2 * i] = h1;
    slots[2 * i + 1] = h2;
    this.size++;
  }

  /** Removes a pair, shifting later members of its probe run back so lookups stay correct. */
  delete(h1: number, h2: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h1 & mask;
    for (;;) {
      const a = slots[2 * i];
      const b = slots[2 * i + 1];
      if (a === h1 && b === h2) break;
      if (a === 0 && b === 0) return;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const a = slots[2 * j];
      const b = slots[2 * j + 1];
      if (a === 0 && b === 0) break;
      const home = a & mask;
      // Move j back into the hole at i unless j's home lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        slots[2 * i] = a;
        slots[2 * i + 1] = b;
        i = j;
      }
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    this.size--;
  }

  clear(): void {
    if (this.size === 0) return;
    this.slots.fill(0);
    this.size = 0;
  }
}
