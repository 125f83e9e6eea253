import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rulesConfigSchema, unknownRuleTargets } from "./rules-config.js";

/** The problems of `alerts: value` as `alerts.<path>: message`, as the engine reports them. */
function problems(value: unknown): string[] {
  const parsed = rulesConfigSchema.safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${["alerts", ...i.path].join(".")}: ${i.message}`);
}

describe("alerts.rules config", () => {
  it("accepts the defaults and a full rule", () => {
    assert.deepEqual(problems({}), []);
    assert.deepEqual(problems({ default_rules: false, rules: [{ name: "slow", metric: "p95", op: ">", threshold: "300ms", for: "2m", min_requests: 50, min_bad_requests: 1, severity: "ticket", services: ["web"], environments: ["production"] }] }), []);
  });

  it("names each problem by its path", () => {
    const found = problems({
      rules: [
        { name: "slow", metric: "p95", op: ">", threshold: 0.3 },
        { name: "errors", metric: "error_rate", op: ">", threshold: 5 },
        { name: "x", metric: "p100", op: ">=", threshold: "1s" },
        { name: "partial", threshold: "1s" },
        { name: "long", metric: "p99", op: ">", threshold: "1s", for: "1h" },
        { name: "typo", metric: "p99", op: ">", threshold: "1s", servces: ["web"] },
        { name: "slow", metric: "rps", op: "<", threshold: 1 },
        { name: "Bad_Name", metric: "rps", op: "<", threshold: 1, for: "soon" },
      ],
      default_rule: false,
    });
    const expect = [
      /^alerts\.rules\.0\.threshold: a latency threshold is a duration such as "1s" or "300ms", not 0\.3$/,
      /^alerts\.rules\.1\.threshold: an error rate is a ratio from 0 to 1 \(0\.05 for 5%\), not 5$/,
      /^alerts\.rules\.2\.metric: /,
      /^alerts\.rules\.2\.op: /,
      /^alerts\.rules\.3\.metric: required/,
      /^alerts\.rules\.3\.op: required/,
      /^alerts\.rules\.4\.for: a rule's window is from 15s to 15m \(the metrics kept in memory\), not 1h$/,
      /^alerts\.rules\.5: Unrecognized key: "servces"$/,
      /^alerts\.rules\.7\.name: use lowercase letters/,
      /^alerts\.rules\.7\.for: "soon" is not a duration/,
    ];
    for (const pattern of expect) assert.ok(found.some((p) => pattern.test(p)), `${pattern} in:\n${found.join("\n")}`);
  });

  it("refuses two rules of one name", () => {
    assert.deepEqual(problems({ rules: [{ name: "slow", metric: "p95", op: ">", threshold: "1s" }, { name: "slow", metric: "rps", op: "<", threshold: 1 }] }), [
      'alerts.rules.1.name: a second rule named "slow"; rule names are unique',
    ]);
  });

  it("a default rule can be overridden with only the keys it changes", () => {
    assert.deepEqual(problems({ rules: [{ name: "high-latency", threshold: "2s" }, { name: "error-rate", severity: "ticket" }] }), []);
    assert.match(problems({ rules: [{ name: "high-latency", threshold: 2 }] }).join(), /alerts\.rules\.0\.threshold: a latency threshold is a duration/);
  });

  it("a rule naming an undeclared service or environment is a problem with its path", () => {
    const config = rulesConfigSchema.parse({ rules: [{ name: "slow", metric: "p95", op: ">", threshold: "1s", services: ["web", "wbe"], environments: ["prod"] }] });
    const found = unknownRuleTargets(config, { services: ["web", "api"], environments: ["staging", "production"] }).map((p) => `${p.path.join(".")}: ${p.message}`);
    assert.deepEqual(found, ['rules.0.services.1: no service named "wbe" (declared: web, api)', 'rules.0.environments.0: no environment named "prod" (the chain: staging, production)']);
  });
});
