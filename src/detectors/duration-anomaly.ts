/**
 * duration-anomaly: recent durations far above the function's baseline while the invocation rate
 * is normal (crypto-mining burns the timeout; hung dependencies). The test is a binomial tail: how
 * likely is it that `k` of the last `n` invocations exceed the baseline p99 if nothing changed
 * (p ≤ 1% each)? Requiring the recent median to have shifted too keeps a few slow cold starts quiet.
 * Quiet while the baseline re-learns after a deploy.
 */
import { Severity } from '../core/alert.ts';
import { binomialLogTail, log10p } from '../profiler/stats.ts';
import { RECENT_DURATIONS } from '../profiler/profile.ts';
import { num } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { window: 20, minExceed: 4, minShift: 2.5, log10p: -8, nearTimeoutFraction: 0.8 };

export const durationAnomaly: Detector = {
  id: 'duration-anomaly',
  handles: ['invocation'],
  detect(ev, obs, p, ctx) {
    if (!obs.durationExceeded) return undefined;
    if (ev.kind !== 'invocation' || p.relearning(ev.time) || !p.durationTrusted(ctx.settings)) return undefined;
    const k = detectorParams(ctx.pack, 'duration-anomaly', DEFAULTS);
    const h = p.durations;
    const p99 = h.quantileBin(0.99);
    const p50 = h.quantileBin(0.5);
    const n = Math.min(p.recentLen, k.window, RECENT_DURATIONS);
    let exceed = 0;
    for (let i = 0; i < n; i++) {
      const idx = (p.recentPos - 1 - i + RECENT_DURATIONS) % RECENT_DURATIONS;
      if (p.recentBins[idx]! > p99) exceed++;
    }
    if (exceed < k.minExceed) return undefined;
    const medianBin = p.recentMedianBinOf(n);
    const shift = h.valueOf(medianBin) / h.valueOf(p50);
    // With few recent samples the median is the shifted ones; with a full window, demand the shift.
    if (exceed < n / 2 && shift < k.minShift) return undefined;
    const pExceed = Math.max(0.01, h.fractionAbove(p99));
    const lp = log10p(binomialLogTail(exceed, n, pExceed));
    if (lp > k.log10p) return undefined;
    const observedMs = ev.durationMs ?? h.valueOf(medianBin);
    const nearTimeout = p.timeoutMs !== undefined && observedMs >= k.nearTimeoutFraction * p.timeoutMs;
    return {
      kind: 'duration-anomaly',
      object: 'duration',
      time: ev.time,
      start: ev.time,
      severity: nearTimeout ? Severity.High : Severity.Medium,
      analyticType: 3,
      title: nearTimeout ? 'Durations at the timeout (possible crypto-mining)' : 'Duration shift',
      desc:
        `${p.fn.name}: ${exceed} of the last ${n} invocations ran longer than the baseline p99 of ${num(h.valueOf(p99))} ms ` +
        `(latest ${num(observedMs)} ms; baseline median ${num(h.valueOf(p50))} ms)` +
        (nearTimeout ? `, close to the ${num(p.timeoutMs!)} ms timeout.` : '.'),
      measures: [
        { parameter: 'duration_ms', observed: +observedMs.toFixed(1), baseline: +h.valueOf(p50).toFixed(1), type: 'Distribution Analysis', pattern: 'HIGH_VOLUME' },
        { parameter: 'invocations_above_p99', observed: exceed, baseline: `${n} × ${(pExceed * 100).toFixed(1)}%`, type: 'Frequency' },
      ],
      extra: { baseline_p50_ms: h.valueOf(p50), baseline_p99_ms: h.valueOf(p99), recent_exceeding: exceed, recent_window: n, log10_p: +lp.toFixed(1), version: p.version },
    };
  },
};
