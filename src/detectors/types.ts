/**
 * The one interface every detector implements. Detectors are pure: given an event, what the
 * profiler observed about it, and the function's profile, they return a finding or nothing.
 */
import type { AlertKind } from '../core/alert.ts';
import type { FnEvent } from '../core/events.ts';
import type { Observation, FunctionProfile, ProfilerSettings } from '../profiler/profile.ts';
import type { FleetView } from '../profiler/fleet.ts';
import type { ModelPack } from './pack.ts';

/** One measured quantity with its baseline, for the explanation and OCSF `anomaly_analyses`. */
export interface Measure {
  /** e.g. `invocations_per_minute`, `duration_ms_p50`, `egress_host` */
  parameter: string;
  observed: string | number;
  baseline?: string | number;
  /** OCSF observation_type, e.g. `Volume Analysis`, `Frequency`, `Distribution Analysis` */
  type?: string;
  /** OCSF observed_pattern, e.g. `SURGE`, `UNSEEN` */
  pattern?: string;
}

/**
 * What a detector reports. The scorer turns findings into alerts: severity policy, suppression,
 * exceptions, stable ids and the OCSF shape.
 */
export interface Finding {
  kind: AlertKind;
  /** What the finding is about within the function (host:port, action+resource, `rate`…); the suppression key */
  object: string;
  /** Event time at which it was raised */
  time: number;
  /** Start of the contributing evidence */
  start: number;
  /** OCSF severity_id proposed by the detector */
  severity: number;
  title: string;
  /** One sentence a person understands: observed vs baseline */
  desc: string;
  measures: Measure[];
  /** OCSF analytic type: 2 Behavioral (novelty), 3 Statistical (levels) */
  analyticType: 2 | 3;
  /** Extra numbers (cost projection, p-values, version) */
  extra?: Record<string, unknown>;
  /** OCSF evidences (api calls, endpoints) */
  evidences?: Record<string, unknown>[];
}

/** What detectors may read besides the event and profile. */
export interface DetectContext {
  pack: ModelPack;
  settings: ProfilerSettings;
  /** What other functions do (peer-group prior for novelty); absent: every item counts as unseen by peers */
  fleet?: FleetView;
}

/**
 * @example
 * const d: Detector = {
 *   id: 'error-spike',
 *   handles: ['invocation'],
 *   detect(ev, obs, profile, ctx) { return undefined; },
 * };
 */
export interface Detector {
  readonly id: AlertKind;
  /** Event kinds the detector looks at */
  readonly handles: readonly FnEvent['kind'][];
  detect(ev: FnEvent, obs: Observation, profile: FunctionProfile, ctx: DetectContext): Finding | undefined;
}
