/**
 * Time-bucketed series for the HTML report: per bucket, invocations, failures, timeouts, estimated
 * cost, the bucket's duration p50/p95 (as bins of a log histogram) and the baseline at the bucket's
 * close (expected invocations, baseline duration p50/p99 bins).
 *
 * Columnar typed arrays indexed by absolute bucket number (`floor(time / width)`) minus `start`:
 * about 28 bytes a bucket. Series can grow at either end (late or out-of-order events) and be
 * coarsened in place when the report's time span outgrows its bucket budget.
 */
import { LogHistogram } from '../../src/profiler/log-histogram.ts';

/** Bin value meaning "no data in this bucket". */
export const NO_BIN = 255;

/**
 * The duration scale: the same bins as the profiler's duration histogram (56 bins from 1 ms,
 * factor 1.3), so observed and baseline quantiles are directly comparable.
 */
export const DURATION_SCALE = new LogHistogram(56, 1, 1.3);
export const DURATION_BINS = DURATION_SCALE.nBins;

type Column = Uint8Array | Uint32Array | Float32Array | Float64Array;

function regrow<A extends Column>(a: A, cap: number, shift: number, len: number, blank: number): A {
  const b = new (a.constructor as new (n: number) => A)(cap);
  if (blank !== 0) b.fill(blank);
  b.set(a.subarray(0, len) as ArrayLike<number>, shift);
  return b;
}

/**
 * Quantile bin of a histogram of `DURATION_BINS` weights with total `total`.
 *
 * @example
 * const h = new Float64Array(DURATION_BINS); h[10] = 3; h[20] = 1;
 * histQuantileBin(h, 4, 0.5); // 10
 */
export function histQuantileBin(h: Float64Array, total: number, q: number): number {
  const target = q * total;
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i]!;
    if (acc >= target) return i;
  }
  return h.length - 1;
}

/**
 * Adds a closed bucket's durations back into a histogram from what was kept of them (p50 and p95
 * bins and a weight): half the mass at p50, 44% between p50 and p95, 6% at p95, which gives back
 * the same p50 and p95 when it is alone. Used to merge buckets when coarsening; approximate by design.
 *
 * @example
 * const h = new Float64Array(DURATION_BINS);
 * addThreePoint(h, 20, 24, 100);
 * histQuantileBin(h, 100, 0.5); // 20
 * histQuantileBin(h, 100, 0.95); // 24
 */
export function addThreePoint(h: Float64Array, p50: number, p95: number, weight: number): void {
  if (p50 === NO_BIN || weight <= 0) return;
  const hi = p95 === NO_BIN ? p50 : p95;
  h[p50]! += 0.5 * weight;
  h[(p50 + hi) >> 1]! += 0.44 * weight;
  h[hi]! += 0.06 * weight;
}

/**
 * One function's (or the fleet's) bucketed series.
 *
 * @example
 * const s = new BucketSeries();
 * const i = s.index(Math.floor(t / 300_000));
 * s.inv[i]++;
 */
export class BucketSeries {
  /** Absolute bucket number of slot 0 */
  start = 0;
  /** Slots in use; slots at and past `len` are always blank */
  len = 0;
  inv = new Uint32Array(0);
  /** Invocations that did not succeed (errors, timeouts, crashes) */
  err = new Uint32Array(0);
  tmo = new Uint32Array(0);
  /** Estimated USD: Float64 because it sums millions of micro-dollar amounts */
  cost = new Float64Array(0);
  p50 = new Uint8Array(0);
  p95 = new Uint8Array(0);
  /** Expected invocations in the bucket, from the baseline at its close (NaN: nothing learned yet) */
  exp = new Float32Array(0);
  /** Baseline duration p50 and p99 bins at the bucket's close */
  b50 = new Uint8Array(0);
  b99 = new Uint8Array(0);

  /** @param maxLen most slots the series will hold (the owner coarsens before it would need more) */
  constructor(readonly maxLen = Infinity) {}

  /** Bytes held by the columns. */
  get bytes(): number {
    return this.inv.length * 28;
  }

