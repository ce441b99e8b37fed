/**
 * Elastic Common Schema: an external detector's alert (`event.kind: alert`), with the function in
 * `faas.*`, the account and region in `cloud.*`, and the egress destination in `destination.*`.
 */
import { isIP } from 'node:net';
import { alertKind, severityName, type Alert, type AlertKind } from '../../core/alert.ts';
import { isObject } from './ocsf.ts';

export const ECS_VERSION = '8.11.0';

/** An ECS document (nested objects, as Elasticsearch indexes them). */
export type EcsDocument = Record<string, unknown> & {
  '@timestamp': string;
  message: string;
  event: Record<string, unknown>;
  rule: Record<string, unknown>;
  cloud: Record<string, unknown>;
  faas: Record<string, unknown>;
};

// ECS restricts event.category and event.type to fixed vocabularies; these are the closest allowed
// pairs for each kind (egress is a network connection, API access is IAM use, the rest are
// detections on the function's own behaviour).
const CATEGORY: Record<AlertKind, { category: string[]; type: string[]; description: string }> = {
  'denial-of-wallet': { category: ['intrusion_detection'], type: ['info'], description: 'Invocation rate far above the function baseline: possible denial of wallet' },
  'cost-ramp': { category: ['intrusion_detection'], type: ['info'], description: 'Sustained invocation uplift over hours that raises cost' },
  'dormant-wakeup': { category: ['intrusion_detection'], type: ['info'], description: 'A function that is normally idle started running' },
  'duration-anomaly': { category: ['intrusion_detection'], type: ['info'], description: 'Invocation durations shifted away from the baseline (e.g. crypto-mining, hung calls)' },
  'new-egress-host': { category: ['network'], type: ['connection'], description: 'The function connected to a host it has not contacted before' },
  'new-resource-access': { category: ['iam'], type: ['info'], description: 'The function called an AWS API or touched a resource outside its baseline' },
  'error-spike': { category: ['intrusion_detection'], type: ['info'], description: 'Error rate far above the function baseline' },
};

// Elastic's risk bands: low 0-21, medium 22-47, high 48-73, critical 74-100.
const RISK_SCORE: Record<number, number> = { 0: 0, 1: 10, 2: 21, 3: 47, 4: 73, 5: 99, 6: 100 };

const ACTION: Record<number, string> = { 1: 'finding-created', 2: 'finding-updated', 3: 'finding-closed' };

/**
 * The function ARN without a version or alias suffix, as `faas.id` wants it.
 *
 * @example
 * unqualifiedArn('arn:aws:lambda:us-east-1:123456789012:function:orders-api:42');
 * // → 'arn:aws:lambda:us-east-1:123456789012:function:orders-api'
 */
export function unqualifiedArn(arn: string): string {
  const parts = arn.split(':');
  return parts.length > 7 && parts[5] === 'function' ? parts.slice(0, 7).join(':') : arn;
}

/**
 * The ECS document for an alert.
 *
 * @example
 * toEcs(alert)['event']; // → { kind: 'alert', category: ['network'], type: ['connection'], severity: 4, … }
 */
export function toEcs(alert: Alert): EcsDocument {
  const kind = alertKind(alert);
  const r = alert.resources[0];
  const info = alert.finding_info;
  const map = CATEGORY[kind] ?? { category: ['intrusion_detection'], type: ['info'], description: info.title };
  const unmapped = alert.unmapped ?? {};
  const version = typeof unmapped.function_version === 'string' ? unmapped.function_version : typeof unmapped.version === 'string' ? unmapped.version : undefined;
  const account = r?.owner?.account?.uid ?? alert.metadata.tenant_uid;
  const doc: EcsDocument = {
    '@timestamp': new Date(alert.time).toISOString(),
    message: alert.message ?? info.desc,
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'alert',
      category: map.category,
      type: map.type,
      action: ACTION[alert.activity_id] ?? 'finding',
      severity: alert.severity_id,
      risk_score: RISK_SCORE[alert.severity_id] ?? 50,
      ...(alert.start_time !== undefined ? { start: new Date(alert.start_time).toISOString() } : {}),
      ...(alert.end_time !== undefined ? { end: new Date(alert.end_time).toISOString() } : {}),
      dataset: 'fnwatch.finding',
      module: 'fnwatch',
      provider: 'fnwatch',
      id: info.uid,
    },
    rule: {
      id: info.analytic.uid,
      name: info.title,
      ruleset: 'fnwatch',
      version: info.analytic.version ?? '1',
      description: map.description,
      category: kind,
    },
    cloud: {
      provider: 'aws',
      ...(account ? { account: { id: account } } : {}),
      ...(r?.region ? { region: r.region } : {}),
      service: { name: 'lambda' },
    },
    faas: {
      name: r?.name ?? '-',
      ...(r?.uid ? { id: unqualifiedArn(r.uid) } : {}),
      ...(version ? { version } : {}),
    },
    observer: { vendor: alert.metadata.product.vendor_name, product: 'fnwatch', ...(alert.metadata.product.version ? { version: alert.metadata.product.version } : {}) },
    tags: ['fnwatch', kind, severityName(alert.severity_id).toLowerCase()],
    labels: { fnwatch_finding_uid: info.uid, fnwatch_kind: kind, fnwatch_activity_id: String(alert.activity_id) },
  };
  const destination = egressDestination(alert);
  if (destination) {
    doc.destination = destination;
    if (destination.domain) doc.related = { hosts: [destination.domain] };
    else if (destination.ip) doc.related = { ip: [destination.ip] };
  }
  return doc;
}

