/**
 * denial-of-wallet: the invocation rate in the current minute far above the function's seasonal
 * expectation, beyond its learned burstiness, and states the projected extra cost per hour and per
 * day.
 *
 * Bursty workers reach their busiest minutes now and then, for a minute or two; a flood holds its
 * rate. So a minute above `peakMultiple` × the learned busiest minute fires when the minute before
 * it was already above the busiest minute too (sustained), or at once when it is `extremeMultiple`
 * × the busiest minute. Near-silent slots (a quiet API at night) are judged against a floor of
 * `minExpectedPerHour` rather than skipped: a flood at 3 a.m. is still a flood.
 *
 * Severity follows the money: high from `highUsdPerDay` projected, critical from `criticalUsdPerDay`.
 * A rate `highRatio` × the expectation is high too, but only once it has held at the alerting rate
 * (`minCount` and `minRatio` × the expectation per minute) for `highSustainMinutes` minutes: a
 * queue worker's backlog burst can look like the first minute of a flood (20 calls in a near-silent
 * minute, 100× its expectation), and ends. The alert opens at medium and is updated to high when
 * the flood holds.
 */
import { Severity } from '../core/alert.ts';
import type { RateModel } from '../profiler/rate.ts';
import { log10p, overdispersedLogTail } from '../profiler/stats.ts';
import { num, usd, usdPerInvocation } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = {
  minRatio: 8,
  peakMultiple: 1.5,
  minCount: 20,
  log10p: -9,
  minExpectedPerHour: 0.5,
  extremeMultiple: 3,
  highUsdPerDay: 10,
  criticalUsdPerDay: 100,
  highRatio: 50,
  highSustainMinutes: 5,
};

export const denialOfWallet: Detector = {
  id: 'denial-of-wallet',
  handles: ['invocation'],
  detect(ev, _obs, p, ctx) {
    const k = detectorParams(ctx.pack, 'denial-of-wallet', DEFAULTS);
    const r = p.rate;
    const c = r.minuteCount;
    if (c < k.minCount) return undefined;
    if (!p.rateTrusted(ev.time, ctx.settings)) return undefined;
    const expectedHour = Math.max(r.expectedForHour(r.curHour), k.minExpectedPerHour);
    const lambda = expectedHour / 60;
    const peak = r.peakMinute();
    if (c < k.minRatio * lambda || c < k.peakMultiple * peak) return undefined;
    if (c < k.extremeMultiple * peak && r.countLastMinutes(2, ev.time) - c <= peak) return undefined;
    const lp = log10p(overdispersedLogTail(c, lambda, r.dispersion));
    if (lp > k.log10p) return undefined;

    const ratio = c / Math.max(lambda, 1e-9);
    const perInv = usdPerInvocation(p, ctx.pack);
    const extraPerHour = (c - lambda) * 60 * perInv;
    const extraPerDay = extraPerHour * 24;
    // Held at the rate that alerts (not above the learned peak, which learns the flood as it goes).
    const held = ratio >= k.highRatio && heldAtLeast(r, Math.max(k.minCount, k.minRatio * lambda), ev.time, k.highSustainMinutes);
    let severity: number = Severity.Medium;
    if (extraPerDay >= k.highUsdPerDay || held) severity = Severity.High;
    if (extraPerDay >= k.criticalUsdPerDay) severity = Severity.Critical;
    const minuteStart = r.curMinute * 60_000;
    return {
      kind: 'denial-of-wallet',
      object: 'invocation-rate',
      time: ev.time,
      start: minuteStart,
      severity,
      analyticType: 3,
      title: 'Invocation-rate surge (possible denial of wallet)',
      desc:
        `${p.fn.name}: ${num(c)} invocations in one minute vs a seasonal baseline of ${num(lambda)}/min ` +
        `(${num(ratio)}x, above its busiest learned minute of ${num(r.peakMinute())}); if sustained this adds about ` +
        `${usd(extraPerHour)}/hour, ${usd(extraPerDay)}/day` +
        (held ? `; held at that rate for ${k.highSustainMinutes} minutes running.` : '.'),
      measures: [
        { parameter: 'invocations_per_minute', observed: c, baseline: +lambda.toFixed(3), type: 'Volume Analysis', pattern: 'SURGE' },
      ],
      extra: {
        ratio: +ratio.toFixed(2),
        projected_extra_usd_per_hour: +extraPerHour.toFixed(4),
        projected_extra_usd_per_day: +extraPerDay.toFixed(2),
        usd_per_invocation: perInv,
        log10_p: +lp.toFixed(1),
      },
    };
  },
};

/**
 * Whether each of the `minutes` minutes ending with the one at `t` counted at least `level`
 * invocations (the current minute so far included).
 *
 * @example
 * heldAtLeast(p.rate, 20, ev.time, 5); // true when the last 5 minutes had 20 or more each
 */
export function heldAtLeast(r: Pick<RateModel, 'countLastMinutes'>, level: number, t: number, minutes: number): boolean {
  for (let i = 0; i < minutes; i++) if (r.countLastMinutes(1, t - i * MINUTE_MS) < level) return false;
  return true;
}

const MINUTE_MS = 60_000;
