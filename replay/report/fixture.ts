/**
 * A small crafted run for the report's tests and for looking at the page: three functions over
 * four days through the real engine, with a denial-of-wallet surge on one, crypto-mining on
 * another (durations near the timeout and a new egress host whose name carries HTML), and a
 * third that stays normal.
 */
import type { Alert } from '../../src/core/alert.ts';
import type { EgressEvent, FnEvent, FunctionRef } from '../../src/core/events.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DAY, HOUR, MIN, T0, diurnal, invocations, merge } from '../../src/detectors/testing/series.ts';
import { ReportCollector, type ReportCollectorOptions } from './collector.ts';
import { withReport } from './index.ts';

export const SURGE_FN: FunctionRef = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };
export const MINER_FN: FunctionRef = { name: 'thumbnailer', account: '111111111111', region: 'us-east-1' };
export const QUIET_FN: FunctionRef = { name: 'billing-sync', account: '222222222222', region: 'eu-west-1' };
/** An egress host that would run script if a report ever parsed data as markup */
export const HOSTILE_HOST = '<img src=x onerror="window.__pwned=1">.evil</script><script>window.__pwned=2</script>';

export const SURGE_AT = T0 + 3 * DAY + 15 * HOUR;
export const MINING_AT = T0 + 3 * DAY + 4 * HOUR;

export interface CraftedRun {
  collector: ReportCollector;
  pipeline: Pipeline;
  alerts: Alert[];
  events: number;
}

function egress(fn: FunctionRef, t: number, host: string, port = 443): EgressEvent {
  return { kind: 'egress', time: t, fn, host, port, protocol: 'tls', via: 'instrumentation' };
}

/**
 * Runs the crafted events through a Pipeline with a collector attached.
 *
 * @example
 * const { collector, alerts } = craftedRun();
 */
export function craftedRun(opts: ReportCollectorOptions = {}): CraftedRun {
  const days = 4;
  const surge = invocations({
    fn: SURGE_FN,
    minutes: days * 24 * 60,
    rate: (t) => diurnal(20)(t) * (t >= SURGE_AT && t < SURGE_AT + 30 * MIN ? 30 : 1),
    memorySizeMB: 1024,
    seed: 11,
  });
  const mining: FnEvent[] = [
    ...invocations({
      fn: MINER_FN,
      minutes: days * 24 * 60,
      rate: diurnal(5),
      durationMs: (t) => (t >= MINING_AT ? 14_000 : 150),
      sigma: 0.05,
      memorySizeMB: 512,
      seed: 15,
    }),
  ];
  // The function's timeout is known from an earlier timeout.
  mining.splice(100, 0, { ...mining[100]!, status: 'timeout', durationMs: 15_000, requestId: 'to' } as FnEvent);
  const hosts: FnEvent[] = [];
  for (let h = 0; h < days * 24; h++) hosts.push(egress(MINER_FN, T0 + h * HOUR + 17, 's3.us-east-1.amazonaws.com'));
  hosts.push(egress(MINER_FN, MINING_AT + 5 * MIN, 'pool.minexmr.example', 4444));
  hosts.push(egress(MINER_FN, MINING_AT + 6 * MIN, HOSTILE_HOST, 8443));
  hosts.sort((a, b) => a.time - b.time);
  const quiet = invocations({ fn: QUIET_FN, minutes: days * 24 * 60, rate: () => 0.5, durationMs: () => 900, seed: 5 });

  const collector = new ReportCollector(opts);
  const alerts: Alert[] = [];
  const pipeline = new Pipeline(withReport({ onAlert: (a: Alert) => alerts.push(a) }, collector));
  let events = 0;
  for (const ev of merge(surge, mining, hosts, quiet)) {
    pipeline.processEvent(ev);
    events++;
  }
  pipeline.finish();
  return { collector, pipeline, alerts, events };
}
