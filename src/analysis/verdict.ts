/**
 * The verdict on a watched release: is it failing, by absolute limits or against its baseline?
 *
 * Four checks, each a one-sided test that fails only on evidence:
 * - error-rate-limit: exact binomial test of "error rate > maxErrorRate";
 * - latency-p95-limit: binomial test of "more than 5% of requests slower than maxP95Ms";
 * - error-rate-vs-baseline: Fisher's exact test of "higher than the baseline's" AND a binomial test
 *   of "higher than the baseline's upper confidence bound + minErrorRateRise";
 * - latency-vs-baseline: Mann-Whitney U test of "slower than the baseline" AND a binomial test of
 *   "p95 above the line" (the baseline p95's upper confidence bound, + minP95RiseMs and × minP95Ratio).
 * The second half of each comparison makes "a rise that matters" a tested hypothesis rather than an
 * observed difference: early in a window, when samples are small, a release 0.1 points worse than
 * its baseline often shows 0.7 points worse by chance, and would fail if the margin were only
 * compared with the observed rise.
 *
 * Repeated looks. The watch calls analyse() every few seconds over the cumulative sample since the
 * switch, ~150 looks per window. A test at 1% on every look would fail a healthy release far more
 * often than 1% of the time: each look is another chance for noise to cross the line (Argo
 * Rollouts' and Flagger's false aborts come from this and from tiny samples).
 *
 * The choice: a fixed false-failure budget, 1 − confidence per watch window, split evenly over
 * (looks + 1) × checks (Bonferroni, i.e. uniform alpha spending; the + 1 pays for the baseline's
 * confidence bounds, drawn once per window). Each check on each look fails only if its one-sided
 * p-value is below alpha = (1 − confidence) / ((looks + 1) × checks): with the defaults
 * 0.01 / (151 × 4) ≈ 1.7e-5, a z of about 4.1.
 *
 * The guarantee: if analyse() runs at most `looks` times, a release that is no worse than the
 * policy tolerates fails during its window with probability at most 1 − confidence. "No worse":
 * error rate at most maxErrorRate and at most minErrorRateRise above the baseline's; at most 5% of
 * requests slower than maxP95Ms; p95 below the line above the baseline's, or latency no slower than
 * the baseline's at all (a comparison fails only when both its tests do, so either suffices). The
 * union bound needs no independence, so it holds although consecutive looks share most of their
 * data; for the same reason it is loose, and the measured rate is far lower
 * (bench/analysis-simulation.ts). The binomial and Fisher tests are exact (conservative, being
 * discrete) but for one approximation: a latency line inside a bucket takes that bucket's requests
 * in proportion, as the interpolated p95 does, and a binomial test of such a count is conservative
 * only up to a small constant factor (Bentkus 2004, on Hoeffding's inequalities). The rank test is
 * exact up to 60 requests, a normal approximation beyond. Requests are assumed independent: errors
 * that come in bursts make the evidence look stronger than it is (the bench measures that case).
 *
 * Why not the alternatives: a sequential probability ratio test is optimal for one simple
 * alternative but needs one chosen in advance, per metric, and has no counterpart for a rank test;
 * "K failing looks in a row" has no stated guarantee and delays every detection by K intervals.
 * The price of Bonferroni is a strict per-look threshold, and at ~100 req/s it costs little: 5%
 * errors against a 0.2% baseline reach it within a few hundred requests, and +200 ms on a p95 of
 * ~130 ms within about a hundred, so detection is bounded by the minimum-sample guard and the look
 * interval more than by the threshold.
 */
import type { ReleaseSample } from "../metrics/index.js";
import { binomialUpperBound, binomialUpperTail, countAbove, fisherGreater, histogramPercentile, mannWhitneyGreater, percentileUpperBound, sum } from "./stats.js";

