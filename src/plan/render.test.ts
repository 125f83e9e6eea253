import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePlan, planToJson, staleReason } from "./json.js";
import { plan } from "./plan.js";
import { renderPlan, summaryLine } from "./render.js";
import { running, service } from "./test-support.js";
import type { CurrentState, DesiredState } from "./types.js";

/** staging: web to create; production: web changed and drifted, old to delete, api unchanged. */
function example() {
  const recorded = service({ instances: 2, env: { GREETING: "hi", DB_PASSWORD: { secret: "db_password" } } });
  const declared = service({ instances: 3, health: { path: "/healthz" }, env: { GREETING: "hello", DB_PASSWORD: "literal", API_KEY: { secret: "api_key" } } });
  const desired: DesiredState = {
    environments: [
      { name: "staging", services: { web: declared, api: service() } },
      { name: "production", services: { web: declared, api: service() } },
    ],
    fileHash: "sha256:" + "2".repeat(64),
  };
  const current: CurrentState = {
    environments: {
      staging: { services: { api: running(service()) } },
      production: {
        services: { web: { ...running(recorded, { number: 3 }), runningInstances: 1 }, api: running(service()), old: running(service(), { number: 2 }) },
      },
    },
    appliedFileHash: "sha256:" + "1".repeat(64),
  };
  return { desired, current };
}

describe("renderPlan", () => {
  it("shows + ~ - blocks with attribute changes, drift and the summary line", () => {
    const { desired, current } = example();
    const text = renderPlan(plan(desired, current));
    const lines = text.split("\n");
    for (const line of [
      "  + web (staging)",
      "      apply: deploy ./app",
      "  ~ web (production) v3",
      '      env.API_KEY: (none) → (secret api_key)',
      '      env.DB_PASSWORD: (secret db_password) → "literal"',
      '      env.GREETING: "hi" → "hello"',
      '      health.path: "/" → "/healthz"',
      "      instances: 2 → 3",
      "      drift: 1 of 2 instances running",
      "  - old (production) v2",
      "      old is no longer declared",
      "Plan: 1 to create, 1 to change, 1 to destroy.",
    ]) {
      assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in:\n${text}`);
    }
    assert.ok(!text.includes("api (staging)"), "no-ops are left out");
    assert.match(text, /engineroom\.yaml changed since the last apply \(sha256:111111111111 → sha256:222222222222\)/);
    assert.ok(!/\x1b\[/.test(text), "no colour unless asked");
  });

  it("never shows anything but a secret's reference", () => {
    const canary = "canary-value-5f1e";
    process.env.db_password = canary;
    process.env.DB_PASSWORD = canary;
    try {
      const { desired, current } = example();
      const p = plan(desired, current);
      for (const output of [renderPlan(p), renderPlan(p, { color: true }), planToJson(p)]) {
        assert.ok(!output.includes(canary));
      }
      assert.match(planToJson(p), /"secret": "db_password"/);
    } finally {
      delete process.env.db_password;
      delete process.env.DB_PASSWORD;
    }
  });

  it("colours by action when asked, and says when changes are blocked", () => {
    const desired: DesiredState = { environments: [{ name: "staging", services: { web: service() } }, { name: "production", services: { web: service() } }] };
    const text = renderPlan(plan(desired, { environments: {} }), { color: true });
    assert.ok(text.includes("\x1b[32m  + web (staging)\x1b[0m"));
    assert.ok(text.includes("\x1b[1;31m      blocked: web is not live in staging yet; production gets only a release that is stable in staging\x1b[0m"));
    assert.ok(text.includes("Plan: 2 to create, 0 to change, 0 to destroy.\n1 of these changes is blocked"));
  });

  it("says there is nothing to do", () => {
    assert.equal(summaryLine({ create: 0, update: 0, delete: 0, noOp: 5, blocked: 0 }), "No changes. What runs matches engineroom.yaml.");
  });
});

describe("plan JSON", () => {
  it("round-trips, with the same bytes for the same plan", () => {
    const { desired, current } = example();
    const p = plan(desired, current);
    const json = planToJson(p);
    const parsed = parsePlan(json);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.plan, p);
    assert.equal(planToJson(parsed.plan), json);
    assert.equal(planToJson(plan(desired, current)), json);
  });

  it("refuses what is not a plan, saying why", () => {
    const problem = (text: string) => {
      const parsed = parsePlan(text);
      assert.ok(!parsed.ok);
      return parsed.problem;
    };
    assert.match(problem("{"), /^not JSON/);
    assert.match(problem("[]"), /expected a JSON object/);
    assert.match(problem('{"version": 2}'), /unknown plan version 2/);
    assert.match(problem('{"version": 1, "hash": "sha256:x", "summary": {}, "configFile": {}, "changes": [{"action": "rename"}]}'), /changes\[0\]/);
  });

  it("tells a saved plan from a stale one by its hash", () => {
    const { desired, current } = example();
    const saved = plan(desired, current);
    assert.equal(staleReason(saved, plan(desired, current)), undefined);
    const moved: CurrentState = { ...current, appliedFileHash: desired.fileHash! };
    assert.match(staleReason(saved, plan(desired, moved))!, /changed since this plan was made/);
  });
});
