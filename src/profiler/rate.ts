/**
 * Per-function invocation-rate model: counts per minute and per hour, with a seasonal baseline of
 * expected invocations per hour in 48 slots (hour of day × weekday/weekend, UTC). Weekday/weekend
 * slots are a coarse weekly model that learns within days instead of needing weeks of data per
 * hour-of-week slot.
 *
 * Robust to gaps: hours with no events are closed (as zeros) lazily when the next event arrives.
 * Hard to poison: an hour's count is winsorised before it updates its slot, so a spike or a slow
 * ramp does not drag the baseline along with it.
 *
 * Pure maths: the caller passes event times; nothing reads the clock.
 */
import { Arena } from './arena.ts';
import { HISTOGRAM_SCALARS, HistogramScale, LogHistogram } from './log-histogram.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Longest silence closed hour by hour; beyond it the gap is summarised (a week of zeros). */
const MAX_GAP_HOURS = 24 * 7;
/** Level step per closed hour, as a fraction of the forecast error (time constant ≈ 3 days). */
const LEVEL_RATE = 1 / 72;

/** Closed-hour history kept for the cost-ramp detector (its evidence window). */
export const RECENT_HOURS = 24;
/** Fields kept per closed hour: count, expected, variance factor. */
const RECENT_FIELDS = 3;
/** Slowest step of the hour-level dispersion estimate per closed hour (memory ≈ a week). */
const HOUR_DISPERSION_RATE = 1 / 168;
/** Residuals beyond this many standard deviations count as this many (bounded influence). */
const RESIDUAL_CLIP = 6;

/** One closed hour as the cost-ramp detector sees it. */
export interface ClosedHour {
  count: number;
  expected: number;
  /** variance = expected × this (≥ 1) */
  varianceFactor: number;
}

/** Slot (0..47) of an hour index (hours since the epoch, UTC). */
export function slotOfHour(hour: number): number {
  const day = Math.floor(hour / 24);
  const dow = (day + 4) % 7; // 1970-01-01 was a Thursday
  const weekend = dow === 0 || dow === 6;
  return (weekend ? 24 : 0) + (hour % 24);
}

/** Regions a rate model uses in its arena, from its first: minute ring, slots, closed hours, minute counts. */
export const RATE_REGIONS = 4;
const RING = 0;
const SLOTS = 1;
const RECENT = 2;
const MINUTES = 3;

// Scalar layout (byte offsets from the model's scalar base): f64, then u32 counters that are
// bounded (per hour, per minute, hours), then u8.
const LEVEL = 0;
const WINSORISED_SUM = 8;
const HOUR_DISPERSION = 16;
const RING_MINUTE = 24;
const CUR_HOUR = 32;
const HOUR_SUM_SQ = 40;
const CUR_MINUTE = 48;
const DISPERSION = 56;
const TOTAL_COUNT = 64;
const LAST_TIME = 72;
const GAP_BEFORE_HOUR = 80;
const HOUR_RESIDUALS = 88;
const LAST_HOUR_COUNT = 92;
const HOUR_COUNT = 96;
const MINUTE_COUNT = 100;
const HOURS_OBSERVED = 104;
/** u8: closed hours held in the recent region */
const RECENT_LEN = 108;
/** u8: bytes per minute-ring entry (1, 2 or 4: widened when a minute's count outgrows it) */
const RING_WIDTH = 109;
/** u8: first slot held in the slots region */
const SLOTS_LO = 110;
const MINUTE_HIST = 111;
/** Scalar bytes of a rate model. */
export const RATE_SCALARS = MINUTE_HIST + HISTOGRAM_SCALARS;

/** Bytes per slot in the slots region: shape (float32) then hours learned (u8). */
const SLOT_BYTES = 5;
/** Bytes per closed hour in the recent region: count, expected, variance factor (float32 each). */
const RECENT_BYTES = RECENT_FIELDS * 4;
const RING_MINUTES = 60;