/** How a release is judged. Every field has a default (defaultAnalysisPolicy); see withDefaults. */
export interface AnalysisPolicy {
  /** Fails a release whose error rate is significantly above this. null: no limit. Default 0.01. */
  maxErrorRate: number | null;
  /** Fails a release whose p95 latency (ms) is significantly above this. null: no limit. Default 500. */
  maxP95Ms: number | null;
  /** Probability that a healthy release passes its whole watch window. Default 0.99. */
  confidence: number;
  /** How many times analyse runs in one watch window (watch ÷ interval); the false-failure budget is shared by them. Default 150 (5 minutes every 2 s). */
  looks: number;
  /** Rise of the error rate over the baseline's (absolute) that matters: a release fails only if its rate is surely above the baseline's by this much. Default 0.005 (half a percentage point). */
  minErrorRateRise: number;
  /** Rise of p95 over the baseline's, in ms, that matters: a release fails only if its p95 is surely above the baseline's by this much... Default 50. */
  minP95RiseMs: number;
  /** ...and by this factor. Default 1.2. */
  minP95Ratio: number;
  /** Fewest requests of the release before any check judges it. Default 30. */
  minRequests: number;
  /** Fewest baseline requests for the comparisons with the baseline. Default 100. */
  minBaselineRequests: number;
  /**
   * What the watch does when its window ends and the verdict is still inconclusive (no traffic or
   * too little). Default "stable": a quiet release is not rolled back for being quiet, and the
   * inconclusive verdict stays on record. analyse() does not read it; the watch does.
   */
  whenInconclusive: "stable" | "rollback";
}

export const defaultAnalysisPolicy: Readonly<AnalysisPolicy> = Object.freeze({
  maxErrorRate: 0.01,
  maxP95Ms: 500,
  confidence: 0.99,
  looks: 150,
  minErrorRateRise: 0.005,
  minP95RiseMs: 50,
  minP95Ratio: 1.2,
  minRequests: 30,
  minBaselineRequests: 100,
  whenInconclusive: "stable",
});

/** The policy with every field not given taken from defaultAnalysisPolicy. */
export function withDefaults(policy: Partial<AnalysisPolicy> = {}): AnalysisPolicy {
  const defined = Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
  return { ...defaultAnalysisPolicy, ...defined };
}

export type Outcome = "pass" | "fail" | "inconclusive";
export type CheckName = "error-rate-limit" | "error-rate-vs-baseline" | "latency-p95-limit" | "latency-vs-baseline" | "health-checks";

/** One check's evidence. */
export interface Check {
  name: CheckName;
  /** "inconclusive": too few requests (or no baseline) to judge. "pass": no significant, material breach. */
  outcome: Outcome;
  metric: "error-rate" | "latency-p95-ms" | "health";
  /** The release's value of the metric (p95 interpolated within its bucket); null without data. */
  observed: number | null;
  /** The baseline's value, for comparisons; null otherwise or without a baseline. */
  baseline: number | null;
  /** The line the value must surely be above to fail: the absolute limit, or for a comparison the baseline's value at its upper confidence bound plus the rise that matters. */
  limit: number | null;
  test: "binomial" | "fisher" | "mann-whitney" | "probe";
  /** The test's statistic: errors or slow requests counted, or for the rank test the probability that a release request is slower than a baseline one. */
  statistic: { name: string; value: number } | null;
  /** One-sided p-value: how likely data this bad is from a release that does not breach (for a comparison, the larger of its two tests'). */
  pValue: number | null;
  /** The per-look significance level pValue had to fall below. */
  alpha: number;
  samples: { candidate: number; baseline: number | null };
  /** One readable sentence. */
  summary: string;
}

/** The verdict at one look. */
export interface Verdict {
  outcome: Outcome;
  /** One readable sentence: the first failing check, or why nothing could be judged, or that all is well. */
  reason: string;
  checks: Check[];
  elapsedMs: number;
  /** Per-look, per-check significance level (see the comment at the top of verdict.ts). */
  alpha: number;
}

export interface AnalysisInput {
  /** The release's traffic since the switch (cumulative). */
  candidate: ReleaseSample;
  /** The previous release's traffic just before the switch; undefined for a first release. */
  baseline: ReleaseSample | undefined;
  policy: AnalysisPolicy;
  /** Time since the switch. */
  elapsedMs: number;
}

/**
 * Judges a watched release at one look. Pure: same input, same verdict.
 *
 * "fail" when any check fails; "pass" when at least one check could judge and none failed;
 * "inconclusive" when none could (no traffic, or less than the guards need) — never a pass or a
 * fail on no evidence. Without a baseline (a first release) only the absolute limits apply.
 */
