/**
 * The engine: profile → detect → score for normalized events. Holds one profile per function
 * (bounded by an LRU), runs the detectors that handle each event kind, and hands findings to the
 * scorer. Pure with respect to I/O and clock: time is the events' time.
 */
import { LRUCache } from 'lru-cache';
import type { Alert } from '../core/alert.ts';
import { functionKey, type FnEvent, type FunctionRef } from '../core/events.ts';
import { defaultPack, type ModelPack } from '../detectors/pack.ts';
import { enabledDetectors } from '../detectors/registry.ts';
import type { DetectContext, Detector } from '../detectors/types.ts';
import { DEFAULT_PROFILER_SETTINGS, FunctionProfile, type Observation, type ProfilerSettings } from '../profiler/profile.ts';
import { FleetProfile } from '../profiler/fleet.ts';
import { flatString } from '../profiler/flat-string.ts';
import { BASELINE_SCHEMA, type BaselineFleet, type BaselineSnapshot } from '../profiler/snapshot.ts';
import { Scorer } from '../scorer/scorer.ts';

export interface EngineOptions {
  /** Detector pack (default: models/default.yaml) */
  models?: ModelPack;
  /** Start from saved baselines */
  baseline?: BaselineSnapshot;
  /** Most functions profiled at once; the least recently seen are evicted beyond it */
  maxFunctions?: number;
  /** Called after each event is profiled and scored, with the function's profile (reports, metrics) */
  observer?: (ev: FnEvent, profile: FunctionProfile) => void;
}

/** Settings the profiler takes from a pack. */
export function profilerSettings(pack: ModelPack): ProfilerSettings {
  return {
    ...DEFAULT_PROFILER_SETTINGS,
    learningMs: pack.learning.hours * 3_600_000,
    minInvocationsForDuration: pack.learning.minInvocationsForDuration,
    relearnMs: pack.deploy.relearnMinutes * 60_000,
  };
}

/**
 * @example
 * const engine = new Engine({}, (alert) => console.log(alert.finding_info.desc));
 * engine.observe(invocationEvent);
 */
export class Engine {
  readonly pack: ModelPack;
  readonly settings: ProfilerSettings;
  readonly scorer: Scorer;
  /** Profiles by `functionKey`, least recently seen evicted beyond `maxFunctions` */
  readonly profiles: LRUCache<string, FunctionProfile>;
  /** Which functions use which egress destinations and API actions (the peer-group prior) */
  readonly fleet = new FleetProfile();
  /**
   * function name → key (or keys) of profiles with that name, to join identities missing account or
   * region. Almost every name has one key: held as the string itself, not a one-element array.
   *
   * Null until the first partial identity (no account or no region) is seen, in an event or a
   * restored baseline: a join always involves one, since two full identities that are compatible
   * have the same key. Most fleets never see one, and the index would cost a `Map` entry (~37 bytes)
   * a function. When one arrives the index is built from the profiles in the order they were taken
   * in (`FunctionProfile.order`), which is the order it would have had if kept all along.
   */
  private byName: Map<string, string | string[]> | null = null;
  /** Profiles taken in so far (numbers `FunctionProfile.order`) */
  private taken = 0;
  private readonly keys = new WeakMap<FunctionRef, { name: string; account?: string; region?: string; key: string }>();
  private readonly detectors: Record<FnEvent['kind'], Detector[]>;
  private readonly ctx: DetectContext;
  private readonly obs: Observation = { closedHours: 0, isNew: false, isNewAction: false, durationExceeded: false };
  private readonly taps = new Set<(a: Alert) => void>();
  private readonly observer?: (ev: FnEvent, profile: FunctionProfile) => void;
  watermark = -Infinity;
  evicted = 0;

  constructor(opts: EngineOptions, emit: (a: Alert) => void) {
    this.pack = opts.models ?? defaultPack();
    this.settings = profilerSettings(this.pack);
    this.detectors = enabledDetectors(this.pack);
    this.ctx = { pack: this.pack, settings: this.settings, fleet: this.fleet };
    this.scorer = new Scorer(this.pack, (a) => {
      emit(a);
      for (const t of this.taps) t(a);
    });
    const maxFunctions = opts.maxFunctions ?? 1_000_000;
    if (!Number.isSafeInteger(maxFunctions) || maxFunctions < 1) throw new RangeError(`maxFunctions must be a positive integer, got ${maxFunctions}`);
    // Bounded by `maxSize` (each profile counts 1), not `max`: lru-cache preallocates its tables for
    // `max` entries (~28 MB and ~110 ms at 1M), while with `maxSize` they grow with the profiles.
    this.profiles = new LRUCache<string, FunctionProfile>({
      maxSize: maxFunctions,
      sizeCalculation: () => 1,
      dispose: (_p, key, reason) => {
        if (reason === 'evict') this.evicted++;
        this.forgetName(key);
      },
    });
    this.observer = opts.observer;
    if (opts.baseline) this.restore(opts.baseline);
  }

