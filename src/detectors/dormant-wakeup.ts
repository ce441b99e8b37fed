/**
 * dormant-wakeup: a near-silent function (expected well under one invocation an hour at this time
 * of the week) suddenly busy after a long quiet spell.
 */
import { Severity } from '../core/alert.ts';
import { log10p, poissonLogTail } from '../profiler/stats.ts';
import { num } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { maxExpectedPerHour: 0.5, minCount: 10, minIdleHours: 6, log10p: -9 };

export const dormantWakeup: Detector = {
  id: 'dormant-wakeup',
  handles: ['invocation'],
  detect(ev, _obs, p, ctx) {
    const k = detectorParams(ctx.pack, 'dormant-wakeup', DEFAULTS);
    const r = p.rate;
    if (r.hourCount < k.minCount) return undefined;
    if (!p.rateTrusted(ev.time, ctx.settings)) return undefined;
    const expected = r.expectedForHour(r.curHour);
    if (expected >= k.maxExpectedPerHour) return undefined;
    if (r.gapBeforeHour < k.minIdleHours * 3_600_000) return undefined;
    const lp = log10p(poissonLogTail(r.hourCount, Math.max(expected, 1e-3)));
    if (lp > k.log10p) return undefined;
    const idleH = r.gapBeforeHour === Infinity ? undefined : r.gapBeforeHour / 3_600_000;
    return {
      kind: 'dormant-wakeup',
      object: 'wakeup',
      time: ev.time,
      start: r.curHour * 3_600_000,
      severity: Severity.High,
      analyticType: 3,
      title: 'Dormant function woke up',
      desc:
        `${p.fn.name}: ${num(r.hourCount)} invocations this hour after ` +
        (idleH !== undefined ? `${num(idleH)} hours of silence` : 'a long silence') +
        `; its baseline at this time is ${num(expected)}/hour.`,
      measures: [
        { parameter: 'invocations_per_hour', observed: r.hourCount, baseline: +expected.toFixed(3), type: 'Frequency', pattern: 'SURGE' },
      ],
      extra: { idle_hours: idleH === undefined ? null : +idleH.toFixed(1), log10_p: +lp.toFixed(1) },
    };
  },
};
