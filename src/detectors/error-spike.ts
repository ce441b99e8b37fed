/**
 * error-spike: errors and timeouts in the current window far above the function's baseline error
 * rate (binomial tail), with floors on count and rate so that one unlucky minute stays quiet.
 */
import { Severity } from '../core/alert.ts';
import { binomialLogTail, log10p } from '../profiler/stats.ts';
import { num } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { windowMinutes: 10, minErrors: 5, minRate: 0.1, minRatioToBaseline: 5, log10p: -8 };

export const errorSpike: Detector = {
  id: 'error-spike',
  handles: ['invocation'],
  detect(ev, _obs, p, ctx) {
    if (ev.kind !== 'invocation' || ev.status === 'success') return undefined;
    const k = detectorParams(ctx.pack, 'error-spike', DEFAULTS);
    const e = p.errWindowErrors;
    const n = p.errWindowN;
    if (e < k.minErrors || !p.isTrusted(ev.time, ctx.settings)) return undefined;
    const base = p.baselineErrorRate();
    const rate = e / n;
    if (rate < k.minRate || rate < k.minRatioToBaseline * base) return undefined;
    const lp = log10p(binomialLogTail(e, n, base));
    if (lp > k.log10p) return undefined;
    const deployNote =
      p.lastDeploy && ev.time - p.lastDeploy.time < 3_600_000 ? ` (within an hour of deploying version ${p.lastDeploy.version ?? '?'})` : '';
    return {
      kind: 'error-spike',
      object: 'errors',
      time: ev.time,
      start: p.errWindowStart,
      severity: rate >= 0.5 ? Severity.High : Severity.Medium,
      analyticType: 3,
      title: 'Error/timeout burst',
      desc:
        `${p.fn.name}: ${e} of ${n} invocations failed in ${k.windowMinutes} minutes (${Math.round(rate * 100)}%; ` +
        `latest: ${ev.status}${ev.errorType ? ` ${ev.errorType}` : ''}) vs a baseline error rate of ${num(base * 100)}%${deployNote}.`,
      measures: [{ parameter: 'error_rate', observed: +rate.toFixed(3), baseline: +base.toFixed(4), type: 'Frequency', pattern: 'SURGE' }],
      extra: { errors: e, invocations: n, log10_p: +lp.toFixed(1) },
    };
  },
};