const MINUTE_SCALE = HistogramScale.of(32, 1, 1.5, 5000);
// The last minute-count view made, and whose (views are stateless: see FunctionProfile.rate).
let minuteCountsView: LogHistogram | undefined;
let minuteCountsOwner: Arena | undefined;
/** Scratch view for the model's own use: rebound on each use, never handed out. */
const scratchMinutes = new LogHistogram(MINUTE_SCALE, new Arena(1, HISTOGRAM_SCALARS), 1 + 4, 0);

/** Saved state of a {@link RateModel} (`toJSON`). */
export interface RateModelJSON {
  slots: number[];
  slotObs: number[];
  minuteCounts: { bins: number[]; total: number; w: number };
  dispersion: number;
  hourDispersion?: number;
  hourResiduals?: number;
  level: number;
  winsorisedSum: number;
  hoursObserved: number;
  totalCount: number;
  lastTime: number | null;
  // Since baseline schema 2: the open hour and minute, the 60-minute ring and the closed hours, so
  // that a restored model continues exactly where the saved one stopped.
  curHour?: number;
  hourCount?: number;
  hourSumSq?: number;
  curMinute?: number;
  minuteCount?: number;
  ringMinute?: number;
  lastHourCount?: number;
  ring?: number[];
  recent?: number[];
  gapBeforeHour?: number | string;
}

/** JSON has no ±Infinity: they are written as strings. */
export function encodeNumber(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Reads {@link encodeNumber}'s output; `fallback` when absent (older baselines) or not a number. */
export function decodeNumber(v: unknown, fallback: number): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
  return fallback;
}

/**
 * @example
 * const r = new RateModel();
 * r.observe(Date.parse('2024-01-01T10:00:05Z'));
 * r.minuteCount; // 1
 */
export class RateModel {
  private a: Arena;
  /** offset of the model's scalars in the arena */
  private sb: number;
  /** the model's first region in the arena */
  private rb: number;

  /** A model with its own storage. */
  constructor();
  /** A view of a model stored in `arena` (scalars at `sb`, regions `rb` … `rb + RATE_REGIONS - 1`). */
  constructor(arena: Arena, sb: number, rb: number);
  constructor(arena?: Arena, sb?: number, rb?: number) {
    if (arena) {
      this.a = arena;
      this.sb = sb!;
      this.rb = rb!;
    } else {
      this.a = new Arena(RATE_REGIONS, RATE_SCALARS);
      this.sb = this.a.scalars;
      this.rb = 0;
      RateModel.init(this.a, this.sb);
    }
  }

  /**
   * Points this view at another model. Only for the profiler's private scratch views (no
   * allocation per event); a view handed out is never rebound.
   *
   * @internal
   */
  bind(arena: Arena, sb: number, rb: number): this {
    this.a = arena;
    this.sb = sb;
    this.rb = rb;
    return this;
  }

  /** This model's minute counts through the private scratch view (internal use, no allocation). */
  private minutes(): LogHistogram {
    return scratchMinutes.bind(this.a, this.sb + MINUTE_HIST, this.rb + MINUTES);
  }

  /** Writes a new model's scalars at `sb` (storage is zeroed: only non-zero defaults). */
  static init(a: Arena, sb: number): void {
    const m = a.m;
    m.setFloat64(sb + HOUR_DISPERSION, 1, true);
    m.setFloat64(sb + RING_MINUTE, -1, true);
    m.setFloat64(sb + CUR_HOUR, -1, true);
    m.setFloat64(sb + CUR_MINUTE, -1, true);
    m.setFloat64(sb + DISPERSION, 1, true);
    m.setFloat64(sb + LAST_TIME, -Infinity, true);
    LogHistogram.init(a, sb + MINUTE_HIST);
  }

