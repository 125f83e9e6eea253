import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSlos } from "./config.js";
import { burnRules } from "./policy.js";
import { Objective, decimalFraction, toDecimal } from "./ratio.js";

const project = { services: ["web", "api"], environments: ["staging", "production"], checks: ["web-health-production"] };
const problems = (section: unknown) => {
  const parsed = parseSlos(section, project);
  return parsed.ok ? [] : parsed.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
};

describe("SLO config", () => {
  it("applies the defaults: 30 d, every environment (a check SLO: the last), 10 bad events", () => {
    const parsed = parseSlos(
      {
        web: { service: "web", kind: "availability", target: 99.9 },
        health: { service: "web", kind: "check", check: "web-health-production", target: 99 },
        fast: { service: "api", kind: "latency", threshold: "300ms", target: 95, window: "28d", environments: ["production"] },
      },
      project,
    );
    assert.ok(parsed.ok);
    const [web, health, fast] = parsed.slos;
    assert.deepEqual([web!.windowMs, web!.environments, web!.minBadEvents], [30 * 86_400_000, ["staging", "production"], 10]);
    assert.deepEqual(health!.environments, ["production"]);
    assert.deepEqual([fast!.thresholdMs, fast!.windowMs], [300, 28 * 86_400_000]);
  });

  it("names every problem by its path", () => {
    assert.deepEqual(
      problems({
        a: { service: "nope", kind: "availability", target: 99.9, environments: ["prod"] },
        b: { service: "web", kind: "latency", target: 99, threshold: "250ms" },
        c: { service: "web", kind: "check", check: "missing", target: 100 },
        d: { service: "web", kind: "availability", target: 99.9, window: "1m", extra: 1 },
      }).sort(),
      [
        'a.environments.0: no environment "prod" (the chain is staging → production)',
        'a.service: no service "nope" is declared (services: web, api)',
        "b.threshold: a latency threshold must be one of the histogram's bounds, 1ms, 2ms, 5ms, 10ms, 20ms, 50ms, 100ms, 200ms, 300ms, 500ms, 750ms, 1s, 2s, 5s, 10s; got \"250ms\"",
        "c.target: a target is a percentage above 0 and below 100, e.g. 99.9",
        "d.extra: unknown key; known keys: service, kind, target, window, threshold, check, environments, min_bad_events",
        "d.window: an SLO window is from 1h to 366d, not 1m",
      ],
    );
    assert.deepEqual(problems({ a: { service: "nope", kind: "availability", target: 99.9, environments: ["prod"] }, c: { service: "web", kind: "check", check: "missing", target: 99 } }).sort(), [
      "a.environments.0: no environment \"prod\" (the chain is staging → production)",
      "a.service: no service \"nope\" is declared (services: web, api)",
      "c.check: no check \"missing\" (checks: web-health-production)",
    ]);
    assert.deepEqual(problems({ w: { service: "web", kind: "availability", target: 99.9, windw: "7d" }, y: { service: "web", kind: "availability", target: 99.9, window: "400d" } }), [
      "w.windw: unknown key (did you mean window?); known keys: service, kind, target, window, threshold, check, environments, min_bad_events",
      "y.window: an SLO window is from 1h to 366d, not 400d",
    ]);
    assert.deepEqual(problems({ l: { service: "web", kind: "latency", target: 99 } }), ["l.threshold: a latency SLO needs a threshold, one of 1ms, 2ms, 5ms, 10ms, 20ms, 50ms, 100ms, 200ms, 300ms, 500ms, 750ms, 1s, 2s, 5s, 10s"]);
  });

  it("scales the workbook's windows with the SLO window, in whole minutes", () => {
    const windows = (days: number) => burnRules(days * 86_400_000).map((r) => [r.severity, r.pairs.map((p) => [p.factor, p.longMs / 60_000, p.shortMs / 60_000])]);
    assert.deepEqual(windows(30), [["page", [["14.4", 60, 5], ["6", 360, 30]]], ["ticket", [["1", 4320, 360]]]]);
    assert.deepEqual(windows(7), [["page", [["14.4", 14, 1], ["6", 84, 7]]], ["ticket", [["1", 1008, 84]]]]);
  });
});

describe("SLO arithmetic", () => {
  it("keeps targets and factors as the decimals written", () => {
    assert.deepEqual(decimalFraction(99.9), { n: 999n, d: 10n });
    assert.deepEqual(decimalFraction(14.4), { n: 144n, d: 10n });
    assert.deepEqual(decimalFraction(1e-7), { n: 1n, d: 10_000_000n });
    const o = new Objective(99.9);
    assert.deepEqual(o.budget, { n: 1n, d: 1000n });
    // 14.4 × 0.001 is 0.0144 here, not 0.014400000000000001: 144 bad of 10,000 is exactly at the threshold.
    assert.equal(o.burnsAtLeast(decimalFraction(14.4), 144, 10_000), true);
    assert.equal(o.burnsAtLeast(decimalFraction(14.4), 143, 10_000), false);
    assert.equal(toDecimal(o.burnRate(1, 1000)!, 4), 1);
    assert.equal(toDecimal(o.budgetLeft(3, 1000), 4), -2);
  });

  it("caps a threshold above 100% errors at every event bad (14.4× below 93.06%)", () => {
    const o = new Objective(90);
    assert.equal(o.burnsAtLeast(decimalFraction(14.4), 999, 1000), false);
    assert.equal(o.burnsAtLeast(decimalFraction(14.4), 1000, 1000), true);
  });

  it("rounds once, half away from zero, and prints the decimal", () => {
    assert.equal(toDecimal({ n: 1n, d: 3n }, 4), 0.3333);
    assert.equal(toDecimal({ n: 2n, d: 3n }, 2), 0.67);
    assert.equal(toDecimal({ n: -1n, d: 8n }, 2), -0.13);
    assert.equal(String(toDecimal({ n: 9_999_999n, d: 10_000_000n }, 4)), "1");
  });
});
