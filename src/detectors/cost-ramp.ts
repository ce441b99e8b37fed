/**
 * cost-ramp: a sustained uplift over several hours (+50..300%) that stays below the spike
 * detector's bar. Evaluated when an hour closes, over the last `windowHours` closed hours, against
 * the seasonal expectation those hours had (which the ramp did not drag along: slots are
 * winsorised).
 */
import { Severity } from '../core/alert.ts';
import { log10p, overdispersedLogTail } from '../profiler/stats.ts';
import { num, usd, usdPerInvocation } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { windowHours: 4, minRatio: 1.5, minHourRatio: 1.2, minExpected: 20, log10p: -9, highUsdPerDay: 10 };

export const costRamp: Detector = {
  id: 'cost-ramp',
  handles: ['invocation'],
  detect(ev, obs, p, ctx) {
    if (obs.closedHours === 0) return undefined;
    const k = detectorParams(ctx.pack, 'cost-ramp', DEFAULTS);
    if (!p.rateTrusted(ev.time - k.windowHours * 3_600_000, ctx.settings)) return undefined;
    const hours = p.rate.lastHours(k.windowHours);
    if (hours.length < k.windowHours) return undefined;
    let count = 0;
    let expected = 0;
    for (const h of hours) {
      if (h.count < k.minHourRatio * h.expected || h.expected <= 0) return undefined;
      count += h.count;
      expected += h.expected;
    }
    if (expected < k.minExpected || count < k.minRatio * expected) return undefined;
    const lp = log10p(overdispersedLogTail(count, expected, p.rate.dispersion));
    if (lp > k.log10p) return undefined;
    const ratio = count / expected;
    const extraPerDay = ((count - expected) / k.windowHours) * 24 * usdPerInvocation(p, ctx.pack);
    const windowStart = (p.rate.curHour - k.windowHours) * 3_600_000;
    return {
      kind: 'cost-ramp',
      object: 'invocation-volume',
      time: ev.time,
      start: windowStart,
      severity: extraPerDay >= k.highUsdPerDay ? Severity.High : Severity.Medium,
      analyticType: 3,
      title: 'Sustained invocation uplift (cost ramp)',
      desc:
        `${p.fn.name}: ${num(count)} invocations over the last ${k.windowHours} hours vs ${num(expected)} expected ` +
        `(+${Math.round((ratio - 1) * 100)}%, every hour up at least ${Math.round((k.minHourRatio - 1) * 100)}%); ` +
        `about ${usd(extraPerDay)}/day extra if it continues.`,
      measures: [
        { parameter: 'invocations_per_hour', observed: +(count / k.windowHours).toFixed(1), baseline: +(expected / k.windowHours).toFixed(1), type: 'Volume Analysis', pattern: 'HIGH_VOLUME' },
      ],
      extra: { ratio: +ratio.toFixed(2), window_hours: k.windowHours, projected_extra_usd_per_day: +extraPerDay.toFixed(2), log10_p: +lp.toFixed(1) },
    };
  },
};
