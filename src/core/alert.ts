/**
 * The Alert: an OCSF 1.5 Detection Finding (class 2004). This is what every sink receives and what
 * `--alerts FILE` holds, one JSON object per line.
 */

/** The alert kinds fnwatch raises; this is `finding_info.types[0]`. */
export const ALERT_KINDS = [
  'denial-of-wallet',
  'cost-ramp',
  'dormant-wakeup',
  'duration-anomaly',
  'new-egress-host',
  'new-resource-access',
  'error-spike',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** OCSF severity_id values used by fnwatch. */
export const Severity = { Informational: 1, Low: 2, Medium: 3, High: 4, Critical: 5 } as const;
export type SeverityId = (typeof Severity)[keyof typeof Severity];

/** Severity name as OCSF spells it. */
export function severityName(id: number): string {
  return ['Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical', 'Fatal'][id] ?? 'Other';
}

export interface OcsfTimespan {
  duration?: number;
  start_time?: number;
  end_time?: number;
}
export interface OcsfObservation {
  value: string;
  count?: number;
  timespan?: OcsfTimespan;
}
export interface OcsfAnomaly {
  observation_parameter: string;
  observation_type?: string;
  observed_pattern?: string;
  observations: OcsfObservation[];
}
export interface OcsfAnomalyAnalysis {
  analysis_targets: { name: string; type?: string }[];
  anomalies: OcsfAnomaly[];
  baselines?: OcsfAnomaly[];
}

export interface OcsfResource {
  type: 'AWS::Lambda::Function';
  name: string;
  uid?: string;
  region?: string;
  owner?: { account?: { uid: string } };
}

/**
 * An OCSF Detection Finding.
 *
 * @example
 * const a: Alert = {
 *   class_uid: 2004, category_uid: 2, activity_id: 1, type_uid: 200401, severity_id: 4, time: 1767896435215,
 *   metadata: { version: '1.5.0', product: { name: 'fnwatch', vendor_name: 'fnwatch' } },
 *   finding_info: { uid: 'fw-…', title: 'Invocation-rate surge', types: ['denial-of-wallet'],
 *     desc: 'orders-api: 4,560 invocations/min vs a baseline of 120', first_seen_time: 1767896100000,
 *     last_seen_time: 1767896400000, analytic: { name: 'denial-of-wallet', type_id: 3, uid: 'denial-of-wallet' } },
 *   resources: [{ type: 'AWS::Lambda::Function', name: 'orders-api' }],
 * };
 */
export interface Alert {
  class_uid: 2004;
  category_uid: 2;
  /** 1 Create, 2 Update (same finding, new evidence), 3 Close */
  activity_id: 1 | 2 | 3;
  type_uid: 200401 | 200402 | 200403;
  severity_id: number;
  /** Event time (ms) at which the finding was raised or updated */
  time: number;
  start_time?: number;
  end_time?: number;
  message?: string;
  is_alert?: boolean;
  status_id?: number;
  confidence_id?: number;
  confidence_score?: number;
  metadata: {
    version: string;
    product: { name: 'fnwatch'; vendor_name: string; version?: string };
    tenant_uid?: string;
    log_name?: string;
  };
  finding_info: {
    /** Stable across re-runs over the same data, so SIEMs can deduplicate */
    uid: string;
    title: string;
    desc: string;
    types: [AlertKind, ...string[]];
    first_seen_time: number;
    last_seen_time: number;
    analytic: { name: string; type_id: number; uid: string; version?: string; state_id?: number };
    data_sources?: string[];
  };
  resources: OcsfResource[];
  evidences?: Record<string, unknown>[];
  anomaly_analyses?: OcsfAnomalyAnalysis[];
  /** Extra numbers (cost projection, version, counts) for consumers pinned below OCSF 1.5 */
  unmapped?: Record<string, unknown>;
}

/** The alert's kind. */
export function alertKind(a: Alert): AlertKind {
  return a.finding_info.types[0];
}
