/**
 * Simulated watch windows, for the analysis tests and bench/analysis-simulation.ts: a seeded PRNG,
 * a traffic model (requests, errors and a lognormal latency bucketed like the proxy's histogram),
 * and a watch that calls analyse() on the cumulative sample every interval. Not part of the
 * analysis API.
 */
import type { ReleaseSample } from "../metrics/index.js";
import { latencyBoundsMs } from "../metrics/index.js";
import { normalUpperTail } from "./stats.js";
import { analyse, type AnalysisPolicy, type Verdict } from "./verdict.js";

/** mulberry32: a tiny, fast, seeded PRNG with uniform output in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a release behaves, second by second. */
export interface TrafficModel {
  /** Mean requests per second (Poisson). */
  rps: number;
  /** Probability that a request fails. */
  errorRate: number;
  /** Latency is lognormal with this median and log-space sigma, plus addedLatencyMs. */
  latencyMedianMs: number;
  latencySigma: number;
  addedLatencyMs: number;
  /** When set, each second's error rate is errorRate × Gamma(shape, 1/shape): errors come in bursts (overdispersion). */
  burstShape?: number;
}

/** A healthy service: 100 req/s, 0.2% errors, latency median 50 ms (p95 ≈ 134 ms, p99 ≈ 200 ms). */
export const healthyTraffic: Readonly<TrafficModel> = Object.freeze({ rps: 100, errorRate: 0.002, latencyMedianMs: 50, latencySigma: 0.6, addedLatencyMs: 0 });

/** Draws seconds of traffic from a model. */
export class TrafficSimulator {
  #model: TrafficModel;
  #random: () => number;
  /** P(latency ≤ bound) for each bound: a request's bucket is the first whose cumulative probability exceeds a uniform draw. */
  #cumulative: number[];

  constructor(model: TrafficModel, random: () => number) {
    this.#model = model;
    this.#random = random;
    const mu = Math.log(model.latencyMedianMs);
    this.#cumulative = latencyBoundsMs.map((b) => (b <= model.addedLatencyMs ? 0 : 1 - normalUpperTail((Math.log(b - model.addedLatencyMs) - mu) / model.latencySigma)));
  }

  /** Adds `seconds` seconds of traffic to `into` (counts add up). */
  run(seconds: number, into: ReleaseSample): ReleaseSample {
    const { rps, errorRate, burstShape } = this.#model;
    for (let s = 0; s < seconds; s++) {
      const requests = this.#poisson(rps);
      const rate = burstShape === undefined ? errorRate : Math.min(1, errorRate * this.#gamma(burstShape) / burstShape);
      for (let r = 0; r < requests; r++) {
        if (this.#random() < rate) into.errors++;
        const u = this.#random();
        let bucket = 0;
        while (bucket < this.#cumulative.length && u >= this.#cumulative[bucket]!) bucket++;
        into.latency[bucket]!++;
      }
      into.requests += requests;
      into.toMs += 1000;
    }
    return into;
  }

  #normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.#random())) * Math.cos(2 * Math.PI * this.#random());
  }

  #poisson(mean: number): number {
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.#normal()));
    let k = 0;
    for (let p = this.#random(), limit = Math.exp(-mean); p > limit; p *= this.#random()) k++;
    return k;
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang, boosted for shape < 1. */
  #gamma(shape: number): number {
    if (shape < 1) return this.#gamma(shape + 1) * Math.pow(1 - this.#random(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.#normal();
      const v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(1 - this.#random()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }
}

export function emptySample(fromMs = 0): ReleaseSample {
  return { requests: 0, errors: 0, latency: new Array<number>(latencyBoundsMs.length + 1).fill(0), fromMs, toMs: fromMs };
}

export interface WatchSimulation {
  baseline: TrafficModel;
  candidate: TrafficModel;
  /** Seconds of the previous release's traffic before the switch that form the baseline. */
  baselineSeconds: number;
  watchSeconds: number;
  intervalSeconds: number;
  policy: AnalysisPolicy;
  random: () => number;
}

/** One simulated watch window: analyse() every interval over the sample since the switch, until a fail or the end. */
export function simulateWatch(sim: WatchSimulation): { failedAtMs: number | null; verdict: Verdict } {
  const baseline = new TrafficSimulator(sim.baseline, sim.random).run(sim.baselineSeconds, emptySample(-sim.baselineSeconds * 1000));
  const traffic = new TrafficSimulator(sim.candidate, sim.random);
  const candidate = emptySample();
  let verdict: Verdict | undefined;
  for (let t = sim.intervalSeconds; t <= sim.watchSeconds; t += sim.intervalSeconds) {
    traffic.run(sim.intervalSeconds, candidate);
    verdict = analyse({ candidate, baseline, policy: sim.policy, elapsedMs: t * 1000 });
    if (verdict.outcome === "fail") return { failedAtMs: t * 1000, verdict };
  }
  return { failedAtMs: null, verdict: verdict! };
}
