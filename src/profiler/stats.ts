/**
 * Tail probabilities for the count models. Pure functions; all work in log space so that tiny
 * probabilities (1e-12) stay representable.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log Γ(x) by Lanczos (g=7); accurate to ~1e-13 for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return LOG_SQRT_2PI + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * P(X ≥ k) for X ~ Poisson(λ), as a natural log. Sums the upper tail term by term from k (the terms
 * fall geometrically once k > λ, so a few dozen terms suffice); for k ≤ λ the tail is ≥ ~0.5 and we
 * return log(1) rather than sum a long way.
 *
 * @example
 * Math.exp(poissonLogTail(10, 1)) // ≈ 1.1e-7
 */
export function poissonLogTail(k: number, lambda: number): number {
  if (k <= 0) return 0;
  if (lambda <= 0) return -Infinity;
  if (k <= lambda) return 0;
  let logTerm = k * Math.log(lambda) - lambda - logGamma(k + 1);
  let sum = 1;
  let term = 1;
  for (let i = k + 1; i < k + 1000; i++) {
    term *= lambda / i;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return Math.min(0, logTerm + Math.log(sum));
}

/**
 * P(X ≥ k) for an over-dispersed count with mean λ and variance λ·D (D ≥ 1): a Poisson tail on the
 * counts scaled by 1/D. Scaling keeps the mean/variance ratio right, which is what matters for a
 * tail threshold on bursty functions, without a full negative-binomial fit.
 */
export function overdispersedLogTail(k: number, lambda: number, dispersion: number): number {
  const d = Math.max(1, dispersion);
  return poissonLogTail(Math.floor(k / d), lambda / d);
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p), as a natural log.
 *
 * @example
 * Math.exp(binomialLogTail(4, 4, 0.01)) // 1e-8
 */
export function binomialLogTail(k: number, n: number, p: number): number {
  if (k <= 0) return 0;
  if (k > n) return -Infinity;
  if (p <= 0) return -Infinity;
  if (p >= 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const lnf = logGamma(n + 1);
  let max = -Infinity;
  const terms: number[] = [];
  for (let i = k; i <= n; i++) {
    const t = lnf - logGamma(i + 1) - logGamma(n - i + 1) + i * lp + (n - i) * lq;
    terms.push(t);
    if (t > max) max = t;
  }
  let s = 0;
  for (const t of terms) s += Math.exp(t - max);
  return Math.min(0, max + Math.log(s));
}

/** log10 of a natural-log probability, for messages ("p ≈ 1e-9"). */
export function log10p(logp: number): number {
  return logp / Math.LN10;
}
