import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReleaseSample } from "../metrics/index.js";
import { latencyBoundsMs } from "../metrics/index.js";
import { emptySample, healthyTraffic, mulberry32, TrafficSimulator, type TrafficModel } from "./simulation.js";
import { analyse, defaultAnalysisPolicy, withDefaults, type AnalysisPolicy, type Check, type Verdict } from "./verdict.js";

const policy = withDefaults();

/** `seconds` of traffic from a model, seeded. */
function traffic(model: Partial<TrafficModel>, seconds: number, seed = 1): ReleaseSample {
  return new TrafficSimulator({ ...healthyTraffic, ...model }, mulberry32(seed)).run(seconds, emptySample());
}

/** A sample with exact counts; latency all in the bucket up to `boundMs` unless given. */
function sample(requests: number, errors: number, latency?: number[], boundMs = 50): ReleaseSample {
  const counts = latency ?? new Array<number>(latencyBoundsMs.length + 1).fill(0);
  if (!latency) counts[latencyBoundsMs.indexOf(boundMs as (typeof latencyBoundsMs)[number])] = requests;
  return { requests, errors, latency: counts, fromMs: 0, toMs: 1000 };
}

function look(candidate: ReleaseSample, baseline: ReleaseSample | undefined, elapsedMs = 10_000, p: AnalysisPolicy = policy): Verdict {
  return analyse({ candidate, baseline, policy: p, elapsedMs });
}

const approx = (actual: number, expected: number, what?: string) => assert.ok(Math.abs(actual - expected) < 1e-12 * expected, what ?? `${actual} ≈ ${expected}`);
const check = (verdict: Verdict, name: Check["name"]) => verdict.checks.find((c) => c.name === name);

/** The first look, every 2 s, at which the cumulative sample fails; null if none within `seconds`. */
function firstFailure(candidate: Partial<TrafficModel>, baseline: ReleaseSample, seconds: number, seed = 7): { atMs: number; verdict: Verdict } | null {
  const sim = new TrafficSimulator({ ...healthyTraffic, ...candidate }, mulberry32(seed));
  const cumulative = emptySample();
  for (let t = 2; t <= seconds; t += 2) {
    const verdict = look(sim.run(2, cumulative), baseline, t * 1000);
    if (verdict.outcome === "fail") return { atMs: t * 1000, verdict };
  }
  return null;
}

