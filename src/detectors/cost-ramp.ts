/**
 * cost-ramp: a sustained uplift over hours (+50..300%) that stays below the spike detector's bar.
 *
 * Evidence accumulates hour by hour in a CUSUM: each closed hour adds the log-likelihood ratio of
 * "rate × `rampRatio`" against "the seasonal forecast", scaled down by that hour's variance factor
 * (hour-level over-dispersion and the forecast's own estimation error), and the sum never drops
 * below zero. It fires when the sum reaches `threshold`. One hour adds at most
 * `threshold / minHours`, so a single spike (a flood, a batch that ran late) cannot raise it alone:
 * only a shift that lasts. Evaluated when an hour closes, over the last 24 closed hours.
 *
 * The forecast is never exact: each hour's variance carries a relative model error
 * (`modelError` × expected)² besides counting noise, so a busy function whose forecast is 20% off
 * piles up evidence slowly rather than from thousands of invocations an hour; and the uplift over
 * the evidence span must reach `minRatio` for the alert to fire.
 */
import { Severity } from '../core/alert.ts';
import { num, usd, usdPerInvocation } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { rampRatio: 1.5, threshold: 4, minHours: 6, minRatio: 1.3, minExpected: 20, minExpectedPerHour: 0.5, modelError: 0.15, highUsdPerDay: 10 };

/** Result of the hourly CUSUM over the closed-hour history. */
export interface RampEvidence {
  /** Accumulated evidence (natural-log likelihood ratio units) at the newest hour */
  score: number;
  /** Hours since the evidence last stood at zero */
  hours: number;
  count: number;
  expected: number;
}

/**
 * The CUSUM over closed hours (oldest first).
 *
 * @example
 * rampEvidence([{ count: 30, expected: 10, varianceFactor: 1 }], 1.5, 12, 4, 0.5, 0).score // 3 (capped)
 */
export function rampEvidence(
  hours: readonly { count: number; expected: number; varianceFactor: number }[],
  rampRatio: number,
  threshold: number,
  minHours: number,
  floorPerHour: number,
  modelError: number,
): RampEvidence {
  const logRatio = Math.log(rampRatio);
  const cap = threshold / minHours;
  let score = 0;
  let span = 0;
  let count = 0;
  let expected = 0;
  for (const h of hours) {
    const lambda = Math.max(h.expected, floorPerHour);
    const d = Math.max(1, h.varianceFactor + modelError * modelError * lambda);
    const llr = Math.min(cap, (h.count * logRatio - (rampRatio - 1) * lambda) / d);
    // Bounded above as well, so the evidence of a long-gone surge drains within hours.
    score = Math.min(threshold + cap, score + llr);
    if (score <= 0) {
      score = 0;
      span = 0;
      count = 0;
      expected = 0;
    } else {
      span++;
      count += h.count;
      expected += lambda;
    }
  }
  return { score, hours: span, count, expected };
}

export const costRamp: Detector = {
  id: 'cost-ramp',
  handles: ['invocation'],
  detect(ev, obs, p, ctx) {
    if (obs.closedHours === 0) return undefined;
    const k = detectorParams(ctx.pack, 'cost-ramp', DEFAULTS);
    if (!p.rateTrusted(ev.time, ctx.settings)) return undefined;
    const hours = p.rate.lastHours(24);
    // Only hours closed after the baseline was trusted count as evidence.
    const trustedHours = Math.min(hours.length, Math.max(0, Math.floor((ev.time - p.firstSeen - ctx.settings.learningMs) / 3_600_000)));
    const e = rampEvidence(hours.slice(hours.length - trustedHours), k.rampRatio, k.threshold, k.minHours, k.minExpectedPerHour, k.modelError);
    if (e.score < k.threshold || e.expected < k.minExpected || e.count < k.minRatio * e.expected) return undefined;
    const ratio = e.count / e.expected;
    const extraPerDay = ((e.count - e.expected) / e.hours) * 24 * usdPerInvocation(p, ctx.pack);
    const windowStart = (p.rate.curHour - e.hours) * 3_600_000;
    return {
      kind: 'cost-ramp',
      object: 'invocation-volume',
      time: ev.time,
      start: windowStart,
      severity: extraPerDay >= k.highUsdPerDay ? Severity.High : Severity.Medium,
      analyticType: 3,
      title: 'Sustained invocation uplift (cost ramp)',
      desc:
        `${p.fn.name}: ${num(e.count)} invocations over the last ${e.hours} hours vs ${num(e.expected)} expected ` +
        `(+${Math.round((ratio - 1) * 100)}%, building up hour after hour); ` +
        `about ${usd(Math.max(0, extraPerDay))}/day extra if it continues.`,
      measures: [
        { parameter: 'invocations_per_hour', observed: +(e.count / e.hours).toFixed(1), baseline: +(e.expected / e.hours).toFixed(1), type: 'Volume Analysis', pattern: 'HIGH_VOLUME' },
      ],
      extra: { ratio: +ratio.toFixed(2), window_hours: e.hours, projected_extra_usd_per_day: +extraPerDay.toFixed(2), evidence: +e.score.toFixed(1) },
    };
  },
};