  private f64(o: number): number {
    return this.a.m.getFloat64(this.sb + o, true);
  }
  private set64(o: number, v: number): void {
    this.a.m.setFloat64(this.sb + o, v, true);
  }
  private u32(o: number): number {
    return this.a.m.getUint32(this.sb + o, true);
  }
  private setU32(o: number, v: number): void {
    this.a.m.setUint32(this.sb + o, v, true);
  }

  /** Deseasonalised invocations per hour */
  get level(): number {
    return this.f64(LEVEL);
  }
  set level(v: number) {
    this.set64(LEVEL, v);
  }
  private get winsorisedSum(): number {
    return this.f64(WINSORISED_SUM);
  }
  private set winsorisedSum(v: number) {
    this.set64(WINSORISED_SUM, v);
  }
  /**
   * Over-dispersion of whole hours against the seasonal forecast (Pearson residual², ≥ 1). Bursty
   * workers vary far more hour to hour than minute-level dispersion says: a burst is many minutes.
   */
  get hourDispersion(): number {
    return this.f64(HOUR_DISPERSION);
  }
  set hourDispersion(v: number) {
    this.set64(HOUR_DISPERSION, v);
  }
  private get hourResiduals(): number {
    return this.u32(HOUR_RESIDUALS);
  }
  private set hourResiduals(v: number) {
    this.setU32(HOUR_RESIDUALS, v);
  }
  private get ringMinute(): number {
    return this.f64(RING_MINUTE);
  }
  private set ringMinute(v: number) {
    this.set64(RING_MINUTE, v);
  }
  /** Sum of the minute ring: invocations in the last 60 minutes, current minute included */
  get lastHourCount(): number {
    return this.u32(LAST_HOUR_COUNT);
  }
  set lastHourCount(v: number) {
    this.setU32(LAST_HOUR_COUNT, v);
  }
  get curHour(): number {
    return this.f64(CUR_HOUR);
  }
  set curHour(v: number) {
    this.set64(CUR_HOUR, v);
  }
  get hourCount(): number {
    return this.u32(HOUR_COUNT);
  }
  set hourCount(v: number) {
    this.setU32(HOUR_COUNT, v);
  }
  private get hourSumSq(): number {
    return this.f64(HOUR_SUM_SQ);
  }
  private set hourSumSq(v: number) {
    this.set64(HOUR_SUM_SQ, v);
  }
  get curMinute(): number {
    return this.f64(CUR_MINUTE);
  }
  set curMinute(v: number) {
    this.set64(CUR_MINUTE, v);
  }
  get minuteCount(): number {
    return this.u32(MINUTE_COUNT);
  }
  set minuteCount(v: number) {
    this.setU32(MINUTE_COUNT, v);
  }
  /** Index of dispersion of minute counts (variance / mean), ≥ 1 */
  get dispersion(): number {
    return this.f64(DISPERSION);
  }
  set dispersion(v: number) {
    this.set64(DISPERSION, v);
  }
  get hoursObserved(): number {
    return this.u32(HOURS_OBSERVED);
  }
  set hoursObserved(v: number) {
    this.setU32(HOURS_OBSERVED, v);
  }
  get totalCount(): number {
    return this.f64(TOTAL_COUNT);
  }
  set totalCount(v: number) {
    this.set64(TOTAL_COUNT, v);
  }
  get lastTime(): number {
    return this.f64(LAST_TIME);
  }
  set lastTime(v: number) {
    this.set64(LAST_TIME, v);
  }
  /** Silence (ms) before the first invocation of the current hour */
  get gapBeforeHour(): number {
    return this.f64(GAP_BEFORE_HOUR);
  }
  set gapBeforeHour(v: number) {
    this.set64(GAP_BEFORE_HOUR, v);
  }
  /** Closed hours held (≤ {@link RECENT_HOURS}) */
  get recentLen(): number {
    return this.a.m.getUint8(this.sb + RECENT_LEN);
  }
  private set recentLen(v: number) {
    this.a.m.setUint8(this.sb + RECENT_LEN, v);
  }

