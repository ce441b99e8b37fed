/**
 * All detectors, and the ones a pack enables. Add a detector: write its module, add it here, give it
 * an entry in `models/default.yaml`.
 */
import type { FnEventKind } from '../core/events.ts';
import { costRamp } from './cost-ramp.ts';
import { denialOfWallet } from './denial-of-wallet.ts';
import { dormantWakeup } from './dormant-wakeup.ts';
import { durationAnomaly } from './duration-anomaly.ts';
import { errorSpike } from './error-spike.ts';
import { newEgressHost } from './new-egress-host.ts';
import { newResourceAccess } from './new-resource-access.ts';
import type { ModelPack } from './pack.ts';
import type { Detector } from './types.ts';

export const ALL_DETECTORS: readonly Detector[] = [
  denialOfWallet,
  costRamp,
  dormantWakeup,
  durationAnomaly,
  errorSpike,
  newEgressHost,
  newResourceAccess,
];

/**
 * Detectors enabled by the pack, grouped by the event kind they handle.
 *
 * @example
 * const byKind = enabledDetectors(defaultPack());
 * byKind.invocation.map((d) => d.id); // ['denial-of-wallet', 'cost-ramp', …]
 */
export function enabledDetectors(pack: ModelPack): Record<FnEventKind, Detector[]> {
  const on = new Set(pack.detectors.filter((d) => d.enabled).map((d) => d.id));
  const out: Record<FnEventKind, Detector[]> = { invocation: [], resource_access: [], egress: [], change: [] };
  for (const d of ALL_DETECTORS) {
    if (!on.has(d.id)) continue;
    for (const k of d.handles) out[k].push(d);
  }
  return out;
}