describe("analyse", () => {
  const baseline = traffic({}, 120, 99);

  it("fails a release with 5% errors against a 0% baseline within 15 s at 100 req/s, with the evidence", () => {
    const clean = traffic({ errorRate: 0 }, 120, 98);
    const failure = firstFailure({ errorRate: 0.05 }, clean, 15);
    assert.ok(failure, "detected within 15 s");
    const { verdict } = failure;
    const vsBaseline = check(verdict, "error-rate-vs-baseline")!;
    assert.equal(vsBaseline.outcome, "fail");
    assert.equal(vsBaseline.baseline, 0);
    assert.equal(vsBaseline.test, "fisher");
    assert.ok(vsBaseline.pValue! < vsBaseline.alpha);
    assert.ok(vsBaseline.observed! >= vsBaseline.limit!, "a rise that matters");
    assert.ok(vsBaseline.limit! > 0.005 && vsBaseline.limit! < 0.0065, `the baseline's upper bound (0 of ${clean.requests}) + 0.5 points: ${vsBaseline.limit}`);
    assert.deepEqual(vsBaseline.samples, { candidate: verdict.checks[0]!.samples.candidate, baseline: clean.requests });
    assert.equal(check(verdict, "latency-vs-baseline")!.outcome, "pass");
    assert.match(verdict.reason, /^Error rate \d.*(above the 1% limit|significantly higher).* s after the switch/);
  });

  it("fails a release with +200 ms latency on the first look with enough requests", () => {
    const failure = firstFailure({ addedLatencyMs: 200 }, baseline, 15);
    assert.ok(failure);
    assert.equal(failure.atMs, 2_000);
    const latency = check(failure.verdict, "latency-vs-baseline")!;
    assert.equal(latency.outcome, "fail");
    assert.ok(latency.observed! - latency.baseline! > 150, `p95 ${latency.observed} vs ${latency.baseline}`);
    assert.ok(latency.statistic!.value > 0.9, "most candidate requests are slower than baseline ones");
    assert.equal(check(failure.verdict, "latency-p95-limit")!.outcome, "pass", "still under the 500 ms limit: only the comparison sees it");
    assert.match(failure.verdict.reason, /^p95 latency \d+ ms against the baseline's \d+ ms is significantly higher/);
  });

  it("passes healthy, noisy releases at every look of the window", () => {
    for (let seed = 1; seed <= 5; seed++) assert.equal(firstFailure({}, traffic({}, 120, 100 + seed), 300, seed), null, `seed ${seed}`);
    const verdict = look(traffic({}, 60, 3), baseline);
    assert.equal(verdict.outcome, "pass");
    assert.deepEqual(verdict.checks.map((c) => [c.name, c.outcome]), [
      ["error-rate-limit", "pass"],
      ["error-rate-vs-baseline", "pass"],
      ["latency-p95-limit", "pass"],
      ["latency-vs-baseline", "pass"],
    ]);
    assert.match(verdict.reason, /^No check failed over [\d,]+ requests 10 s after the switch: [\d.]+% errors, p95 \d+ ms\.$/);
  });

  it("is inconclusive without traffic, and with too little, even if every request failed", () => {
    const none = look(sample(0, 0), baseline);
    assert.equal(none.outcome, "inconclusive");
    assert.equal(none.reason, "No traffic 10 s after the switch: nothing to judge yet.");
    assert.ok(none.checks.every((c) => c.outcome === "inconclusive" && c.pValue === null));
    const few = look(sample(10, 10), baseline);
    assert.equal(few.outcome, "inconclusive");
    assert.equal(few.reason, "Too little traffic to judge 10 s after the switch: 10 requests, 30 needed.");
  });

  it("applies only the absolute limits without a baseline (a first release)", () => {
    const healthy = look(sample(1000, 8), undefined);
    assert.equal(healthy.outcome, "pass");
    assert.match(healthy.reason, /\(no baseline: absolute limits only\)\.$/);
    assert.deepEqual(healthy.checks.filter((c) => c.outcome === "inconclusive").map((c) => c.name), ["error-rate-vs-baseline", "latency-vs-baseline"]);
    assert.match(check(healthy, "latency-vs-baseline")!.summary, /first release/);
    approx(healthy.alpha, 0.01 / (151 * 2), "the budget is shared by the two checks that can fail");
    const failing = look(sample(1000, 40), undefined);
    assert.equal(failing.outcome, "fail");
    assert.deepEqual(failing.checks.filter((c) => c.outcome === "fail").map((c) => c.name), ["error-rate-limit"]);
    assert.equal(look(sample(1000, 0, undefined, 2000), undefined).outcome, "fail", "p95 of 2 s breaks the 500 ms limit");
  });

  it("treats a baseline with too few requests like none, but shows it", () => {
    const verdict = look(traffic({}, 10), sample(50, 0));
    assert.equal(verdict.outcome, "pass");
    assert.match(verdict.reason, /baseline too small/);
    const vs = check(verdict, "error-rate-vs-baseline")!;
    assert.equal(vs.outcome, "inconclusive");
    assert.deepEqual([vs.baseline, vs.samples.baseline], [0, 50]);
    assert.match(vs.summary, /50 requests, fewer than the 100/);
  });

  it("does not fail a rise that is significant but too small to matter", () => {
    // 0.4% against 0.2% over two million requests each: overwhelmingly significant, but a rise of
    // 0.2 points is below the half point that matters.
    const errors = look(sample(2_000_000, 8_000), sample(2_000_000, 4_000));
    const vs = check(errors, "error-rate-vs-baseline")!;
    assert.equal(vs.outcome, "pass");
    assert.match(vs.summary, /not surely by 0.5 percentage points .*the rise that matters/);
    // 10% slower over 200 000 requests: the rank test is sure, but p95 rises by less than 50 ms.
    const slower = look(traffic({ latencyMedianMs: 55 }, 2_000, 5), traffic({}, 2_000, 6));
    const latency = check(slower, "latency-vs-baseline")!;
    assert.equal(latency.outcome, "pass");
    assert.match(latency.summary, /latency is significantly higher .* but p95 not surely over \d+ ms/);
    assert.equal(slower.outcome, "pass");
  });

  it("fails p95 above its limit only with evidence: 10% of requests over 500 ms", () => {
    const counts = new Array<number>(latencyBoundsMs.length + 1).fill(0);
    counts[latencyBoundsMs.indexOf(100)] = 900;
    counts[latencyBoundsMs.indexOf(750)] = 100;
    const verdict = look(sample(1000, 0, counts), undefined);
    const limit = check(verdict, "latency-p95-limit")!;
    assert.equal(limit.outcome, "fail");
    assert.deepEqual([limit.statistic, limit.limit], [{ name: "requests over 500 ms", value: 100 }, 500]);
    assert.ok(limit.observed! > 500 && limit.observed! <= 750);
    // Of 40 requests, 3 over the limit (7.5%): over it, but not significantly.
    counts[latencyBoundsMs.indexOf(100)] = 37;
    counts[latencyBoundsMs.indexOf(750)] = 3;
    const few = check(look(sample(40, 0, counts), undefined), "latency-p95-limit")!;
    assert.equal(few.outcome, "pass");
    assert.match(few.summary, /not significantly yet/);
  });

  it("drops a disabled limit and spends its share of the budget elsewhere", () => {
    const verdict = look(sample(1000, 40, undefined, 2000), undefined, 10_000, withDefaults({ maxErrorRate: null, maxP95Ms: null }));
    assert.deepEqual(verdict.checks.map((c) => c.name), ["error-rate-vs-baseline", "latency-vs-baseline"]);
    assert.equal(verdict.outcome, "inconclusive");
    assert.match(verdict.reason, /no limit is set and there is no baseline/);
  });

  it("splits 1 − confidence over (looks + 1) × checks", () => {
    approx(look(sample(100, 0), baseline).alpha, 0.01 / (151 * 4));
    approx(look(sample(100, 0), baseline, 0, withDefaults({ confidence: 0.999, looks: 10 })).alpha, 0.001 / (11 * 4));
  });

  it("stays finite with a billion requests", () => {
    const huge = (errors: number, shift: number) => {
      const counts = new Array<number>(latencyBoundsMs.length + 1).fill(0);
      counts[6 + shift] = 6e8;
      counts[7 + shift] = 3e8;
      counts[8 + shift] = 1e8;
      return sample(1e9, errors, counts);
    };
    const same = look(huge(2e6, 0), huge(2e6, 0));
    assert.equal(same.outcome, "pass");
    const worse = look(huge(5e7, 1), huge(2e6, 0));
    assert.equal(worse.outcome, "fail");
    for (const c of [...same.checks, ...worse.checks]) for (const v of [c.observed, c.baseline, c.limit, c.pValue]) assert.ok(v === null || Number.isFinite(v), `${c.name}: ${v}`);
  });
});

describe("withDefaults", () => {
  it("fills what is missing or undefined from the defaults", () => {
    assert.deepEqual(withDefaults({ maxP95Ms: null, minRequests: undefined }), { ...defaultAnalysisPolicy, maxP95Ms: null });
    assert.ok(Object.isFrozen(defaultAnalysisPolicy));
  });
});
