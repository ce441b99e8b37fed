/**
 * Seeded synthetic series for the anomaly core's tests: every series is reproducible from its seed.
 *
 * @example
 * const rand = prng(7);
 * const noise = Array.from({ length: 100 }, () => 50 + gaussian(rand));
 */

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
