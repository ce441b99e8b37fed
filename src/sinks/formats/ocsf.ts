/**
 * OCSF Detection Finding (class 2004): the Alert is already one, so the format is the identity; the
 * validator checks what the schema requires, for tests and for receivers.
 */
import type { Alert } from '../../core/alert.ts';

/**
 * The alert as an OCSF Detection Finding (it is one already).
 *
 * @example
 * JSON.stringify(toOcsf(alert)); // one line of `--alerts FILE`
 */
export function toOcsf(alert: Alert): Alert {
  return alert;
}

const SEVERITY_IDS = new Set([0, 1, 2, 3, 4, 5, 6, 99]);
const ACTIVITY_IDS = new Set([0, 1, 2, 3, 99]);

/**
 * Problems that make `value` an invalid OCSF Detection Finding (empty when valid): the fields the
 * schema requires (`activity_id`, `category_uid`, `class_uid`, `type_uid`, `severity_id`, `time`,
 * `metadata.product`, `metadata.version`, `finding_info.uid`) and their consistency.
 *
 * @example
 * validateOcsf({ class_uid: 2004 }); // → ['category_uid must be 2', …]
 */
export function validateOcsf(value: unknown): string[] {
  const errors: string[] = [];
  if (!isObject(value)) return ['not a JSON object'];
  const v = value as Record<string, unknown>;
  if (v.class_uid !== 2004) errors.push('class_uid must be 2004');
  if (v.category_uid !== 2) errors.push('category_uid must be 2');
  if (typeof v.activity_id !== 'number' || !ACTIVITY_IDS.has(v.activity_id)) errors.push('activity_id must be one of 0, 1, 2, 3, 99');
  if (typeof v.type_uid !== 'number' || v.type_uid !== 2004 * 100 + (v.activity_id as number)) errors.push('type_uid must be class_uid * 100 + activity_id');
  if (typeof v.severity_id !== 'number' || !SEVERITY_IDS.has(v.severity_id)) errors.push('severity_id must be one of 0-6, 99');
  if (typeof v.time !== 'number' || !Number.isFinite(v.time)) errors.push('time must be a number (epoch ms)');
  const metadata = v.metadata;
  if (!isObject(metadata)) errors.push('metadata is required');
  else {
    const product = (metadata as Record<string, unknown>).product;
    if (!isObject(product) || typeof (product as Record<string, unknown>).name !== 'string') errors.push('metadata.product.name is required');
    if (typeof (metadata as Record<string, unknown>).version !== 'string') errors.push('metadata.version is required');
  }
  const info = v.finding_info;
  if (!isObject(info)) errors.push('finding_info is required');
  else {
    const i = info as Record<string, unknown>;
    if (typeof i.uid !== 'string' || i.uid === '') errors.push('finding_info.uid is required');
    if (i.analytic !== undefined && (!isObject(i.analytic) || typeof (i.analytic as Record<string, unknown>).type_id !== 'number')) {
      errors.push('finding_info.analytic.type_id is required when analytic is present');
    }
  }
  if (v.resources !== undefined && !Array.isArray(v.resources)) errors.push('resources must be an array');
  return errors;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
