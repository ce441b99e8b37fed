/**
 * The scorer turns findings into alerts operators can trust: exceptions from the pack drop what is
 * allowed; one open alert per (function, kind, object) within the suppression window (repeats
 * update its counts, and only an escalation is re-sent, as an OCSF Update with the same uid);
 * stable ids; the OCSF Detection Finding shape.
 */
import { createHash } from 'node:crypto';
import type { Alert, OcsfAnomaly } from '../core/alert.ts';
import { functionArn, functionKey, type FunctionRef } from '../core/events.ts';
import type { Finding } from '../detectors/types.ts';
import { globMatch, type ModelPack } from '../detectors/pack.ts';

export const OCSF_VERSION = '1.5.0';
export const PRODUCT_VERSION = '0.1.0';

/** An alert whose suppression window is open (saved in service snapshots so a restart does not re-alert). */
export interface OpenAlert {
  uid: string;
  until: number;
  count: number;
  severity: number;
  first: number;
  last: number;
}

/** Counters the scorer keeps (reported by the service and the eval harness). */
export interface ScorerCounts {
  findings: number;
  alerts: number;
  updates: number;
  suppressed: number;
  excepted: number;
}

/**
 * @example
 * const scorer = new Scorer(pack, (alert) => sink.push(alert));
 * scorer.accept(finding, fnRef);
 */
export class Scorer {
  readonly counts: ScorerCounts = { findings: 0, alerts: 0, updates: 0, suppressed: 0, excepted: 0 };
  private readonly open = new Map<string, OpenAlert>();
  private sweepAt = 0;

  constructor(
    private readonly pack: ModelPack,
    private readonly emit: (a: Alert) => void,
  ) {}

  accept(f: Finding, fn: FunctionRef): void {
    this.counts.findings++;
    if (this.isExcepted(f, fn)) {
      this.counts.excepted++;
      return;
    }
    const key = `${functionKey(fn)}|${f.kind}|${f.object}`;
    const prior = this.open.get(key);
    const windowMin = this.pack.suppression.perKind[f.kind] ?? this.pack.suppression.defaultMinutes;
    if (prior && f.time < prior.until) {
      // Still going: the open alert absorbs it and stays open while the condition persists.
      prior.count++;
      prior.last = Math.max(prior.last, f.time);
      prior.until = Math.max(prior.until, f.time + windowMin * 60_000);
      if (f.severity > prior.severity) {
        prior.severity = f.severity;
        this.counts.updates++;
        this.emit(toOcsf(f, fn, prior.uid, 2, prior));
      } else {
        this.counts.suppressed++;
      }
      return;
    }
    const uid = stableUid(key, f.start);
    const entry: OpenAlert = { uid, until: f.time + windowMin * 60_000, count: 1, severity: f.severity, first: f.start, last: f.time };
    this.open.set(key, entry);
    this.counts.alerts++;
    this.emit(toOcsf(f, fn, uid, 1, entry));
    if (f.time > this.sweepAt) this.sweep(f.time);
  }

  /**
   * The open alerts by key, as plain data: the service snapshots them with the baselines so that a
   * condition still going on after a restart updates its alert instead of raising a new one.
   *
   * @example
   * const saved = scorer.openAlerts();
   * other.restoreOpenAlerts(saved);
   */
  openAlerts(): Array<[string, OpenAlert]> {
    return [...this.open].map(([k, v]) => [k, { ...v }]);
  }

  /** Restores alerts saved by {@link Scorer.openAlerts}; malformed entries are ignored. */
  restoreOpenAlerts(entries: ReadonlyArray<readonly [string, OpenAlert]>): void {
    for (const [k, v] of entries) {
      if (typeof k !== 'string' || typeof v?.uid !== 'string' || !Number.isFinite(v.until)) continue;
      this.open.set(k, { uid: v.uid, until: v.until, count: v.count, severity: v.severity, first: v.first, last: v.last });
    }
  }

  /** Forgets closed suppression windows so memory stays bounded. */
  private sweep(now: number): void {
    this.sweepAt = now + 3_600_000;
    for (const [k, v] of this.open) if (v.until <= now) this.open.delete(k);
  }

  private isExcepted(f: Finding, fn: FunctionRef): boolean {
    for (const e of this.pack.exceptions) {
      if (e.kind && e.kind !== f.kind) continue;
      if (e.function && !globMatch(e.function, fn.name)) continue;
      if (e.object && !globMatch(e.object, f.object)) continue;
      return true;
    }
    return false;
  }
}

/**
 * A finding uid that is the same on every re-run over the same data: a hash of function, kind,
 * object and the minute the evidence started.
 */
export function stableUid(key: string, start: number): string {
  const minute = Math.floor(start / 60_000);
  return 'fw-' + createHash('sha256').update(`${key}|${minute}`).digest('hex').slice(0, 24);
}

function toOcsf(f: Finding, fn: FunctionRef, uid: string, activity: 1 | 2, open: OpenAlert): Alert {
  const arn = functionArn(fn);
  const anomalies: OcsfAnomaly[] = [];
  const baselines: OcsfAnomaly[] = [];
  for (const m of f.measures) {
    anomalies.push({
      observation_parameter: m.parameter,
      observation_type: m.type,
      observed_pattern: m.pattern,
      observations: [{ value: String(m.observed), timespan: { start_time: f.start, end_time: f.time } }],
    });
    if (m.baseline !== undefined) {
      baselines.push({ observation_parameter: m.parameter, observation_type: m.type, observations: [{ value: String(m.baseline) }] });
    }
  }
  return {
    class_uid: 2004,
    category_uid: 2,
    activity_id: activity,
    type_uid: activity === 1 ? 200401 : 200402,
    severity_id: f.severity,
    time: f.time,
    start_time: f.start,
    end_time: f.time,
    message: f.desc,
    is_alert: true,
    status_id: 1,
    confidence_id: f.analyticType === 3 ? 2 : 3,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'fnwatch', vendor_name: 'fnwatch', version: PRODUCT_VERSION },
      ...(fn.account ? { tenant_uid: fn.account } : {}),
      log_name: 'lambda',
    },
    finding_info: {
      uid,
      title: f.title,
      desc: f.desc,
      types: [f.kind],
      first_seen_time: open.first,
      last_seen_time: open.last,
      analytic: { name: f.kind, type_id: f.analyticType, uid: f.kind, version: '1' },
      data_sources: f.kind === 'new-resource-access' ? ['cloudtrail'] : f.kind === 'new-egress-host' ? ['egress'] : ['lambda-platform-logs'],
    },
    resources: [
      {
        type: 'AWS::Lambda::Function',
        name: fn.name,
        ...(arn ? { uid: arn } : {}),
        ...(fn.region ? { region: fn.region } : {}),
        ...(fn.account ? { owner: { account: { uid: fn.account } } } : {}),
      },
    ],
    ...(f.evidences ? { evidences: f.evidences } : {}),
    anomaly_analyses: [{ analysis_targets: [{ name: fn.name, type: 'AWS::Lambda::Function' }], anomalies, ...(baselines.length ? { baselines } : {}) }],
    unmapped: { ...(f.extra ?? {}), object: f.object, repeat_count: open.count },
  };
}
