/**
 * What the whole fleet has seen: for each egress destination and each API action, how many
 * functions use it. A destination new to one function but used by others (a SaaS API the account
 * talks to everywhere) is a weaker signal than one no function has ever used (`transfer.sh`, a raw
 * IP): the peer group is the prior. Bounded: beyond `cap` distinct items, new ones are not kept
 * (and so count as never seen, which errs towards alerting).
 */

/** Read-only view detectors get. */
export interface FleetView {
  /** Functions that have connected to `hostPort` (host:port, or host when no port) */
  egressUsers(hostPort: string): number;
  /** Functions that have made `action` (`service:EventName`) */
  actionUsers(action: string): number;
}

/**
 * @example
 * const fleet = new FleetProfile();
 * fleet.noteEgress('api.stripe.com:443');
 * fleet.egressUsers('api.stripe.com:443'); // 1
 */
export class FleetProfile implements FleetView {
  private readonly egress = new Map<string, number>();
  private readonly actions = new Map<string, number>();

  constructor(readonly cap = 100_000) {}

  /** One more function uses this destination. */
  noteEgress(hostPort: string): void {
    bump(this.egress, hostPort, this.cap);
  }

  /** One more function makes this action. */
  noteAction(action: string): void {
    bump(this.actions, action, this.cap);
  }

  egressUsers(hostPort: string): number {
    return this.egress.get(hostPort) ?? 0;
  }

  actionUsers(action: string): number {
    return this.actions.get(action) ?? 0;
  }
}

function bump(m: Map<string, number>, key: string, cap: number): void {
  const n = m.get(key);
  if (n !== undefined) m.set(key, n + 1);
  else if (m.size < cap) m.set(key, 1);
}
