/**
 * Dollar projections from the pack's price table: requests + GB-seconds (billed duration × memory),
 * by architecture. Used by denial-of-wallet and cost-ramp to say what is at stake.
 */
import type { FunctionProfile } from '../profiler/profile.ts';
import type { ModelPack } from './pack.ts';

/** Memory assumed when no REPORT has told it (Lambda's default). */
const DEFAULT_MEMORY_MB = 128;

/**
 * Cost in USD of one invocation of this function at its learned billed duration and memory.
 *
 * @example
 * usdPerInvocation(profile, pack) // e.g. 2.1e-6 for 128 MB × 100 ms on x86_64
 */
export function usdPerInvocation(p: FunctionProfile, pack: ModelPack, architecture: 'x86_64' | 'arm64' = 'x86_64'): number {
  const gbS = (p.billedMs / 1000) * ((p.memorySizeMB ?? DEFAULT_MEMORY_MB) / 1024);
  return pack.pricing.perMillionRequests / 1e6 + gbS * pack.pricing.perGbSecond[architecture];
}

/** Formats dollars for explanations: $0.0042, $3.10, $1,240. */
export function usd(x: number): string {
  if (x >= 100) return `$${Math.round(x).toLocaleString('en-US')}`;
  if (x >= 1) return `$${x.toFixed(2)}`;
  return `$${x.toPrecision(2)}`;
}

/** Formats a count or rate compactly for explanations. */
export function num(x: number): string {
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(0);
  if (x >= 1) return x.toFixed(1);
  return x.toPrecision(2);
}
