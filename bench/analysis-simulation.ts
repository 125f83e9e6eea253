/**
 * Release analysis on simulated watch windows: how often it rolls back a healthy release, and how
 * fast it catches a faulty one.
 *
 *   node --import tsx bench/analysis-simulation.ts [--healthy 10000] [--faulty 1000] [--seed 1] [--baseline 60]
 *
 * Each run is one watch window as the engine runs it: analyse() every 2 s for 5 minutes over the
 * cumulative sample since the switch, against a baseline of the previous release's last
 * `--baseline` seconds, with the default policy. Traffic: Poisson request counts, binomial errors
 * (or bursty ones), lognormal latency (median 50 ms, p95 ≈ 134 ms) in the proxy's histogram buckets.
 * Detection time counts from the switch, so it includes up to one look interval of waiting; the
 * engine adds the time to switch back. Not a test: it prints figures and asserts nothing.
 */
import { healthyTraffic, mulberry32, simulateWatch, type TrafficModel } from "../src/analysis/simulation.js";
import { withDefaults } from "../src/analysis/index.js";
import { median, percentile } from "./stats.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const healthyRuns = Number(args.get("healthy") ?? 10_000);
const faultyRuns = Number(args.get("faulty") ?? 1_000);
const seed = Number(args.get("seed") ?? 1);
const baselineSeconds = Number(args.get("baseline") ?? 60);

const policy = withDefaults();
const random = mulberry32(seed);

interface Scenario {
  name: string;
  baseline: TrafficModel;
  candidate: TrafficModel;
  runs: number;
}

const quiet = { ...healthyTraffic, rps: 5 };
const bursty = { ...healthyTraffic, burstShape: 0.3 };
const healthy: Scenario[] = [
  { name: "identical to its baseline, 100 req/s", baseline: healthyTraffic, candidate: healthyTraffic, runs: healthyRuns },
  { name: "errors in bursts (per-second rate ~ Gamma, shape 0.3)", baseline: bursty, candidate: bursty, runs: Math.ceil(healthyRuns / 10) },
  { name: "a little worse: 0.3% errors, latency +10%", baseline: healthyTraffic, candidate: { ...healthyTraffic, errorRate: 0.003, latencyMedianMs: 55 }, runs: Math.ceil(healthyRuns / 10) },
  { name: "quiet service, 5 req/s", baseline: quiet, candidate: quiet, runs: Math.ceil(healthyRuns / 10) },
];
const faulty: Scenario[] = [
  { name: "5% errors, 100 req/s", baseline: healthyTraffic, candidate: { ...healthyTraffic, errorRate: 0.05 }, runs: faultyRuns },
  { name: "+200 ms latency, 100 req/s", baseline: healthyTraffic, candidate: { ...healthyTraffic, addedLatencyMs: 200 }, runs: faultyRuns },
  { name: "5% errors, baseline 0%", baseline: { ...healthyTraffic, errorRate: 0 }, candidate: { ...healthyTraffic, errorRate: 0.05 }, runs: faultyRuns },
  { name: "2% errors, 100 req/s", baseline: healthyTraffic, candidate: { ...healthyTraffic, errorRate: 0.02 }, runs: faultyRuns },
  { name: "+100 ms latency, 100 req/s", baseline: healthyTraffic, candidate: { ...healthyTraffic, addedLatencyMs: 100 }, runs: faultyRuns },
  { name: "5% errors, quiet service 5 req/s", baseline: quiet, candidate: { ...quiet, errorRate: 0.05 }, runs: Math.ceil(faultyRuns / 5) },
  { name: "+200 ms latency, quiet service 5 req/s", baseline: quiet, candidate: { ...quiet, addedLatencyMs: 200 }, runs: Math.ceil(faultyRuns / 5) },
];

const watch = (s: Scenario) =>
  simulateWatch({ baseline: s.baseline, candidate: s.candidate, baselineSeconds, watchSeconds: 300, intervalSeconds: 2, policy, random });

console.log(`analysis simulation: 5-minute watch, a look every 2 s (150 looks), baseline = last ${baselineSeconds} s before the switch, seed ${seed}`);
console.log(`policy: confidence ${policy.confidence} per window → alpha ${((1 - policy.confidence) / (policy.looks * 4)).toExponential(2)} per look and check\n`);

console.log("healthy releases                                          false rollbacks");
for (const s of healthy) {
  const started = performance.now();
  let failed = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < s.runs; i++) {
    const run = watch(s);
    if (run.failedAtMs === null) continue;
    failed++;
    const check = run.verdict.checks.find((c) => c.outcome === "fail")!.name;
    reasons.set(check, (reasons.get(check) ?? 0) + 1);
  }
  // With no failure in n runs, the 95% upper confidence bound on the rate is about 3/n (rule of three).
  const bound = failed === 0 ? ` (95% upper bound ${((3 / s.runs) * 100).toFixed(2)}%)` : ` by ${[...reasons].map(([k, n]) => `${k} ×${n}`).join(", ")}`;
  console.log(`  ${s.name.padEnd(56)}${String(failed).padStart(5)} of ${s.runs} = ${((failed / s.runs) * 100).toFixed(2)}%${bound}  [${((performance.now() - started) / 1000).toFixed(1)} s]`);
}

console.log("\nfaulty releases                                      detected   median    p95      max");
for (const s of faulty) {
  const times: number[] = [];
  let missed = 0;
  for (let i = 0; i < s.runs; i++) {
    const { failedAtMs } = watch(s);
    if (failedAtMs === null) missed++;
    else times.push(failedAtMs / 1000);
  }
  const sec = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} s` : "n/a").padStart(8);
  console.log(`  ${s.name.padEnd(48)}${`${s.runs - missed}/${s.runs}`.padStart(10)} ${sec(median(times))} ${sec(percentile(times, 0.95))} ${sec(Math.max(...times))}`);
}
