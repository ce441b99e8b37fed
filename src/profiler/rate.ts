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
import { LogHistogram } from './log-histogram.ts';

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

/**
 * @example
 * const r = new RateModel();
 * r.observe(Date.parse('2024-01-01T10:00:05Z'));
 * r.minuteCount; // 1
 */
export class RateModel {
  /** Seasonal shape: each slot's hourly count relative to the level */
  readonly slots = new Float32Array(48);
  /** Deseasonalised invocations per hour */
  level = 0;
  private winsorisedSum = 0;
  /** How many hours each slot has learned from (saturates at 255) */
  readonly slotObs = new Uint8Array(48);
  /** Peak-minute distribution: counts of non-empty minutes */
  readonly minuteCounts = new LogHistogram(32, 1, 1.5, 5000);
  /** Last closed hours: [count, expected, variance factor] triples, newest last */
  readonly recent = new Float32Array(RECENT_HOURS * RECENT_FIELDS);
  recentLen = 0;
  /**
   * Over-dispersion of whole hours against the seasonal forecast (Pearson residual², ≥ 1). Bursty
   * workers vary far more hour to hour than minute-level dispersion says: a burst is many minutes.
   */
  hourDispersion = 1;
  private hourResiduals = 0;
  /** Invocations per minute over the last 60 minutes (ring indexed by minute % 60) */
  private readonly ring = new Uint32Array(60);
  private ringMinute = -1;
  /** Sum of `ring`: invocations in the last 60 minutes, current minute included */
  lastHourCount = 0;

  curHour = -1;
  hourCount = 0;
  private hourSumSq = 0;
  curMinute = -1;
  minuteCount = 0;
  /** Index of dispersion of minute counts (variance / mean), ≥ 1 */
  dispersion = 1;
  hoursObserved = 0;
  totalCount = 0;
  lastTime = -Infinity;
  /** Silence (ms) before the first invocation of the current hour */
  gapBeforeHour = 0;

  /**
   * Counts one invocation at event time `t`. Returns how many hours were closed by it (0 almost
   * always); the cost-ramp detector evaluates on closes.
   */
  observe(t: number): number {
    const minute = Math.floor(t / MINUTE);
    const hour = Math.floor(minute / 60);
    let closed = 0;
    if (hour > this.curHour) {
      if (this.curHour >= 0) closed = this.closeHoursUntil(hour);
      this.gapBeforeHour = this.lastTime === -Infinity ? Infinity : t - this.lastTime;
      this.curHour = hour;
      this.hourCount = 0;
      this.hourSumSq = 0;
      this.curMinute = -1;
    } else if (hour < this.curHour) {
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
      this.ring[minute % 60]!++;
      this.lastHourCount++;
    }
    this.hourCount++;
    this.totalCount++;
    if (t > this.lastTime) this.lastTime = t;
    return closed;
  }

