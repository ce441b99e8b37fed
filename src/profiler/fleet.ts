/**
 * What the whole fleet has seen: for each egress destination and each API action, how many
 * functions use it. A destination new to one function but used by others (a SaaS API the account
 * talks to everywhere) is a weaker signal than one no function has ever used (`transfer.sh`, a raw
 * IP): the peer group is the prior. Bounded: beyond `cap` distinct items, new ones are not kept
 * (and so count as never seen, which errs towards alerting).
 *
 * Not every use is evidence that a destination is ordinary. A function that was compromised an hour
 * or three days ago and sent data to a drop host is, by that use, one more "function using" the drop
 * host, and a second compromised function reaching it later would look like it joined its peers. So
 * for egress the fleet keeps apart the functions that began using a destination after their own
 * learning period ("late uses"), each with the function's discovery rate at that first use and
 * whether a detector raised a finding on that use (`alerted`, noted by the engine with
 * {@link FleetProfile.markEgressAlerted}): whether such a use vouches for the destination is for the
 * detector to judge from those ({@link FleetView.establishedEgressUsers}). A use that was itself
 * flagged as news is no evidence that the destination is normal (TUNING.md, round 6). It is the rate *then* that says whether reaching a new
 * destination was ordinary for the function; its rate now has fallen with every call since, and
 * would turn a benign early adopter of a SaaS API into a stranger (TUNING.md, round 5). Uses that
 * began during learning are part of a baseline and always count. The rates at first use are not in
 * the profiles, so baseline snapshots carry them (and `alerted`) ({@link FleetProfile.lateEgressUses}, the engine's
 * snapshot); a fleet rebuilt without them takes the rate at restore.
 */
import type { FunctionRef } from '../core/events.ts';

/** A function that began using a destination after its own learning period. */
export interface LateEgressUse {
  /** The function (its profile's ref: identity is by object, so the detector can leave itself out) */
  readonly fn: FunctionRef;
  /** Its egress discovery rate just after its first use of the destination */
  readonly discovery: number;
  /**
   * Whether new-egress-host raised a finding on this function's use of the destination (at its first
   * sighting, or during the surge that followed it). Set once, never cleared.
   */
  alerted: boolean;
}

/** Read-only view detectors get. */
export interface FleetView {
  /** Functions that have connected to `hostPort` (host:port, or host when no port) */
  egressUsers(hostPort: string): number;
  /**
   * Functions that connect to `hostPort` and whose use of it is established: those that began
   * during their own learning period, and those that began later for which `vouches` holds of the
   * late use (its discovery rate at that first use, and whether it was alerted on). `self` (a
   * profile's `fn`) is never counted.
   */
  establishedEgressUsers(hostPort: string, vouches: (use: Readonly<LateEgressUse>) => boolean, self?: FunctionRef): number;
  /** Functions that have made `action` (`service:EventName`) */
  actionUsers(action: string): number;
}

/**
 * @example
 * const fleet = new FleetProfile();
 * fleet.noteEgress('api.stripe.com:443');                                 // first used while the function was learning
 * fleet.noteEgress('transfer.sh:443', { fn: victim.fn, discovery: 0.004, alerted: false }); // first used after its learning period
 * fleet.egressUsers('transfer.sh:443');                                   // 1
 * fleet.establishedEgressUsers('transfer.sh:443', (u) => !u.alerted && u.discovery > 0.1); // 0: that use vouches for nothing
 * fleet.markEgressAlerted('transfer.sh:443', victim.fn);                  // true: a detector flagged that use
 */
export class FleetProfile implements FleetView {
  private readonly egress = new Map<string, number>();
  /** Per destination, the uses begun after the function's learning period (few: most begin during learning) */
  private readonly lateEgress = new Map<string, LateEgressUse[]>();
  private readonly actions = new Map<string, number>();

  constructor(readonly cap = 100_000) {}

  /**
   * One more function uses this destination; `late` when it began using it after its own learning
   * period.
   */
  noteEgress(hostPort: string, late?: LateEgressUse): void {
    if (!bump(this.egress, hostPort, this.cap) || late === undefined) return;
    const uses = this.lateEgress.get(hostPort);
    if (uses === undefined) this.lateEgress.set(hostPort, [late]);
    else uses.push(late);
  }

  /** One more function makes this action. */
  noteAction(action: string): void {
    bump(this.actions, action, this.cap);
  }

  egressUsers(hostPort: string): number {
    return this.egress.get(hostPort) ?? 0;
  }

  establishedEgressUsers(hostPort: string, vouches: (use: Readonly<LateEgressUse>) => boolean, self?: FunctionRef): number {
    const users = this.egress.get(hostPort) ?? 0;
    const late = this.lateEgress.get(hostPort);
    if (late === undefined) return users;
    let established = users - late.length;
    for (const u of late) if (u.fn !== self && vouches(u)) established++;
    return established;
  }

  /**
   * A detector raised a finding on `fn`'s use of `hostPort`: marks that late use as alerted. False
   * when `fn` (by identity) has no late use of it (it began during learning, or beyond the cap).
   */
  markEgressAlerted(hostPort: string, fn: FunctionRef): boolean {
    const late = this.lateEgress.get(hostPort);
    if (late === undefined) return false;
    for (const u of late) {
      if (u.fn === fn) {
        u.alerted = true;
        return true;
      }
    }
    return false;
  }

  /** Every late use, with its destination (for snapshots). */
  *lateEgressUses(): IterableIterator<[hostPort: string, use: LateEgressUse]> {
    for (const [hostPort, uses] of this.lateEgress) for (const u of uses) yield [hostPort, u];
  }

  actionUsers(action: string): number {
    return this.actions.get(action) ?? 0;
  }
}

/** Counts one more user of `key`; false when the map is full and `key` is not in it. */
function bump(m: Map<string, number>, key: string, cap: number): boolean {
  const n = m.get(key);
  if (n !== undefined) m.set(key, n + 1);
  else if (m.size < cap) m.set(key, 1);
  else return false;
  return true;
}