  /** Peak-minute distribution: counts of non-empty minutes (a view: the state is in the arena) */
  get minuteCounts(): LogHistogram {
    if (minuteCountsOwner !== this.a) {
      minuteCountsView = new LogHistogram(MINUTE_SCALE, this.a, this.sb + MINUTE_HIST, this.rb + MINUTES);
      minuteCountsOwner = this.a;
    }
    return minuteCountsView!;
  }

  /** Seasonal shape: each slot's hourly count relative to the level (a copy). */
  get slots(): Float32Array {
    const out = new Float32Array(48);
    for (let i = 0; i < 48; i++) out[i] = this.slotAt(i);
    return out;
  }

  /** How many hours each slot has learned from, saturating at 255 (a copy). */
  get slotObs(): Uint8Array {
    const out = new Uint8Array(48);
    for (let i = 0; i < 48; i++) out[i] = this.obsAt(i);
    return out;
  }

  /** Last closed hours: [count, expected, variance factor] triples, newest last (a copy). */
  get recent(): Float32Array {
    const n = this.recentLen * RECENT_FIELDS;
    const out = new Float32Array(RECENT_HOURS * RECENT_FIELDS);
    const s = this.a.start(this.rb + RECENT);
    for (let i = 0; i < n; i++) out[i] = this.a.m.getFloat32(s + 4 * i, true);
    return out;
  }

  // --- slots: a window of 5-byte entries from slot `SLOTS_LO` on ---

  private slotOffset(slot: number): number {
    const a = this.a;
    const r = this.rb + SLOTS;
    const lo = a.m.getUint8(this.sb + SLOTS_LO);
    const n = a.length(r) / SLOT_BYTES;
    if (n === 0 || slot < lo || slot >= lo + n) return -1;
    return a.start(r) + (slot - lo) * SLOT_BYTES;
  }

  /** Offset of `slot`'s entry, growing the window to include it. */
  private slotOffsetForWrite(slot: number): number {
    const a = this.a;
    const r = this.rb + SLOTS;
    const n = a.length(r) / SLOT_BYTES;
    const lo = a.m.getUint8(this.sb + SLOTS_LO);
    if (n === 0) {
      a.resize(r, SLOT_BYTES, 0);
      a.m.setUint8(this.sb + SLOTS_LO, slot);
    } else if (slot < lo) {
      a.resize(r, (n + lo - slot) * SLOT_BYTES, (lo - slot) * SLOT_BYTES);
      a.m.setUint8(this.sb + SLOTS_LO, slot);
    } else if (slot >= lo + n) {
      a.resize(r, (slot - lo + 1) * SLOT_BYTES, 0);
    }
    return a.start(r) + (slot - a.m.getUint8(this.sb + SLOTS_LO)) * SLOT_BYTES;
  }

  private slotAt(slot: number): number {
    const o = this.slotOffset(slot);
    return o < 0 ? 0 : this.a.m.getFloat32(o, true);
  }

  private obsAt(slot: number): number {
    const o = this.slotOffset(slot);
    return o < 0 ? 0 : this.a.m.getUint8(o + 4);
  }

  // --- minute ring: 60 counts of 1, 2 or 4 bytes, allocated at the first invocation ---

  private ringAt(i: number): number {
    const a = this.a;
    const r = this.rb + RING;
    if (a.length(r) === 0) return 0;
    const w = a.m.getUint8(this.sb + RING_WIDTH);
    const o = a.start(r) + i * w;
    return w === 1 ? a.m.getUint8(o) : w === 2 ? a.m.getUint16(o, true) : a.m.getUint32(o, true);
  }