  /** Moves the 60-minute ring to `minute`, dropping the counts that fall out of it. */
  private advanceRing(minute: number): void {
    if (minute <= this.ringMinute) return;
    if (minute - this.ringMinute >= 60) {
      this.ring.fill(0);
      this.lastHourCount = 0;
    } else {
      for (let m = this.ringMinute + 1; m <= minute; m++) {
        const i = m % 60;
        this.lastHourCount -= this.ring[i]!;
        this.ring[i] = 0;
      }
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
    let s = 0;
    for (let m = Math.max(now - n + 1, this.ringMinute - 59); m <= Math.min(now, this.ringMinute); m++) s += this.ring[m % 60]!;
    return s;
  }

  private closeMinute(): void {
    if (this.minuteCount > 0) {
      this.minuteCounts.add(this.minuteCount);
      this.hourSumSq += this.minuteCount * this.minuteCount;
    }
  }

  private closeHoursUntil(nextHour: number): number {
    this.closeMinute();
    this.minuteCount = 0;
    this.closeHour(this.curHour, this.hourCount, this.hourSumSq);
    let closed = 1;
    const gap = nextHour - this.curHour - 1;
    const fill = Math.min(gap, MAX_GAP_HOURS);
    for (let i = 1; i <= fill; i++) this.closeHour(this.curHour + i + (gap - fill), 0, 0);
    closed += fill;
    return closed;
  }

  private closeHour(hour: number, count: number, sumSq: number): void {
    const slot = slotOfHour(hour);
    const expected = this.expectedForHour(hour);
    const learnedFrom = this.forecastObs(hour);
    // The forecast is itself an estimate from `learnedFrom` hours: its error adds to the variance.
    this.pushRecent(count, expected, this.hourDispersion * (1 + 1 / Math.max(1, learnedFrom)) * (learnedFrom === 0 ? 2 : 1));
    if (count > 0) {
      const mean = count / 60;
      const variance = sumSq / 60 - mean * mean;
      const d = Math.min(100, Math.max(1, variance / mean));
      this.dispersion += 0.05 * (d - this.dispersion);
    }
    const n = this.slotObs[slot]!;
    let x = count;
    // A slot seen for the first time after the first day (the first weekend) is capped against the
    // other day type's forecast: a flood in it must not become its shape, nor lift the level.
    if (n >= 2 || (this.hoursObserved >= 24 && learnedFrom > 0)) {
      // Winsorise: a spike or a ramp updates the model as if it were only moderately high.
      // Hour-level dispersion: capping a bursty worker's hours at minute-level noise would bias its
      // forecast low, and every busy afternoon would then look like a ramp.
      const d = Math.max(this.dispersion, this.hourDispersion);
      const noise = expected + 3 * Math.sqrt(expected * d) + 2;
      // A slot's first hour sets its shape outright, so it gets no 2x allowance.
      const cap = n === 0 ? noise : Math.max(expected * 2, noise);
      if (x > cap) x = cap;
    }
    if (n > 0 && this.hoursObserved >= 24 && expected > 0) {
      // The raw count, not the winsorised one: a bursty worker's heavy tail is exactly what this
      // must see (a robust spread would call its hours Poisson and every burst a ramp). The slow
      // step and the clip keep a ramp from hiding itself by raising the noise floor quickly.
      const sigma = Math.sqrt(this.hourDispersion);
      const r = Math.min(RESIDUAL_CLIP * sigma, Math.abs(count - expected) / Math.sqrt(Math.max(expected, 1) * (1 + 1 / learnedFrom)));
      this.hourResiduals++;
      const step = Math.max(HOUR_DISPERSION_RATE, 1 / this.hourResiduals);
      this.hourDispersion = Math.min(100, Math.max(1, this.hourDispersion + step * (r * r - this.hourDispersion)));
    }
    this.hoursObserved++;
    this.winsorisedSum += x;
    // Level: a plain mean over the first day, then a slow gradient step on the forecast error, so
    // steady growth is followed within days while hours-long ramps barely move it.
    if (this.hoursObserved <= 24) this.level = this.winsorisedSum / this.hoursObserved;
    // A slot's first hour was forecast from the other day type: its error is a shape error (weekends
    // are quieter), not a change of level, so it does not move the level.
    else if (n > 0) this.level = Math.max(0, this.level + LEVEL_RATE * (x - expected));
    // Shape: this slot's count relative to the level.
    const ratio = this.level > 0 ? x / this.level : 1;
    const alpha = Math.max(1 / (n + 1), 0.2);
    this.slots[slot] = n === 0 ? ratio : this.slots[slot]! + alpha * (ratio - this.slots[slot]!);
    if (n < 255) this.slotObs[slot] = n + 1;
  }

  private pushRecent(count: number, expected: number, varianceFactor: number): void {
    if (this.recentLen === RECENT_HOURS) {
      this.recent.copyWithin(0, RECENT_FIELDS);
      this.recentLen--;
    }
    const i = this.recentLen * RECENT_FIELDS;
    this.recent[i] = count;
    this.recent[i + 1] = expected;
    this.recent[i + 2] = varianceFactor;
    this.recentLen++;
  }

  /** How many hours the forecast for `hour` was learned from (0: a fallback guess). */
  forecastObs(hour: number): number {
    const slot = slotOfHour(hour);
    const n = this.slotObs[slot]!;
    if (n > 0) return n;
    // The other day type stands in while this one has not been seen: count it as one hour's worth.
    const other = slot < 24 ? slot + 24 : slot - 24;
    return this.slotObs[other]! > 0 ? 1 : 0;
  }

  /** Expected invocations in hour `hour`: level × the slot's shape (or the other day type's while learning). */
  expectedForHour(hour: number): number {
    const slot = slotOfHour(hour);
    if (this.slotObs[slot]! > 0) return this.level * this.slots[slot]!;
    const other = slot < 24 ? slot + 24 : slot - 24;
    if (this.slotObs[other]! > 0) return this.level * this.slots[other]!;
    return this.level;
  }

  /** Expected invocations per minute in the current hour. */
  expectedPerMinute(): number {
    return this.expectedForHour(this.curHour) / 60;
  }

  /** Mean expected invocations per hour over all slots that have data. */
  meanPerHour(): number {
    let s = 0;
    let n = 0;
    for (let i = 0; i < 48; i++) {
      if (this.slotObs[i]! > 0) {
        s += this.slots[i]!;
        n++;
      }
    }
    return n > 0 ? (this.level * s) / n : this.level;
  }

  /** 99th percentile of busy-minute counts. */
  peakMinute(): number {
    return this.minuteCounts.count > 0 ? this.minuteCounts.quantile(0.99) : 0;
  }

  /**
   * The last `n` closed hours, newest last: count, the forecast it had, and the variance factor of
   * that forecast (variance = expected × varianceFactor: hour-level dispersion and estimate error).
   */
  lastHours(n: number): ClosedHour[] {
    const out: ClosedHour[] = [];
    for (let i = Math.max(0, this.recentLen - n); i < this.recentLen; i++) {
      const j = i * RECENT_FIELDS;
      out.push({ count: this.recent[j]!, expected: this.recent[j + 1]!, varianceFactor: this.recent[j + 2]! });
    }
    return out;
  }

  toJSON(): Record<string, unknown> {
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
    };
  }

  static fromJSON(j: any): RateModel {
    const r = new RateModel();
    r.slots.set(j.slots);
    r.slotObs.set(j.slotObs);
    r.minuteCounts.load(j.minuteCounts);
    r.dispersion = j.dispersion;
    r.hourDispersion = j.hourDispersion ?? Math.max(1, j.dispersion);
    r.hourResiduals = j.hourResiduals ?? 0;
    r.level = j.level;
    r.winsorisedSum = j.winsorisedSum;
    r.hoursObserved = j.hoursObserved;
    r.totalCount = j.totalCount;
    r.lastTime = j.lastTime ?? -Infinity;
    return r;
  }
}

export { HOUR, MINUTE };