export function analyse(input: AnalysisInput): Verdict {
  const { candidate, policy, elapsedMs } = input;
  const baseline = input.baseline && input.baseline.requests >= policy.minBaselineRequests ? input.baseline : undefined;
  // The budget is shared by the checks that can fail in this window; the baseline is fixed for the window, so this count is too.
  const live = (policy.maxErrorRate === null ? 0 : 1) + (policy.maxP95Ms === null ? 0 : 1) + (baseline ? 2 : 0);
  const alpha = (1 - policy.confidence) / ((Math.max(1, policy.looks) + 1) * Math.max(1, live));
  const ctx: Context = { candidate, baseline, given: input.baseline, policy, alpha };
  const checks = [
    policy.maxErrorRate === null ? undefined : errorRateLimit(ctx, policy.maxErrorRate),
    errorRateVsBaseline(ctx),
    policy.maxP95Ms === null ? undefined : latencyLimit(ctx, policy.maxP95Ms),
    latencyVsBaseline(ctx),
  ].filter((c): c is Check => c !== undefined);
  const failed = checks.filter((c) => c.outcome === "fail");
  const after = `${formatSeconds(elapsedMs)} after the switch`;
  if (failed.length > 0) {
    const more = failed.length > 1 ? ` (${failed.length - 1} more check${failed.length > 2 ? "s" : ""} failed)` : "";
    return { outcome: "fail", reason: `${failed[0]!.summary.replace(/\.$/, "")}, ${after}${more}.`, checks, elapsedMs, alpha };
  }
  if (!checks.some((c) => c.outcome === "pass")) {
    const reason =
      candidate.requests === 0
        ? `No traffic ${after}: nothing to judge yet.`
        : candidate.requests < policy.minRequests
          ? `Too little traffic to judge ${after}: ${count(candidate.requests)} requests, ${policy.minRequests} needed.`
          : `Nothing to judge ${after}: no limit is set and there is no baseline to compare with.`;
    return { outcome: "inconclusive", reason, checks, elapsedMs, alpha };
  }
  const p95 = histogramPercentile(candidate.latency, 0.95);
  const scope = baseline ? "" : input.baseline ? " (baseline too small: absolute limits only)" : " (no baseline: absolute limits only)";
  return {
    outcome: "pass",
    reason: `No check failed over ${count(candidate.requests)} requests ${after}: ${percent(rate(candidate))} errors, p95 ${p95 === null ? "n/a" : ms(p95)}${scope}.`,
    checks,
    elapsedMs,
    alpha,
  };
}

interface Context {
  candidate: ReleaseSample;
  /** The baseline, if it has enough requests to compare with. */
  baseline: ReleaseSample | undefined;
  /** The baseline as given, for the evidence. */
  given: ReleaseSample | undefined;
  policy: AnalysisPolicy;
  alpha: number;
}

function errorRateLimit({ candidate, policy, alpha }: Context, limit: number): Check {
  const observed = rate(candidate);
  const samples = { candidate: candidate.requests, baseline: null };
  const base: Base = { name: "error-rate-limit", metric: "error-rate", test: "binomial", observed: candidate.requests ? observed : null, baseline: null, limit, alpha, samples };
  const what = `Error rate ${percent(observed)} (${count(candidate.errors)} of ${count(candidate.requests)} requests)`;
  if (candidate.requests < Math.max(1, policy.minRequests)) return make(base, "inconclusive", null, null, `${what}: too few requests for the ${percent(limit)} limit.`);
  const pValue = binomialUpperTail(candidate.requests, candidate.errors, limit);
  const fails = observed > limit && pValue < alpha;
  const summary = fails
    ? `${what} is above the ${percent(limit)} limit (p = ${p(pValue)}).`
    : observed > limit
      ? `${what} is above the ${percent(limit)} limit, but not significantly yet (p = ${p(pValue)}).`
      : `${what} is within the ${percent(limit)} limit.`;
  return make(base, fails ? "fail" : "pass", { name: "errors", value: candidate.errors }, pValue, summary);
}