  private setRing(i: number, v: number): void {
    const a = this.a;
    const r = this.rb + RING;
    if (a.length(r) === 0) {
      a.resize(r, RING_MINUTES, 0);
      a.m.setUint8(this.sb + RING_WIDTH, 1);
    }
    let w = a.m.getUint8(this.sb + RING_WIDTH);
    if ((w === 1 && v > 0xff) || (w === 2 && v > 0xffff)) w = this.widenRing(v > 0xffff ? 4 : 2);
    const o = a.start(r) + i * w;
    if (w === 1) a.m.setUint8(o, v);
    else if (w === 2) a.m.setUint16(o, v, true);
    // As a Uint32Array store: modulo 2^32.
    else a.m.setUint32(o, v, true);
  }

  /** Adds one to ring entry `i` (as `ring[i]++` on a Uint32Array). */
  private incRing(i: number): void {
    const a = this.a;
    const r = this.rb + RING;
    const m = a.m;
    const w = m.getUint8(this.sb + RING_WIDTH);
    if (w === 1 && a.length(r) > 0) {
      const o = a.start(r) + i;
      const v = m.getUint8(o);
      if (v < 0xff) {
        m.setUint8(o, v + 1);
        return;
      }
    }
    this.setRing(i, this.ringAt(i) + 1);
  }

  private widenRing(w: number): number {
    const vals: number[] = [];
    for (let i = 0; i < RING_MINUTES; i++) vals.push(this.ringAt(i));
    const a = this.a;
    const r = this.rb + RING;
    a.resize(r, RING_MINUTES * w, 0);
    a.m.setUint8(this.sb + RING_WIDTH, w);
    const s = a.start(r);
    for (let i = 0; i < RING_MINUTES; i++) {
      if (w === 2) a.m.setUint16(s + i * 2, vals[i]!, true);
      else a.m.setUint32(s + i * 4, vals[i]!, true);
    }
    return w;
  }

  private clearRing(): void {
    const a = this.a;
    const r = this.rb + RING;
    const len = a.length(r);
    if (len > 0) new Uint8Array(a.m.buffer, a.start(r), len).fill(0);
  }

  /**
   * Counts one invocation at event time `t`. Returns how many hours were closed by it (0 almost
   * always); the cost-ramp detector evaluates on closes.
   */
  observe(t: number): number {
    const minute = Math.floor(t / MINUTE);
    const hour = Math.floor(minute / 60);
    let closed = 0;
    const curHour = this.curHour;
    if (hour > curHour) {
      if (curHour >= 0) closed = this.closeHoursUntil(hour);
      const lastTime = this.lastTime;
      this.gapBeforeHour = lastTime === -Infinity ? Infinity : t - lastTime;
      this.curHour = hour;
      this.hourCount = 0;
      this.hourSumSq = 0;
      this.curMinute = -1;
    } else if (hour < curHour) {
      // Late event from a closed hour: it is in the totals, not in the seasonal model.
      this.totalCount++;
      return 0;
    }
    if (minute > this.curMinute) {
      this.closeMinute();
      this.curMinute = minute;
      this.minuteCount = 0;
    }
    if (minute === this.curMinute) {
      this.minuteCount++;
      this.advanceRing(minute);
      this.incRing(minute % 60);
      this.lastHourCount++;
    }
    this.hourCount++;
    this.totalCount++;
    if (t > this.lastTime) this.lastTime = t;
    return closed;
  }

  /** Moves the 60-minute ring to `minute`, dropping the counts that fall out of it. */
  private advanceRing(minute: number): void {
    const ringMinute = this.ringMinute;
    if (minute <= ringMinute) return;
    if (minute - ringMinute >= 60) {
      this.clearRing();
      this.lastHourCount = 0;
    } else {
      let lastHourCount = this.lastHourCount;
      for (let m = ringMinute + 1; m <= minute; m++) {
        const i = m % 60;
        const v = this.ringAt(i);
        if (v !== 0) {
          lastHourCount -= v;
          this.setRing(i, 0);
        }
      }
      this.lastHourCount = lastHourCount;
    }
    this.ringMinute = minute;
  }

