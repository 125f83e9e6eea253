import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { healthyTraffic, mulberry32, simulateWatch, type TrafficModel } from "./simulation.js";
import { withDefaults } from "./verdict.js";

/**
 * Simulated watch windows as the engine will run them: 5 minutes after the switch, analyse() every
 * 2 s over the cumulative sample, at ~100 req/s, against a baseline of the previous release's last
 * minute. Healthy releases behave exactly like their baseline (0.2% binomial errors, lognormal
 * latency with p95 ≈ 134 ms, Poisson request counts); faulty ones have 5% errors or +200 ms.
 * bench/analysis-simulation.ts runs a larger version with harsher noise.
 */
describe("simulated watch windows", () => {
  const policy = withDefaults();
  const watch = (candidate: TrafficModel, random: () => number) =>
    simulateWatch({ baseline: healthyTraffic, candidate, baselineSeconds: 60, watchSeconds: 300, intervalSeconds: 2, policy, random });

  it("fails at most 1% of 1,000 healthy releases", (t) => {
    const random = mulberry32(20260101);
    let failed = 0;
    for (let i = 0; i < 1000; i++) if (watch(healthyTraffic, random).failedAtMs !== null) failed++;
    t.diagnostic(`false rollbacks: ${failed} of 1000 healthy releases (${(failed / 10).toFixed(1)}%), 150 looks each`);
    assert.ok(failed <= 10, `${failed} false rollbacks`);
  });

  for (const [name, model] of [
    ["5% errors", { ...healthyTraffic, errorRate: 0.05 }],
    ["+200 ms latency", { ...healthyTraffic, addedLatencyMs: 200 }],
  ] as const) {
    it(`detects all of 200 releases with ${name}, median within 15 s`, (t) => {
      const random = mulberry32(name.length);
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const { failedAtMs } = watch(model, random);
        assert.notEqual(failedAtMs, null, `release ${i} with ${name} was not detected`);
        times.push(failedAtMs!);
      }
      times.sort((a, b) => a - b);
      const median = times[99]!;
      t.diagnostic(`${name}: detected after median ${median / 1000} s, p95 ${times[189]! / 1000} s, max ${times[199]! / 1000} s (looks every 2 s)`);
      assert.ok(median <= 15_000, `median ${median} ms`);
    });
  }
});
