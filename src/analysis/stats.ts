/**
 * The statistics behind analysis, written out because they are small: exact one-sided tests on
 * error counts (binomial, Fisher), the Mann-Whitney rank test on fixed-bounds latency histograms,
 * and interpolated histogram percentiles. Pure functions, stable for counts up to 1e9 and beyond
 * (everything is computed in log space or as differences, never as huge products).
 */
import { latencyBoundsMs } from "../metrics/index.js";

/** ln Γ(x) for x > 0: Stirling's series from 10 up (error below 2e-14), shifted up by the recurrence below it. */
export function logGamma(x: number): number {
  if (x < 10) {
    let shift = 0;
    while (x < 10) shift += Math.log(x++);
    return logGamma(x) - shift;
  }
  const x2 = x * x;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x2 * x2 * x) - 1 / (1680 * x2 * x2 * x2 * x) + 1 / (1188 * x2 * x2 * x2 * x2 * x);
}

/** ln C(n, k). */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  if (k === 0 || k === n) return 0;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * P(Z ≥ z) for a standard normal Z, to about 1e-7 relative everywhere, far tails included
 * (Numerical Recipes' Chebyshev fit of erfc; the exp() keeps it relative, not absolute).
 */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(-x * x + poly);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * P(X ≥ x) for a discrete log-concave distribution on [lo, hi], from its log pmf at one point and
 * the ratio pmf(k + 1) / pmf(k). Sums away from the mode, where terms shrink, so a few hundred terms
 * per standard deviation suffice even for counts of 1e9: above the mode it sums the upper tail,
 * below it it sums the lower tail and subtracts (that tail is then under about one half, so
 * nothing cancels badly).
 */
function upperTail(x: number, lo: number, hi: number, mode: number, logPmf: (k: number) => number, ratio: (k: number) => number): number {
  if (x <= lo) return 1;
  if (x > hi) return 0;
  const upward = x > mode;
  let k = upward ? x : x - 1;
  let term = 1;
  let sum = 1;
  for (let steps = 0; steps < 1e7; steps++) {
    if (upward ? k >= hi : k <= lo) break;
    term *= upward ? ratio(k) : 1 / ratio(k - 1);
    k += upward ? 1 : -1;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const tail = Math.exp(logPmf(upward ? x : x - 1) + Math.log(sum));
  return upward ? Math.min(1, tail) : Math.max(0, 1 - tail);
}

/** P(X ≥ k) for X ~ Binomial(n, p): the exact one-sided binomial test of "the rate is above p". */
export function binomialUpperTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  return upperTail(
    k, 0, n, Math.floor((n + 1) * p),
    (j) => logChoose(n, j) + j * logP + (n - j) * logQ,
    (j) => ((n - j) / (j + 1)) * (p / (1 - p)),
  );
}

/**
 * The one-sided upper confidence bound on a binomial rate (Clopper-Pearson) from `k` of `n`: the
 * rate above which seeing at most `k` had probability below `alpha`. 1 without data.
 */
export function binomialUpperBound(n: number, k: number, alpha: number): number {
  if (n <= 0 || k >= n) return 1;
  let lo = k / n;
  let hi = 1;
  // P(X ≤ k) falls as the rate rises: bisect to a relative precision of 1e-6.
  while (hi - lo > 1e-6 * hi) {
    const mid = (lo + hi) / 2;
    if (1 - binomialUpperTail(n, k + 1, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Errors out of requests. */
export interface Proportion {
  errors: number;
  requests: number;
}

/**
 * Fisher's exact test, one-sided: the probability, given both samples' sizes and their errors put
 * together, that the candidate gets at least as many of those errors as it did if both releases
 * fail alike. Small means the candidate's error proportion is higher than the baseline's. Sound
 * for any counts, zero-error baselines and a handful of requests included.
 */
export function fisherGreater(candidate: Proportion, baseline: Proportion): number {
  const population = candidate.requests + baseline.requests;
  const failures = candidate.errors + baseline.errors;
  const draws = candidate.requests;
  const successes = population - failures;
  return upperTail(
    candidate.errors,
    Math.max(0, draws - successes),
    Math.min(draws, failures),
    Math.floor(((draws + 1) * (failures + 1)) / (population + 2)),
    (k) => logChoose(failures, k) + logChoose(successes, draws - k) - logChoose(population, draws),
    (k) => ((failures - k) * (draws - k)) / ((k + 1) * (successes - draws + k + 1)),
  );
}

/** The outcome of a one-sided Mann-Whitney U test. */
export interface RankTest {
  /** Candidate and baseline sample sizes. */
  n1: number;
  n2: number;
  /** U of the candidate: pairs (candidate, baseline) where the candidate is slower, ties counting half. */
  u: number;
  /** U / (n1 n2): the probability that a candidate request is slower than a baseline one, ties half. 0.5 means no difference. */
  probabilitySlower: number;
  /** Standardized U (tie- and continuity-corrected); 0 when computed exactly. */
  z: number;
  /** P(U ≥ observed) if both come from one distribution. */
  pValue: number;
  /** Whether pValue is the exact permutation probability (tiny samples) or the normal approximation. */
  exact: boolean;
}

/** Up to this many requests in all the rank test is computed exactly; beyond, the normal approximation is close. */
const exactTotal = 60;

/**
 * The Mann-Whitney U test that the candidate's latencies are larger, computed on two histograms
 * with the same bucket bounds: requests in one bucket are tied and get its midrank. For at most 60
 * requests in all the p-value is the exact permutation probability given the ties; beyond, the
 * normal approximation with tie and continuity corrections.
 */
export function mannWhitneyGreater(candidate: readonly number[], baseline: readonly number[]): RankTest {
  const n1 = sum(candidate);
  const n2 = sum(baseline);
  if (n1 === 0 || n2 === 0) return { n1, n2, u: 0, probabilitySlower: 0.5, z: 0, pValue: 1, exact: true };
  // U − n1n2/2 = ½ Σ c_i (baseline below − baseline above): no huge number minus a huge number.
  let below = 0;
  let shift = 0;
  let tieTerm = 0;
  const total = n1 + n2;
  for (let i = 0; i < Math.max(candidate.length, baseline.length); i++) {
    const c = candidate[i] ?? 0;
    const b = baseline[i] ?? 0;
    shift += (c * (below - (n2 - below - b))) / 2;
    below += b;
    const t = c + b;
    tieTerm += (t / total) * ((t - 1) / (total - 1 || 1)) * (t + 1);
  }
  const u = n1 * (n2 / 2) + shift;
  const probabilitySlower = 0.5 + shift / n1 / n2;
  if (total <= exactTotal) return { n1, n2, u, probabilitySlower, z: 0, pValue: exactRankTail(candidate, baseline, u), exact: true };
  const variance = ((n1 * n2) / 12) * Math.max(0, total + 1 - tieTerm);
  if (variance === 0) return { n1, n2, u, probabilitySlower, z: 0, pValue: 1, exact: false };
  const z = (shift - 0.5) / Math.sqrt(variance);
  return { n1, n2, u, probabilitySlower, z, pValue: normalUpperTail(z), exact: false };
}

/**
 * P(U ≥ u) over every way to pick which n1 of the pooled requests are the candidate's, bucket by
 * bucket: a dynamic programme over (candidates placed so far, 2U so far), weighted by the number of
 * ways, C(t, k), to choose k candidates among a bucket's t tied requests. Only for tiny samples
 * (n1 + n2 ≤ exactTotal), where the table is at most 61 × 1 801 cells.
 */
function exactRankTail(candidate: readonly number[], baseline: readonly number[], u: number): number {
  const n1 = sum(candidate);
  const width = 2 * n1 * sum(baseline) + 1;
  let ways = new Float64Array((n1 + 1) * width);
  ways[0] = 1;
  let pooledBelow = 0;
  for (let i = 0; i < Math.max(candidate.length, baseline.length); i++) {
    const t = (candidate[i] ?? 0) + (baseline[i] ?? 0);
    if (t === 0) continue;
    const next = new Float64Array(ways.length);
    for (let placed = 0; placed <= n1; placed++) {
      const baselineBelow = pooledBelow - placed;
      for (let twiceU = 0; twiceU < width; twiceU++) {
        const w = ways[placed * width + twiceU]!;
        if (w === 0) continue;
        for (let k = 0; k <= Math.min(t, n1 - placed); k++) {
          next[(placed + k) * width + twiceU + k * (2 * baselineBelow + t - k)]! += w * Math.exp(logChoose(t, k));
        }
      }
    }
    ways = next;
    pooledBelow += t;
  }
  let tail = 0;
  let all = 0;
  for (let twiceU = 0; twiceU < width; twiceU++) {
    const w = ways[n1 * width + twiceU]!;
    all += w;
    if (twiceU >= 2 * u - 1e-9) tail += w;
  }
  return all === 0 ? 1 : Math.min(1, tail / all);
}

/**
 * The q-quantile of a histogram with latencyBoundsMs, interpolated linearly inside its bucket (as
 * Prometheus's histogram_quantile does); null when empty. The open last bucket answers the top
 * bound: "at least that".
 *
 * Not metrics' histogramQuantile, which answers a bucket's upper bound: good for display, but its
 * jumps of a whole bucket (200 → 300 ms) would let a tiny shift near a bound look like a big rise.
 */
export function histogramPercentile(counts: readonly number[], q: number): number | null {
  const total = sum(counts);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      if (i >= latencyBoundsMs.length) return latencyBoundsMs.at(-1)!;
      const lower = i === 0 ? 0 : latencyBoundsMs[i - 1]!;
      return lower + ((latencyBoundsMs[i]! - lower) * Math.max(0, rank - seen)) / c;
    }
    seen += c;
  }
  return latencyBoundsMs.at(-1)!;
}

/**
 * An upper confidence bound on the true q-quantile from a histogram: the order statistic of rank r,
 * the smallest r with P(Binomial(n, q) ≥ r) ≤ alpha (the true quantile lies below it unless at least
 * r requests fell below the quantile), read from the histogram by interpolation. Infinity when the
 * sample is too small for any rank to qualify (for p95 at alpha 1e-5, under about 220 requests).
 */
export function percentileUpperBound(counts: readonly number[], q: number, alpha: number): number {
  const n = sum(counts);
  if (n === 0 || binomialUpperTail(n, n, q) > alpha) return Infinity;
  let lo = Math.max(1, Math.floor(q * n));
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialUpperTail(n, mid, q) <= alpha) hi = mid;
    else lo = mid + 1;
  }
  return histogramPercentile(counts, hi / n)!;
}

/**
 * Requests slower than `limitMs`, read from the histogram as histogramPercentile reads it: every
 * request of the buckets above the limit, and of the bucket the limit cuts, the share above the cut
 * (requests spread evenly inside a bucket). So "more than 5% over the limit" and "interpolated p95
 * over the limit" say the same thing. A whole number when the limit is a bucket bound; a limit
 * inside the open last bucket counts none of it.
 */
export function countAbove(counts: readonly number[], limitMs: number): number {
  let above = 0;
  for (let i = 0; i < counts.length; i++) {
    const lower = i === 0 ? 0 : latencyBoundsMs[i - 1]!;
    const upper = i < latencyBoundsMs.length ? latencyBoundsMs[i]! : Infinity;
    if (lower >= limitMs) above += counts[i]!;
    else if (upper > limitMs && upper !== Infinity) above += (counts[i]! * (upper - limitMs)) / (upper - lower);
  }
  return above;
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