function errorRateVsBaseline({ candidate, baseline, given, policy, alpha }: Context): Check {
  const observed = candidate.requests ? rate(candidate) : null;
  const before = baseline ? rate(baseline) : given?.requests ? rate(given) : null;
  // The line to cross: the baseline's rate at its upper confidence bound (it is a sample too), plus the rise that matters.
  const limit = baseline ? Math.min(1, baselineBounds(baseline, alpha).errorRate + policy.minErrorRateRise) : null;
  const samples = { candidate: candidate.requests, baseline: given?.requests ?? null };
  const base: Base = { name: "error-rate-vs-baseline", metric: "error-rate", test: "fisher", observed, baseline: before, limit, alpha, samples };
  if (!baseline) return make(base, "inconclusive", null, null, noBaseline(given, policy));
  const what =
    `Error rate ${percent(observed ?? 0)} (${count(candidate.errors)} of ${count(candidate.requests)} requests)` +
    ` against the baseline's ${percent(rate(baseline))} (${count(baseline.errors)} of ${count(baseline.requests)})`;
  if (candidate.requests < Math.max(1, policy.minRequests)) return make(base, "inconclusive", null, null, `${what}: too few requests to compare.`);
  // Higher at all (Fisher, exact for two samples), and higher than the line (binomial): both, or no failure.
  const pHigher = fisherGreater(candidate, baseline);
  const pMaterial = binomialUpperTail(candidate.requests, candidate.errors, limit!);
  const pValue = Math.max(pHigher, pMaterial);
  const summary =
    pValue < alpha
      ? `${what} is significantly higher, by more than ${points(policy.minErrorRateRise)} (p = ${p(pValue)}).`
      : pHigher < alpha
        ? `${what} is significantly higher (p = ${p(pHigher)}) but not surely by ${points(policy.minErrorRateRise)} (p = ${p(pMaterial)}), the rise that matters.`
        : `${what} is not significantly higher (p = ${p(pHigher)}).`;
  return make(base, pValue < alpha ? "fail" : "pass", { name: "errors", value: candidate.errors }, pValue, summary);
}

function latencyLimit({ candidate, policy, alpha }: Context, limit: number): Check {
  const n = sum(candidate.latency);
  const observed = histogramPercentile(candidate.latency, 0.95);
  const slow = countAbove(candidate.latency, limit);
  const base: Base = { name: "latency-p95-limit", metric: "latency-p95-ms", test: "binomial", observed, baseline: null, limit, alpha, samples: { candidate: n, baseline: null } };
  const what = `p95 latency ${observed === null ? "n/a" : ms(observed)} (${count(Math.round(slow))} of ${count(n)} requests over ${ms(limit)})`;
  if (n < Math.max(1, policy.minRequests)) return make(base, "inconclusive", null, null, `${what}: too few requests for the ${ms(limit)} limit.`);
  // p95 > limit means more than 5% of requests are slower than the limit: a binomial test on that count.
  const pValue = binomialUpperTail(n, Math.ceil(slow), 0.05);
  const fails = observed! > limit && pValue < alpha;
  const summary = fails
    ? `${what} is above the ${ms(limit)} limit (p = ${p(pValue)}).`
    : observed! > limit
      ? `${what} is above the ${ms(limit)} limit, but not significantly yet (p = ${p(pValue)}).`
      : `${what} is within the ${ms(limit)} limit.`;
  return make(base, fails ? "fail" : "pass", { name: `requests over ${limit} ms`, value: Math.round(slow) }, pValue, summary);
}