  /** Slot of absolute bucket `b`, growing the series to cover it. */
  index(b: number): number {
    const i = b - this.start;
    if (this.len > 0 && i >= 0 && i < this.len) return i;
    if (this.len === 0) {
      this.resize(Math.min(16, this.maxLen), 0);
      this.start = b;
      this.len = 1;
      return 0;
    }
    if (i >= this.len) {
      if (i >= this.inv.length) this.resize(this.grown(i + 1), 0);
      this.len = i + 1;
      return i;
    }
    const shift = -i;
    this.resize(this.grown(this.len + shift), shift);
    this.start = b;
    this.len += shift;
    return 0;
  }

  /** Slot of `b` if the series covers it, else -1. */
  slotOf(b: number): number {
    const i = b - this.start;
    return i >= 0 && i < this.len ? i : -1;
  }

  private grown(need: number): number {
    return Math.max(need, Math.min(this.inv.length * 2, this.maxLen));
  }

  private resize(cap: number, shift: number): void {
    const n = this.len;
    this.inv = regrow(this.inv, cap, shift, n, 0);
    this.err = regrow(this.err, cap, shift, n, 0);
    this.tmo = regrow(this.tmo, cap, shift, n, 0);
    this.cost = regrow(this.cost, cap, shift, n, 0);
    this.p50 = regrow(this.p50, cap, shift, n, NO_BIN);
    this.p95 = regrow(this.p95, cap, shift, n, NO_BIN);
    this.exp = regrow(this.exp, cap, shift, n, NaN);
    this.b50 = regrow(this.b50, cap, shift, n, NO_BIN);
    this.b99 = regrow(this.b99, cap, shift, n, NO_BIN);
  }

  /**
   * Merges every `k` buckets into one (bucket b becomes floor(b / k)). Counts and cost add up,
   * expected invocations add up, the baseline quantiles are the latest in each group, and the
   * duration quantiles are re-estimated from each bucket's p50/p95 ({@link addThreePoint}).
   *
   * `open` is the bucket still collecting durations in `openHist`: its group's quantiles are left
   * to be computed when it closes, and the other buckets of that group are folded into `openHist`.
   * Returns the weight added to `openHist`.
   */
  coarsen(k: number, open = NaN, openHist?: Float64Array): number {
    if (this.len === 0) return 0;
    const oldStart = this.start;
    const old = { inv: this.inv, err: this.err, tmo: this.tmo, cost: this.cost, p50: this.p50, p95: this.p95, exp: this.exp, b50: this.b50, b99: this.b99 };
    const n = this.len;
    const newStart = Math.floor(oldStart / k);
    const newLen = Math.floor((oldStart + n - 1) / k) - newStart + 1;
    this.len = 0;
    this.start = newStart;
    this.inv = new Uint32Array(0);
    this.resize(newLen, 0);
    this.len = newLen;
    const openGroup = Number.isFinite(open) ? Math.floor(open / k) - newStart : -1;
    const scratch = new Float64Array(DURATION_BINS);
    let added = 0;
    let i = 0;
    while (i < n) {
      const g = Math.floor((oldStart + i) / k) - newStart;
      let j = i;
      let expSum = 0;
      let expN = 0;
      let durW = 0;
      scratch.fill(0);
      for (; j < n && Math.floor((oldStart + j) / k) - newStart === g; j++) {
        this.inv[g]! += old.inv[j]!;
        this.err[g]! += old.err[j]!;
        this.tmo[g]! += old.tmo[j]!;
        this.cost[g]! += old.cost[j]!;
        const e = old.exp[j]!;
        if (e === e) {
          expSum += e;
          expN++;
        }
        if (old.b50[j] !== NO_BIN) {
          this.b50[g] = old.b50[j]!;
          this.b99[g] = old.b99[j]!;
        }
        if (g === openGroup) {
          if (oldStart + j !== open && openHist) {
            addThreePoint(openHist, old.p50[j]!, old.p95[j]!, old.inv[j]!);
            if (old.p50[j] !== NO_BIN) added += old.inv[j]!;
          }
        } else if (old.p50[j] !== NO_BIN) {
          addThreePoint(scratch, old.p50[j]!, old.p95[j]!, old.inv[j]!);
          durW += old.inv[j]!;
        }
      }
      if (expN > 0) this.exp[g] = expSum;
      if (durW > 0) {
        this.p50[g] = histQuantileBin(scratch, durW, 0.5);
        this.p95[g] = histQuantileBin(scratch, durW, 0.95);
      }
      i = j;
    }
    return added;
  }
}