  /** Adds a listener for alerts; returns its remover. */
  tap(fn: (a: Alert) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Profiles the event and runs the detectors that handle its kind. */
  observe(ev: FnEvent): void {
    if (ev.time > this.watermark) this.watermark = ev.time;
    const p = this.resolve(ev.fn, ev.time);
    const obs = this.obs;
    switch (ev.kind) {
      case 'invocation':
        p.observeInvocation(ev, this.settings, obs);
        break;
      case 'egress':
        p.observeEgress(ev, obs);
        break;
      case 'resource_access':
        p.observeResource(ev, this.settings, obs);
        break;
      case 'change':
        p.observeChange(ev, this.settings);
        break;
    }
    const ds = this.detectors[ev.kind];
    let egressFinding: string | undefined;
    for (let i = 0; i < ds.length; i++) {
      const f = ds[i]!.detect(ev, obs, p, this.ctx);
      if (f) {
        this.scorer.accept(f, p.fn);
        if (f.kind === 'new-egress-host') egressFinding = f.object;
      }
    }
    // The fleet learns after detection, so detectors see what *other* functions do.
    if (obs.isNew && ev.kind !== 'invocation' && ev.kind !== 'change') this.noteFleet(ev, p);
    // After noteFleet, so a finding on a first use marks the late use just noted: a use that was
    // itself news vouches for nothing (new-egress-host's lateUseVouches).
    if (egressFinding !== undefined) this.fleet.markEgressAlerted(egressFinding, p.fn);
    this.observer?.(ev, p);
  }

  /** Event time moved on with no events. Detectors are event-driven; this only moves the watermark. */
  advance(t: number): void {
    if (t > this.watermark) this.watermark = t;
  }

  /** End of input. Findings are raised as evidence arrives, so there is nothing pending to flush. */
  finish(): void {}

  /**
   * `functionKey(fn)`, remembered per ref object. Parsers reuse one ref per function, and a key built
   * afresh is a new string that the profile map must hash again on every event (~0.25 µs); the
   * cached string keeps its hash. Checked against the ref's fields in case a ref is changed in place.
   */
  private keyOf(fn: FunctionRef): string {
    const c = this.keys.get(fn);
    if (c !== undefined && c.name === fn.name && c.account === fn.account && c.region === fn.region) return c.key;
    // Flat: the key is kept as long as the profile, and a template literal is a cons-string chain.
    const key = flatString(functionKey(fn));
    this.keys.set(fn, { name: fn.name, account: fn.account, region: fn.region, key });
    return key;
  }

  /** Finds or creates the profile for a function, joining partial identities by name. */
  private resolve(fn: FunctionRef, t: number): FunctionProfile {
    const key = this.keyOf(fn);
    const hit = this.profiles.get(key);
    if (hit) return hit;
    if (this.byName === null && (!fn.account || !fn.region)) this.indexNames();
    const named = this.byName?.get(fn.name);
    if (named !== undefined) {
      for (const k of typeof named === 'string' ? [named] : named) {
        const p = this.profiles.get(k);
        if (!p) continue;
        if (compatible(p.fn, fn)) {
          // Upgrade a partial identity (no account/region) when a fuller one arrives.
          if ((fn.account && !p.fn.account) || (fn.region && !p.fn.region)) {
            p.fn.account ??= fn.account;
            p.fn.region ??= fn.region;
            const nk = flatString(functionKey(p.fn));
            if (nk !== k) {
              this.profiles.delete(k);
              this.profiles.set(nk, p);
              this.rememberName(fn.name, nk);
            }
          }
          return p;
        }
      }
    }
    const p = new FunctionProfile(fn, t, this.settings);
    this.take(key, p);
    return p;
  }

  /** Adds a profile to the table (and the name index, once there is one). */
  private take(key: string, p: FunctionProfile): void {
    p.order = ++this.taken;
    this.profiles.set(key, p);
    this.rememberName(p.fn.name, key);
  }

  /** Builds the name index from the profiles held, in the order they were taken in. */
  private indexNames(): void {
    const held: [string, FunctionProfile][] = [];
    for (const key of this.profiles.keys()) held.push([key, this.profiles.peek(key)!]);
    held.sort((a, b) => a[1].order - b[1].order);
    this.byName = new Map();
    for (const [key, p] of held) this.rememberName(p.fn.name, key);
  }

  private rememberName(name: string, key: string): void {
    if (this.byName === null) return;
    const ks = this.byName.get(name);
    if (ks === undefined) this.byName.set(name, key);
    else if (typeof ks === 'string') {
      if (ks !== key) this.byName.set(name, [ks, key]);
    } else if (!ks.includes(key)) ks.push(key);
  }

  private forgetName(key: string): void {
    if (this.byName === null) return;
    const name = key.slice(key.indexOf('/', key.indexOf('/') + 1) + 1);
    const ks = this.byName.get(name);
    if (ks === undefined) return;
    if (typeof ks === 'string') {
      if (ks === key) this.byName.delete(name);
      return;
    }
    const i = ks.indexOf(key);
    if (i >= 0) ks.splice(i, 1);
    if (ks.length === 0) this.byName.delete(name);
    else if (ks.length === 1) this.byName.set(name, ks[0]!);
  }

  /** The learned baselines. */
  snapshot(): BaselineSnapshot {
    const functions: Record<string, unknown>[] = [];
    for (const p of this.profiles.values()) functions.push(p.toJSON());
    // The rates at late first uses are not in the profiles: without them a restore would judge
    // those uses by the rate at restore (fleet.ts). Only uses by functions still held are restorable.
    const lateEgress: BaselineFleet['lateEgress'] = [];
    for (const [hostPort, use] of this.fleet.lateEgressUses()) {
      const key = functionKey(use.fn);
      if (this.profiles.peek(key)?.fn === use.fn) lateEgress.push([key, hostPort, use.discovery, use.alerted]);
    }
    // In a fixed order, so equal states write equal snapshots however the fleet was rebuilt.
    lateEgress.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    return {
      schema: BASELINE_SCHEMA,
      watermark: Number.isFinite(this.watermark) ? this.watermark : 0,
      createdAt: new Date().toISOString(),
      functions,
      fleet: { lateEgress },
    };
  }

  private noteFleet(ev: FnEvent, p: FunctionProfile): void {
    if (ev.kind === 'egress') {
      const key = ev.port !== undefined ? `${ev.host}:${ev.port}` : ev.host;
      // A function that began using the destination after its learning period is noted with its
      // discovery rate now, at that first use: such a use is not by itself evidence that the
      // destination is ordinary, and the detector judges whether it vouches from that rate (fleet.ts).
      if (p.egress.has(key)) this.fleet.noteEgress(key, p.isTrusted(ev.time, this.settings) ? { fn: p.fn, discovery: p.egress.discoveryRate(), alerted: false } : undefined);
    } else if (ev.kind === 'resource_access' && this.obs.isNewAction && p.actions.has(ev.action)) {
      this.fleet.noteAction(ev.action);
    }
  }

  private restore(snap: BaselineSnapshot): void {
    // Late first uses (rate then, alerted or not), by function key and destination (absent in older
    // snapshots; one without the fourth field predates `alerted` and is restored as not alerted).
    const lateUses = new Map<string, Map<string, { discovery: number; alerted: boolean }>>();
    for (const [fnKey, hostPort, discovery, alerted] of snap.fleet?.lateEgress ?? []) {
      let byHost = lateUses.get(fnKey);
      if (byHost === undefined) lateUses.set(fnKey, (byHost = new Map()));
      byHost.set(hostPort, { discovery, alerted: alerted === true });
    }
    // Snapshots list the most recently seen first: set them oldest first so the LRU order survives.
    for (let i = snap.functions.length - 1; i >= 0; i--) {
      const p = FunctionProfile.fromJSON(snap.functions[i]!, this.settings);
      // As in noteFleet, late or not from each destination's first-seen time, with the rate at that
      // first use when the snapshot kept it and the rate now when it did not (an older snapshot).
      const uses = lateUses.get(functionKey(p.fn));
      for (const [key, [first]] of p.egress.items) {
        if (!p.isTrusted(first, this.settings)) {
          this.fleet.noteEgress(key);
          continue;
        }
        const kept = uses?.get(key);
        this.fleet.noteEgress(key, { fn: p.fn, discovery: kept?.discovery ?? p.egress.discoveryRate(), alerted: kept?.alerted ?? false });
      }
      for (const action of p.actions.keys()) this.fleet.noteAction(action);
      const key = flatString(functionKey(p.fn));
      if (this.byName === null && (!p.fn.account || !p.fn.region)) this.indexNames();
      this.take(key, p);
    }
    if (snap.watermark > this.watermark) this.watermark = snap.watermark;
  }
}

function compatible(a: FunctionRef, b: FunctionRef): boolean {
  return (!a.account || !b.account || a.account === b.account) && (!a.region || !b.region || a.region === b.region);
}