  /**
   * Invocations in the `n` minutes ending with the current one (n ≤ 60), as of event time `t`.
   *
   * @example
   * r.countLastMinutes(3, ev.time) // the current minute and the two before it
   */
  countLastMinutes(n: number, t: number): number {
    const now = Math.floor(t / MINUTE);
    const ringMinute = this.ringMinute;
    let s = 0;
    for (let m = Math.max(now - n + 1, ringMinute - 59); m <= Math.min(now, ringMinute); m++) s += this.ringAt(m % 60);
    return s;
  }

  private closeMinute(): void {
    const c = this.minuteCount;
    if (c > 0) {
      this.minutes().add(c);
      this.hourSumSq += c * c;
    }
  }

  private closeHoursUntil(nextHour: number): number {
    this.closeMinute();
    this.minuteCount = 0;
    const curHour = this.curHour;
    this.closeHour(curHour, this.hourCount, this.hourSumSq);
    let closed = 1;
    const gap = nextHour - curHour - 1;
    const fill = Math.min(gap, MAX_GAP_HOURS);
    for (let i = 1; i <= fill; i++) this.closeHour(curHour + i + (gap - fill), 0, 0);
    closed += fill;
    return closed;
  }

  private closeHour(hour: number, count: number, sumSq: number): void {
    const slot = slotOfHour(hour);
    const expected = this.expectedForHour(hour);
    const learnedFrom = this.forecastObs(hour);
    let hourDispersion = this.hourDispersion;
    // The forecast is itself an estimate from `learnedFrom` hours: its error adds to the variance.
    this.pushRecent(count, expected, hourDispersion * (1 + 1 / Math.max(1, learnedFrom)) * (learnedFrom === 0 ? 2 : 1));
    if (count > 0) {
      const mean = count / 60;
      const variance = sumSq / 60 - mean * mean;
      const d = Math.min(100, Math.max(1, variance / mean));
      this.dispersion += 0.05 * (d - this.dispersion);
    }
    const n = this.obsAt(slot);
    const hoursObserved = this.hoursObserved;
    let x = count;
    // A slot seen for the first time after the first day (the first weekend) is capped against the
    // other day type's forecast: a flood in it must not become its shape, nor lift the level.
    if (n >= 2 || (hoursObserved >= 24 && learnedFrom > 0)) {
      // Winsorise: a spike or a ramp updates the model as if it were only moderately high.
      // Hour-level dispersion: capping a bursty worker's hours at minute-level noise would bias its
      // forecast low, and every busy afternoon would then look like a ramp.
      const d = Math.max(this.dispersion, hourDispersion);
      const noise = expected + 3 * Math.sqrt(expected * d) + 2;
      // A slot's first hour sets its shape outright, so it gets no 2x allowance.
      const cap = n === 0 ? noise : Math.max(expected * 2, noise);
      if (x > cap) x = cap;
    }
    if (n > 0 && hoursObserved >= 24 && expected > 0) {
      // The raw count, not the winsorised one: a bursty worker's heavy tail is exactly what this
      // must see (a robust spread would call its hours Poisson and every burst a ramp). The slow
      // step and the clip keep a ramp from hiding itself by raising the noise floor quickly.
      const sigma = Math.sqrt(hourDispersion);
      const r = Math.min(RESIDUAL_CLIP * sigma, Math.abs(count - expected) / Math.sqrt(Math.max(expected, 1) * (1 + 1 / learnedFrom)));
      const hourResiduals = this.hourResiduals + 1;
      this.hourResiduals = hourResiduals;
      const step = Math.max(HOUR_DISPERSION_RATE, 1 / hourResiduals);
      hourDispersion = Math.min(100, Math.max(1, hourDispersion + step * (r * r - hourDispersion)));
      this.hourDispersion = hourDispersion;
    }
    this.hoursObserved = hoursObserved + 1;
    this.winsorisedSum += x;
    // Level: a plain mean over the first day, then a slow gradient step on the forecast error, so
    // steady growth is followed within days while hours-long ramps barely move it.
    if (hoursObserved + 1 <= 24) this.level = this.winsorisedSum / (hoursObserved + 1);
    // A slot's first hour was forecast from the other day type: its error is a shape error (weekends
    // are quieter), not a change of level, so it does not move the level.
    else if (n > 0) this.level = Math.max(0, this.level + LEVEL_RATE * (x - expected));
    // Shape: this slot's count relative to the level.
    const level = this.level;
    const ratio = level > 0 ? x / level : 1;
    const alpha = Math.max(1 / (n + 1), 0.2);
    const o = this.slotOffsetForWrite(slot);
    const m = this.a.m;
    m.setFloat32(o, n === 0 ? ratio : m.getFloat32(o, true) + alpha * (ratio - m.getFloat32(o, true)), true);
    if (n < 255) m.setUint8(o + 4, n + 1);
  }