function egressDestination(alert: Alert): { domain?: string; ip?: string; port?: number } | undefined {
  for (const e of alert.evidences ?? []) {
    const dst = e.dst_endpoint;
    if (!isObject(dst)) continue;
    const out: { domain?: string; ip?: string; port?: number } = {};
    const host = typeof dst.hostname === 'string' ? dst.hostname : undefined;
    if (host && isIP(host)) out.ip = host;
    else if (host) out.domain = host;
    if (typeof dst.ip === 'string') out.ip = dst.ip;
    if (typeof dst.port === 'number') out.port = dst.port;
    if (out.domain || out.ip) return out;
  }
  return undefined;
}

const ARN_UNQUALIFIED = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+$/;

/**
 * Problems with an ECS alert document (empty when valid): `@timestamp`, `message`, `event.kind`
 * `alert`, `event.category`/`type` arrays, `event.severity`/`risk_score` numbers, `event.dataset`,
 * `event.id`, `rule.id`/`name`, `cloud.provider`, `faas.name`, `faas.id` without a version suffix,
 * and `destination.*` on egress alerts.
 *
 * @example
 * validateEcs(toEcs(alert)); // → []
 */
export function validateEcs(value: unknown): string[] {
  if (!isObject(value)) return ['not a JSON object'];
  const errors: string[] = [];
  const ts = value['@timestamp'];
  if (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)) || !ts.endsWith('Z')) errors.push('@timestamp must be an ISO-8601 UTC string');
  if (typeof value.message !== 'string' || value.message === '') errors.push('message is required');
  const event = isObject(value.event) ? value.event : undefined;
  if (!event) errors.push('event is required');
  else {
    if (event.kind !== 'alert') errors.push("event.kind must be 'alert'");
    for (const k of ['category', 'type']) {
      if (!Array.isArray(event[k]) || (event[k] as unknown[]).length === 0) errors.push(`event.${k} must be a non-empty array`);
    }
    if (typeof event.severity !== 'number') errors.push('event.severity must be a number');
    if (typeof event.risk_score !== 'number' || event.risk_score < 0 || event.risk_score > 100) errors.push('event.risk_score must be 0-100');
    if (event.dataset !== 'fnwatch.finding') errors.push("event.dataset must be 'fnwatch.finding'");
    if (typeof event.id !== 'string' || event.id === '') errors.push('event.id is required');
    for (const k of ['start', 'end']) if (event[k] !== undefined && Number.isNaN(Date.parse(String(event[k])))) errors.push(`event.${k} must be a date`);
  }
  const rule = isObject(value.rule) ? value.rule : undefined;
  if (!rule) errors.push('rule is required');
  else for (const k of ['id', 'name', 'ruleset', 'version', 'description']) if (typeof rule[k] !== 'string') errors.push(`rule.${k} must be a string`);
  const cloud = isObject(value.cloud) ? value.cloud : undefined;
  if (!cloud || cloud.provider !== 'aws') errors.push("cloud.provider must be 'aws'");
  const faas = isObject(value.faas) ? value.faas : undefined;
  if (!faas || typeof faas.name !== 'string') errors.push('faas.name is required');
  else if (faas.id !== undefined && (typeof faas.id !== 'string' || !ARN_UNQUALIFIED.test(faas.id))) errors.push('faas.id must be a function ARN without a version or alias');
  if (isObject(value.rule) && value.rule.category === 'new-egress-host') {
    const d = isObject(value.destination) ? value.destination : undefined;
    if (!d || (typeof d.domain !== 'string' && typeof d.ip !== 'string')) errors.push('destination.domain or destination.ip is required on egress alerts');
  }
  if (value.labels !== undefined) {
    if (!isObject(value.labels)) errors.push('labels must be an object');
    else for (const [k, v] of Object.entries(value.labels)) if (typeof v !== 'string') errors.push(`labels.${k} must be a string`);
  }
  return errors;
}
