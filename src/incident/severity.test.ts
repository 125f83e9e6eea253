import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assessSeverity, configDiff, type BlastRadius } from "./index.js";

const radius = (overrides: Partial<BlastRadius> = {}): BlastRadius => ({
  chain: ["staging", "production"],
  environments: ["production"],
  services: ["web"],
  routes: 1,
  failing: null,
  releaseDown: false,
  budgets: [],
  ...overrides,
});

describe("severity from the blast radius", () => {
  it("weighs the last environment, services, routes, failing share and budget, with a reason each", () => {
    assert.equal(assessSeverity(radius({ environments: ["staging"] })).severity, "SEV4");
    assert.equal(assessSeverity(radius()).severity, "SEV3");
    assert.equal(assessSeverity(radius({ failing: { share: 0.06, requests: 500, where: "web" } })).severity, "SEV2");
    assert.equal(assessSeverity(radius({ releaseDown: true })).severity, "SEV2");
    const worst = assessSeverity(radius({ services: ["web", "api"], routes: 4, failing: { share: 0.8, requests: 900, where: "web v3 in production" }, budgets: [{ slo: "web-availability", environment: "production", budgetLeft: -20, exhausted: true }] }));
    assert.equal(worst.severity, "SEV1");
    assert.equal(worst.score, 8);
    assert.deepEqual(worst.reasons, [
      "production: the last environment of the chain (+2)",
      "2 services (web, api) (+1)",
      "4 routes (+1)",
      "80.0% of 900 requests failing (web v3 in production) (+2)",
      "error budget spent: web-availability in production (-20% left) (+2)",
    ]);
  });

  it("does not judge the failing share on fewer than 20 requests", () => {
    const few = assessSeverity(radius({ environments: ["staging"], failing: { share: 1, requests: 3, where: "web" } }));
    assert.equal(few.severity, "SEV4");
    assert.match(few.reasons.join("\n"), /failing requests not judged: 3 request\(s\)/);
  });

  it("diffs configs key by key; lists whole", () => {
    assert.deepEqual(configDiff({ a: 1, b: { c: [1, 2], d: "x" } }, { a: 1, b: { c: [1, 3] }, e: true }), [
      { key: "b.c", from: [1, 2], to: [1, 3] },
      { key: "b.d", from: "x" },
      { key: "e", to: true },
    ]);
    assert.deepEqual(configDiff({ a: 1 }, { a: 1 }), []);
  });
});