  private pushRecent(count: number, expected: number, varianceFactor: number): void {
    const a = this.a;
    const r = this.rb + RECENT;
    let len = this.recentLen;
    if (len === RECENT_HOURS) {
      const s = a.start(r);
      new Uint8Array(a.m.buffer, s, RECENT_HOURS * RECENT_BYTES).copyWithin(0, RECENT_BYTES);
      len--;
    } else if (a.length(r) < (len + 1) * RECENT_BYTES) {
      a.resize(r, (len + 1) * RECENT_BYTES, 0);
    }
    const o = a.start(r) + len * RECENT_BYTES;
    a.m.setFloat32(o, count, true);
    a.m.setFloat32(o + 4, expected, true);
    a.m.setFloat32(o + 8, varianceFactor, true);
    this.recentLen = len + 1;
  }

  /** How many hours the forecast for `hour` was learned from (0: a fallback guess). */
  forecastObs(hour: number): number {
    const slot = slotOfHour(hour);
    const n = this.obsAt(slot);
    if (n > 0) return n;
    // The other day type stands in while this one has not been seen: count it as one hour's worth.
    const other = slot < 24 ? slot + 24 : slot - 24;
    return this.obsAt(other) > 0 ? 1 : 0;
  }

  /** Expected invocations in hour `hour`: level × the slot's shape (or the other day type's while learning). */
  expectedForHour(hour: number): number {
    const slot = slotOfHour(hour);
    const o = this.slotOffset(slot);
    const m = this.a.m;
    if (o >= 0 && m.getUint8(o + 4) > 0) return this.level * m.getFloat32(o, true);
    const other = slot < 24 ? slot + 24 : slot - 24;
    const p = this.slotOffset(other);
    if (p >= 0 && m.getUint8(p + 4) > 0) return this.level * m.getFloat32(p, true);
    return this.level;
  }

  /** Expected invocations per minute in the current hour. */
  expectedPerMinute(): number {
    return this.expectedForHour(this.curHour) / 60;
  }

  /** Mean expected invocations per hour over all slots that have data. */
  meanPerHour(): number {
    // The slots outside the window have no data: one pass over the window, in slot order.
    const a = this.a;
    const m = a.m;
    const r = this.rb + SLOTS;
    const start = a.start(r);
    const end = start + a.length(r);
    let s = 0;
    let n = 0;
    for (let o = start; o < end; o += SLOT_BYTES) {
      if (m.getUint8(o + 4) > 0) {
        s += m.getFloat32(o, true);
        n++;
      }
    }
    return n > 0 ? (this.level * s) / n : this.level;
  }

  /** 99th percentile of busy-minute counts. */
  peakMinute(): number {
    const h = this.minutes();
    return h.count > 0 ? h.quantile(0.99) : 0;
  }

