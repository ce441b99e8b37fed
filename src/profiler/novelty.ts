/**
 * A capped set of things seen (egress host:port, action+resource) with first/last seen and counts.
 * Past the cap, new items are counted as overflow instead of stored: memory stays bounded, and a
 * function with an overflowing set is known to be too varied for novelty to mean much.
 *
 * Storage: the strings are interned once per process in a shared table (the same tables, buckets
 * and hosts recur across thousands of functions) and a profile keeps only their ids. A profile's
 * sets share one item table in its {@link Arena}: records of [tagged id, count, first, last] in
 * first-seen order (19 bytes: times as 48-bit ms; 27 once a time or count does not fit) and an
 * open-addressed index of record numbers (1 or 2 bytes a slot). A `Map` per set cost ~45 bytes an
 * item before its numbers (bench/memory.ts).
 */
import { Arena, fitsTime48, getTime48, setTime48 } from './arena.ts';
import { flatString } from './flat-string.ts';

/** One remembered item: [firstSeen ms, lastSeen ms, count]. */
export type SeenEntry = [first: number, last: number, count: number];

// --- the shared string table ---

/**
 * Bound on the shared table: it only grows (a string stays after the last function using it is
 * evicted), so it is capped; past the cap a profile keeps its new strings itself.
 */
export const STRING_TABLE_MAX = 1 << 18;
const stringIds = new Map<string, number>();
const strings: string[] = [];

/**
 * The shared copy of `s` when it is in the string table (so thousands of profiles naming the same
 * table hold one string), else `s`.
 *
 * @example
 * intern(`arn:aws:s3:::${bucket}`) === intern(`arn:aws:s3:::${bucket}`); // the same string object
 */
export function intern(s: string): string {
  const id = stringIds.get(s);
  return id === undefined ? s : strings[id]!;
}

/** Id of `s` in the shared table, adding it; -1 when the table is full. */
function internId(s: string): number {
  const id = stringIds.get(s);
  if (id !== undefined) return id;
  if (strings.length >= STRING_TABLE_MAX) return -1;
  // Kept for the life of the process: flat, not the cons-string chain the caller built (~64 bytes).
  const kept = flatString(s);
  stringIds.set(kept, strings.length);
  strings.push(kept);
  return strings.length - 1;
}

/** An arena that can also hold strings of its own (those past the shared table's cap). */
export interface StringHolder extends Arena {
  localStrings?: string[];
}

// Key of a record (24 bits): id << 3 | local << 2 | tag (the set: 0..3).
const LOCAL = 4;
const MAX_ID = 2 ** 21;