function latencyVsBaseline({ candidate, baseline, given, policy, alpha }: Context): Check {
  const n = sum(candidate.latency);
  const observed = histogramPercentile(candidate.latency, 0.95);
  const before = histogramPercentile((baseline ?? given)?.latency ?? [], 0.95);
  // The line to cross: the baseline's p95 at its upper confidence bound, raised by the rise that matters.
  const bound = baseline ? baselineBounds(baseline, alpha).p95 : Infinity;
  const limit = Number.isFinite(bound) ? Math.max(bound + policy.minP95RiseMs, bound * policy.minP95Ratio) : null;
  const samples = { candidate: n, baseline: given ? sum(given.latency) : null };
  const base: Base = { name: "latency-vs-baseline", metric: "latency-p95-ms", test: "mann-whitney", observed, baseline: before, limit, alpha, samples };
  if (!baseline) return make(base, "inconclusive", null, null, noBaseline(given, policy));
  const what = `p95 latency ${observed === null ? "n/a" : ms(observed)} against the baseline's ${before === null ? "n/a" : ms(before)}`;
  if (limit === null) return make(base, "inconclusive", null, null, `${what}: the baseline's ${count(samples.baseline!)} requests are too few to bound its p95.`);
  if (n < Math.max(1, policy.minRequests)) return make(base, "inconclusive", null, null, `${what}: too few requests to compare.`);
  // Slower at all (the rank test over the whole distribution), and more than 5% of requests over
  // the line, i.e. p95 above it (binomial, counting only requests wholly above): both, or no failure.
  const ranks = mannWhitneyGreater(candidate.latency, baseline.latency);
  const over = countAbove(candidate.latency, limit);
  const pMaterial = binomialUpperTail(n, Math.ceil(over), 0.05);
  const pValue = Math.max(ranks.pValue, pMaterial);
  const slower = `a request is slower than a baseline one ${Math.round(ranks.probabilitySlower * 100)}% of the time, p = ${p(ranks.pValue)}`;
  const line = `${count(Math.round(over))} of ${count(n)} requests over ${ms(limit)}, p = ${p(pMaterial)}`;
  const summary =
    pValue < alpha
      ? `${what} is significantly higher (${slower}; ${line}).`
      : ranks.pValue < alpha
        ? `${what}: latency is significantly higher (${slower}) but p95 not surely over ${ms(limit)} (${line}), the rise that matters.`
        : `${what}: latency is not significantly higher (${slower}).`;
  return make(base, pValue < alpha ? "fail" : "pass", { name: "P(slower than baseline)", value: ranks.probabilitySlower }, pValue, summary);
}

const boundsCache = new Map<string, { errorRate: number; p95: number }>();

/**
 * The baseline's upper confidence bounds on its error rate and p95. They cost tens of microseconds
 * (bisections over binomial tails) and a window's every look asks for the same ones, so the last
 * few are remembered, by value: the answer depends on nothing else.
 */
function baselineBounds(baseline: ReleaseSample, alpha: number): { errorRate: number; p95: number } {
  const key = `${alpha}|${baseline.requests}|${baseline.errors}|${baseline.latency.join(",")}`;
  let bounds = boundsCache.get(key);
  if (!bounds) {
    bounds = { errorRate: binomialUpperBound(baseline.requests, baseline.errors, alpha), p95: percentileUpperBound(baseline.latency, 0.95, alpha) };
    if (boundsCache.size >= 64) boundsCache.delete(boundsCache.keys().next().value!);
    boundsCache.set(key, bounds);
  }
  return bounds;
}

/** What a check knows before its test. */
type Base = Pick<Check, "name" | "metric" | "test" | "observed" | "baseline" | "limit" | "alpha" | "samples">;

/** A Check with every field written out in one order: one object shape, and no object spread, which costs microseconds in the simulations' million calls. */
function make(base: Base, outcome: Outcome, statistic: Check["statistic"], pValue: number | null, summary: string): Check {
  const { name, metric, test, observed, baseline, limit, alpha, samples } = base;
  return { name, outcome, metric, observed, baseline, limit, test, statistic, pValue, alpha, samples, summary };
}

function noBaseline(given: ReleaseSample | undefined, policy: AnalysisPolicy): string {
  return given
    ? `The baseline has ${count(given.requests)} requests, fewer than the ${policy.minBaselineRequests} a comparison needs.`
    : "No baseline to compare with (a first release): only the absolute limits apply.";
}

const rate = (s: { errors: number; requests: number }) => (s.requests === 0 ? 0 : s.errors / s.requests);
const percent = (x: number) => `${Number((x * 100).toPrecision(2))}%`;
const points = (x: number) => `${Number((x * 100).toPrecision(2))} percentage points`;
const ms = (x: number) => `${Math.round(x)} ms`;
// Not toLocaleString: it costs tens of microseconds a call, and the simulations call analyse() a million times.
const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const p = (x: number) => (x < 0.001 ? x.toExponential(1) : x.toPrecision(2));
const formatSeconds = (msValue: number) => `${Math.round(msValue / 1000)} s`;
