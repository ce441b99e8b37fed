/**
 * dormant-wakeup: a near-silent function (well under one invocation an hour on average, and at this
 * time of the week) suddenly busy: `minCount` or more invocations within the last 60 minutes, a
 * count the Poisson model of its baseline all but excludes. The window slides with event time, so
 * a wake-up that starts late in a clock hour, or soon after a lone scheduled call, is still seen.
 */
import { Severity } from '../core/alert.ts';
import { log10p, poissonLogTail } from '../profiler/stats.ts';
import { num } from './cost.ts';
import { detectorParams } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { maxExpectedPerHour: 0.5, minCount: 10, log10p: -9 };

export const dormantWakeup: Detector = {
  id: 'dormant-wakeup',
  handles: ['invocation'],
  detect(ev, _obs, p, ctx) {
    const k = detectorParams(ctx.pack, 'dormant-wakeup', DEFAULTS);
    const r = p.rate;
    const count = r.lastHourCount;
    if (count < k.minCount) return undefined;
    if (!p.rateTrusted(ev.time, ctx.settings)) return undefined;
    const expected = Math.max(r.expectedForHour(r.curHour), r.meanPerHour());
    if (expected >= k.maxExpectedPerHour) return undefined;
    const lp = log10p(poissonLogTail(count, Math.max(expected, 1e-3)));
    if (lp > k.log10p) return undefined;
    const idleH = r.gapBeforeHour === Infinity || r.gapBeforeHour < 3_600_000 ? undefined : r.gapBeforeHour / 3_600_000;
    return {
      kind: 'dormant-wakeup',
      object: 'wakeup',
      time: ev.time,
      start: ev.time - 3_600_000,
      severity: Severity.High,
      analyticType: 3,
      title: 'Dormant function woke up',
      desc:
        `${p.fn.name}: ${num(count)} invocations within the last hour` +
        (idleH !== undefined ? ` after ${num(idleH)} hours of silence` : '') +
        `; its baseline is ${num(expected)}/hour.`,
      measures: [
        { parameter: 'invocations_per_hour', observed: count, baseline: +expected.toFixed(3), type: 'Frequency', pattern: 'SURGE' },
      ],
      extra: { idle_hours: idleH === undefined ? null : +idleH.toFixed(1), log10_p: +lp.toFixed(1) },
    };
  },
};