/** Fibonacci hashing, high bits folded down: a key's low bits are its set's tag. */
function hashOf(key: number): number {
  const h = Math.imul(key, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

function getKey(m: DataView, o: number): number {
  return m.getUint16(o, true) | (m.getUint8(o + 2) << 16);
}

function stringOf(a: StringHolder, key: number): string {
  const id = key >>> 3;
  return key & LOCAL ? a.localStrings![id]! : strings[id]!;
}

// --- the item table: scalars, records, index ---

/** Scalar bytes of an item table for `sets` sets. */
export function tableScalars(sets: number): number {
  return 4 + sets * SET_BYTES;
}
/** Regions of an item table, from its first: records, index. */
export const TABLE_REGIONS = 2;
// Table scalars: wide flag (u8), index slot width (u8), then per set: overflow, total, singletons
// (f64), size, cap (u16: the index holds at most MAX_ITEMS).
const WIDE = 0;
const INDEX_WIDTH = 1;
const SET_BYTES = 28;
const OVERFLOW = 0;
const TOTAL = 8;
const SINGLETONS = 16;
const SIZE = 24;
const CAP = 26;
/** Items a table holds at most (its index slots are u16) */
const MAX_ITEMS = 0xfffe;

// Records: key (u24) then count, first, last: u32 and 48-bit times (compact) or f64 (wide).
const COMPACT_RECORD = 19;
const WIDE_RECORD = 27;
const MAX_COMPACT_COUNT = 0xffffffff;

/**
 * @example
 * const s = new NoveltySet(64);
 * s.observe('api.stripe.com:443', t); // true: new
 * s.observe('api.stripe.com:443', t); // false: known
 */
export class NoveltySet {
  private readonly a: StringHolder;
  /** offset of the table's scalars */
  private readonly tb: number;
  /** the table's first region (records; the index is the next) */
  private readonly rb: number;
  /** which of the table's sets this is */
  private readonly tag: number;

  /** A set with its own storage. */
  constructor(cap: number);
  /** A view of set `tag` of the item table in `arena` (scalars at `tb`, regions `rb`, `rb + 1`). */
  constructor(arena: StringHolder, tb: number, rb: number, tag: number);
  constructor(capOrArena: number | StringHolder, tb?: number, rb?: number, tag?: number) {
    if (typeof capOrArena === 'number') {
      this.a = new Arena(TABLE_REGIONS, tableScalars(1));
      this.tb = this.a.scalars;
      this.rb = 0;
      this.tag = 0;
      NoveltySet.init(this.a, this.tb, [capOrArena]);
    } else {
      this.a = capOrArena;
      this.tb = tb!;
      this.rb = rb!;
      this.tag = tag!;
    }
  }

  /** Writes an empty table's scalars at `tb`, one set per cap. */
  static init(a: Arena, tb: number, caps: number[]): void {
    for (let s = 0; s < caps.length; s++) a.m.setUint16(tb + 4 + s * SET_BYTES + CAP, Math.min(caps[s]!, MAX_ITEMS), true);
  }

  private get sb(): number {
    return this.tb + 4 + this.tag * SET_BYTES;
  }

  get cap(): number {
    return this.a.m.getUint16(this.sb + CAP, true);
  }
  /** New items not stored because the set was full */
  get overflow(): number {
    return this.a.m.getFloat64(this.sb + OVERFLOW, true);
  }
  set overflow(v: number) {
    this.a.m.setFloat64(this.sb + OVERFLOW, v, true);
  }
  /** Observations recorded (sum of counts, overflow included) */
  get total(): number {
    return this.a.m.getFloat64(this.sb + TOTAL, true);
  }
  set total(v: number) {
    this.a.m.setFloat64(this.sb + TOTAL, v, true);
  }
  /** Items seen exactly once: the Good-Turing estimate of what is still undiscovered */
  get singletons(): number {
    return this.a.m.getFloat64(this.sb + SINGLETONS, true);
  }
  set singletons(v: number) {
    this.a.m.setFloat64(this.sb + SINGLETONS, v, true);
  }
  get size(): number {
    return this.a.m.getUint16(this.sb + SIZE, true);
  }

  private get wide(): boolean {
    return this.a.m.getUint8(this.tb + WIDE) === 1;
  }

  private get recordBytes(): number {
    return this.wide ? WIDE_RECORD : COMPACT_RECORD;
  }

  /** Records in the whole table (all sets). */
  private records(): number {
    return this.a.length(this.rb) / this.recordBytes;
  }

  private keyOf(s: string): number {
    const id = stringIds.get(s);
    if (id !== undefined) return ((id << 3) | this.tag) >>> 0;
    const local = this.a.localStrings?.indexOf(s) ?? -1;
    return local >= 0 ? ((local << 3) | LOCAL | this.tag) >>> 0 : -1;
  }

  private slotAt(i: number): number {
    const m = this.a.m;
    const o = this.a.start(this.rb + 1);
    return m.getUint8(this.tb + INDEX_WIDTH) === 1 ? m.getUint8(o + i) : m.getUint16(o + 2 * i, true);
  }

  private setSlot(i: number, v: number): void {
    const m = this.a.m;
    const o = this.a.start(this.rb + 1);
    if (m.getUint8(this.tb + INDEX_WIDTH) === 1) m.setUint8(o + i, v);
    else m.setUint16(o + 2 * i, v, true);
  }

  private indexSlots(): number {
    const width = this.a.m.getUint8(this.tb + INDEX_WIDTH);
    return width === 0 ? 0 : this.a.length(this.rb + 1) / width;
  }

  /** Record number of `key`, or -1. */
  private find(key: number): number {
    const slots = this.indexSlots();
    if (slots === 0 || key < 0) return -1;
    const mask = slots - 1;
    const m = this.a.m;
    const rs = this.recordBytes;
    const r0 = this.a.start(this.rb);
    for (let i = hashOf(key) & mask; ; i = (i + 1) & mask) {
      const v = this.slotAt(i);
      if (v === 0) return -1;
      if (getKey(m, r0 + (v - 1) * rs) === key) return v - 1;
    }
  }

  private insertIndex(key: number, record: number): void {
    const mask = this.indexSlots() - 1;
    let i = hashOf(key) & mask;
    while (this.slotAt(i) !== 0) i = (i + 1) & mask;
    this.setSlot(i, record + 1);
  }

  /** Rebuilds the index for `records` records: load ≤ 3/4, slots of 1 byte below 255 records. */
  private reindex(records: number): void {
    let slots = 4;
    while (slots * 3 < records * 4) slots *= 2;
    const width = records < 0xff ? 1 : 2;
    if (records > MAX_ITEMS) throw new RangeError(`novelty table over ${MAX_ITEMS} items`);
    const a = this.a;
    const r = this.rb + 1;
    if (slots === this.indexSlots() && width === a.m.getUint8(this.tb + INDEX_WIDTH)) return;
    if (a.length(r) < slots * width) a.resize(r, slots * width, 0);
    new Uint8Array(a.m.buffer, a.start(r), a.length(r)).fill(0);
    a.m.setUint8(this.tb + INDEX_WIDTH, width);
    // Slots and width only grow, so the region is exactly slots × width.
    if (a.length(r) !== slots * width) throw new RangeError('novelty index size mismatch');
    const rs = this.recordBytes;
    const r0 = a.start(this.rb);
    for (let k = 0; k < records - 1; k++) this.insertIndex(getKey(a.m, r0 + k * rs), k);
  }

  private countAt(o: number): number {
    return this.wide ? this.a.m.getFloat64(o + 3, true) : this.a.m.getUint32(o + 3, true);
  }
  private firstAt(o: number): number {
    return this.wide ? this.a.m.getFloat64(o + 11, true) : getTime48(this.a.m, o + 7);
  }
  private lastAt(o: number): number {
    return this.wide ? this.a.m.getFloat64(o + 19, true) : getTime48(this.a.m, o + 13);
  }

  /** Writes a record's fields at `o`; the table must be wide already if they do not fit compact. */
  private writeRecord(o: number, key: number, count: number, first: number, last: number): void {
    const m = this.a.m;
    m.setUint16(o, key & 0xffff, true);
    m.setUint8(o + 2, key >>> 16);
    if (this.wide) {
      m.setFloat64(o + 3, count, true);
      m.setFloat64(o + 11, first, true);
      m.setFloat64(o + 19, last, true);
    } else {
      m.setUint32(o + 3, count, true);
      setTime48(m, o + 7, first);
      setTime48(m, o + 13, last);
    }
  }

  private static fitsCompact(count: number, first: number, last: number): boolean {
    return Number.isInteger(count) && count >= 0 && count <= MAX_COMPACT_COUNT && fitsTime48(first) && fitsTime48(last);
  }

  /** Rewrites every record in the 28-byte layout (f64 count and times). */
  private widen(): void {
    const a = this.a;
    const n = this.records();
    const old: [number, number, number, number][] = [];
    const r0 = a.start(this.rb);
    for (let k = 0; k < n; k++) {
      const o = r0 + k * COMPACT_RECORD;
      old.push([getKey(a.m, o), this.countAt(o), this.firstAt(o), this.lastAt(o)]);
    }
    a.resize(this.rb, n * WIDE_RECORD, 0);
    a.m.setUint8(this.tb + WIDE, 1);
    const s = a.start(this.rb);
    for (let k = 0; k < n; k++) this.writeRecord(s + k * WIDE_RECORD, ...old[k]!);
  }

  /** Records `key` at time `t`; returns true when it had not been seen before. */
  observe(key: string, t: number): boolean {
    this.total++;
    const k = this.find(this.keyOf(key));
    if (k >= 0) {
      const o = this.a.start(this.rb) + k * this.recordBytes;
      const count = this.countAt(o);
      const last = this.lastAt(o);
      const nextLast = t > last ? t : last;
      if (!this.wide && !NoveltySet.fitsCompact(count + 1, 0, nextLast)) this.widen();
      const p = this.a.start(this.rb) + k * this.recordBytes;
      this.writeRecord(p, getKey(this.a.m, p), count + 1, this.firstAt(p), nextLast);
      if (count === 1) this.singletons--;
      return false;
    }
    this.singletons++;
    if (this.size >= this.cap) {
      this.overflow++;
      return true;
    }
    this.add(key, t, t, 1);
    return true;
  }

  private add(s: string, first: number, last: number, count: number): void {
    const a = this.a;
    let id = internId(s);
    let key: number;
    if (id >= 0 && id < MAX_ID) key = ((id << 3) | this.tag) >>> 0;
    else {
      const local = (a.localStrings ??= []);
      id = local.indexOf(s);
      if (id < 0) id = local.push(flatString(s)) - 1;
      key = ((id << 3) | LOCAL | this.tag) >>> 0;
    }
    if (!this.wide && !NoveltySet.fitsCompact(count, first, last)) this.widen();
    const n = this.records();
    const rs = this.recordBytes;
    a.resize(this.rb, (n + 1) * rs, 0);
    this.writeRecord(a.start(this.rb) + n * rs, key, count, first, last);
    const slots = this.indexSlots();
    const width = a.m.getUint8(this.tb + INDEX_WIDTH);
    if (slots * 3 < (n + 1) * 4 || (n + 1 >= 0xff && width === 1)) this.reindex(n + 1);
    this.insertIndex(key, n);
    a.m.setUint16(this.sb + SIZE, this.size + 1, true);
  }

  /** Visits this set's records in first-seen order. */
  private forEachRecord(fn: (key: number, o: number) => void): void {
    const n = this.records();
    const rs = this.recordBytes;
    for (let k = 0; k < n; k++) {
      const o = this.a.start(this.rb) + k * rs;
      const key = getKey(this.a.m, o);
      if ((key & 3) === this.tag) fn(key, o);
    }
  }

  /** The items with [first, last, count], in first-seen order (a copy: built on each call). */
  get items(): ReadonlyMap<string, Readonly<SeenEntry>> {
    const out = new Map<string, SeenEntry>();
    this.forEachRecord((key, o) => out.set(stringOf(this.a, key), [this.firstAt(o), this.lastAt(o), this.countAt(o)]));
    return out;
  }

  /** The items, in first-seen order. */
  keys(): IterableIterator<string> {
    const out: string[] = [];
    this.forEachRecord((key) => out.push(stringOf(this.a, key)));
    return out[Symbol.iterator]();
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
    return this.find(this.keyOf(key)) >= 0;
  }

  /**
   * Saved form. `total` and `singletons` since baseline schema 2 (before, they were recounted from
   * the items on load, which missed the overflowed items seen once).
   */
  toJSON(): NoveltySetJSON {
    const items: [string, SeenEntry][] = [];
    this.forEachRecord((key, o) => items.push([stringOf(this.a, key), [this.firstAt(o), this.lastAt(o), this.countAt(o)]]));
    return { items, overflow: this.overflow, total: this.total, singletons: this.singletons };
  }

  /** Restores saved state into this (empty) set. */
  load(j: NoveltySetJSON): this {
    let total = 0;
    let singletons = 0;
    for (const [k, v] of j.items) {
      this.add(k, v[0], v[1], v[2]);
      total += v[2];
      if (v[2] === 1) singletons++;
    }
    this.overflow = j.overflow;
    this.total = j.total ?? total + j.overflow;
    this.singletons = j.singletons ?? singletons;
    return this;
  }

  static fromJSON(j: NoveltySetJSON, cap: number): NoveltySet {
    return new NoveltySet(cap).load(j);
  }
}

/** Saved state of a {@link NoveltySet}. */
export interface NoveltySetJSON {
  items: [string, SeenEntry][];
  overflow: number;
  total?: number;
  singletons?: number;
}