  /**
   * The last `n` closed hours, newest last: count, the forecast it had, and the variance factor of
   * that forecast (variance = expected × varianceFactor: hour-level dispersion and estimate error).
   */
  lastHours(n: number): ClosedHour[] {
    const out: ClosedHour[] = [];
    const len = this.recentLen;
    const s = this.a.start(this.rb + RECENT);
    const m = this.a.m;
    for (let i = Math.max(0, len - n); i < len; i++) {
      const o = s + i * RECENT_BYTES;
      out.push({ count: m.getFloat32(o, true), expected: m.getFloat32(o + 4, true), varianceFactor: m.getFloat32(o + 8, true) });
    }
    return out;
  }

  toJSON(): RateModelJSON {
    const ring: number[] = [];
    for (let i = 0; i < RING_MINUTES; i++) ring.push(this.ringAt(i));
    const recent = Array.from(this.recent.subarray(0, this.recentLen * RECENT_FIELDS));
    return {
      slots: Array.from(this.slots),
      slotObs: Array.from(this.slotObs),
      minuteCounts: this.minuteCounts.toJSON(),
      dispersion: this.dispersion,
      hourDispersion: this.hourDispersion,
      hourResiduals: this.hourResiduals,
      level: this.level,
      winsorisedSum: this.winsorisedSum,
      hoursObserved: this.hoursObserved,
      totalCount: this.totalCount,
      lastTime: Number.isFinite(this.lastTime) ? this.lastTime : null,
      curHour: this.curHour,
      hourCount: this.hourCount,
      hourSumSq: this.hourSumSq,
      curMinute: this.curMinute,
      minuteCount: this.minuteCount,
      ringMinute: this.ringMinute,
      lastHourCount: this.lastHourCount,
      ring,
      recent,
      gapBeforeHour: encodeNumber(this.gapBeforeHour),
    };
  }

  /**
   * Restores saved state into this (new) model. Baselines of schema 1 lack the open hour, the
   * minute ring and the closed hours: those start empty, as they did before schema 2.
   */
  load(j: RateModelJSON): this {
    const slots = j.slots ?? [];
    const obs = j.slotObs ?? [];
    for (let i = 0; i < 48; i++) {
      const v = Math.fround(+(slots[i] ?? 0));
      const n = (obs[i] ?? 0) & 0xff;
      if (v === 0 && n === 0) continue;
      const o = this.slotOffsetForWrite(i);
      this.a.m.setFloat32(o, v, true);
      this.a.m.setUint8(o + 4, n);
    }
    this.minuteCounts.load(j.minuteCounts);
    this.dispersion = j.dispersion;
    this.hourDispersion = j.hourDispersion ?? Math.max(1, j.dispersion);
    this.hourResiduals = j.hourResiduals ?? 0;
    this.level = j.level;
    this.winsorisedSum = j.winsorisedSum;
    this.hoursObserved = j.hoursObserved;
    this.totalCount = j.totalCount;
    this.lastTime = j.lastTime ?? -Infinity;
    if (j.curHour !== undefined) {
      this.curHour = j.curHour;
      this.hourCount = j.hourCount ?? 0;
      this.hourSumSq = j.hourSumSq ?? 0;
      this.curMinute = j.curMinute ?? -1;
      this.minuteCount = j.minuteCount ?? 0;
      this.ringMinute = j.ringMinute ?? -1;
      this.lastHourCount = j.lastHourCount ?? 0;
      this.gapBeforeHour = decodeNumber(j.gapBeforeHour, 0);
      const ring = j.ring ?? [];
      for (let i = 0; i < RING_MINUTES; i++) if (ring[i]) this.setRing(i, ring[i]!);
      const recent = j.recent ?? [];
      for (let i = 0; i + RECENT_FIELDS <= recent.length && i < RECENT_HOURS * RECENT_FIELDS; i += RECENT_FIELDS) {
        this.pushRecent(recent[i]!, recent[i + 1]!, recent[i + 2]!);
      }
    }
    return this;
  }

  static fromJSON(j: RateModelJSON): RateModel {
    return new RateModel().load(j);
  }
}

export { HOUR, MINUTE };
