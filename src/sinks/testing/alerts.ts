/**
 * Realistic alerts for sink tests, shaped like the scorer's output: alert `i` belongs to function
 * `fn-<i mod functions>` and carries `unmapped.seq = i`, so tests can check loss, duplicates and
 * per-function order.
 */
import { ALERT_KINDS, type Alert, type AlertKind } from '../../core/alert.ts';

export interface SampleOptions {
  functions?: number;
  kind?: AlertKind;
  /** pad `finding_info.desc` to make the alert about this many bytes larger */
  padBytes?: number;
  activity?: 1 | 2;
}

/**
 * @example
 * const a = sampleAlert(7); // fn-2 (of 5), kind cycles through ALERT_KINDS, unmapped.seq 7
 */
export function sampleAlert(i: number, opts: SampleOptions = {}): Alert {
  const functions = opts.functions ?? 5;
  const fnName = `fn-${i % functions}`;
  const kind = opts.kind ?? ALERT_KINDS[i % ALERT_KINDS.length]!;
  const account = '123456789012';
  const region = 'eu-west-1';
  const time = 1_767_896_435_215 + i * 1000;
  const activity = opts.activity ?? 1;
  const egress = kind === 'new-egress-host';
  return {
    class_uid: 2004,
    category_uid: 2,
    activity_id: activity,
    type_uid: activity === 1 ? 200401 : 200402,
    severity_id: 3 + (i % 2),
    time,
    start_time: time - 300_000,
    end_time: time,
    message: `${fnName}: sample ${kind} finding ${i}`,
    is_alert: true,
    status_id: 1,
    confidence_id: 2,
    metadata: { version: '1.5.0', product: { name: 'fnwatch', vendor_name: 'fnwatch', version: '0.1.0' }, tenant_uid: account, log_name: 'lambda' },
    finding_info: {
      uid: `fw-${i.toString(16).padStart(24, '0')}`,
      title: `Sample ${kind}`,
      desc: `${fnName}: sample ${kind} finding ${i}${opts.padBytes ? ' ' + 'x'.repeat(opts.padBytes) : ''}`,
      types: [kind],
      first_seen_time: time - 300_000,
      last_seen_time: time,
      analytic: { name: kind, type_id: 3, uid: kind, version: '1' },
      data_sources: ['lambda-platform-logs'],
    },
    resources: [
      {
        type: 'AWS::Lambda::Function',
        name: fnName,
        uid: `arn:aws:lambda:${region}:${account}:function:${fnName}`,
        region,
        owner: { account: { uid: account } },
      },
    ],
    ...(egress ? { evidences: [{ dst_endpoint: { hostname: `c2-${i}.example.net`, port: 443 }, data: { via: 'instrumentation' } }] } : {}),
    anomaly_analyses: [
      {
        analysis_targets: [{ name: fnName, type: 'AWS::Lambda::Function' }],
        anomalies: [{ observation_parameter: 'invocations_per_minute', observation_type: 'Volume Analysis', observed_pattern: 'SURGE', observations: [{ value: String(100 + i) }] }],
      },
    ],
    unmapped: { seq: i, function_version: String(1 + (i % 3)) },
  };
}

/** Alerts 0..n-1 (or from `start`). */
export function sampleAlerts(n: number, opts: SampleOptions & { start?: number } = {}): Alert[] {
  const out: Alert[] = [];
  for (let i = 0; i < n; i++) out.push(sampleAlert((opts.start ?? 0) + i, opts));
  return out;
}
