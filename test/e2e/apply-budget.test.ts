import assert from "node:assert/strict";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeployResult } from "../../src/deploy/index.js";
import type { EngineEvent, Release } from "../../src/store/index.js";
import { root, run } from "../helpers/cli.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const minute = 60_000;

const slos = `slos:
  web-availability:
    service: web
    kind: availability
    target: 99.9
    environments: [production]
`;

/** A chain staging → production; web declares its artifact, so that a plan creates it in production by promotion. */
function chainConfig(): string {
  return (
    testConfig("", slos).replace("    instances: 2", "    artifact: ./app\n    instances: 2").replace("watch: 5m", "watch: 300ms") +
    "environments:\n  staging:\n    services:\n      web: { instances: 1 }\n  production: {}\n"
  );
}

describe("apply: the error-budget guardrail of the promotions it makes", () => {
  let p: TestProject;
  const releases = async (env: string) => (await p.api.get<{ releases: Release[] }>(`/v1/services/web/releases?env=${env}`)).releases;
  const events = async () => (await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500")).events;

  before(async () => {
    p = await startProject(chainConfig());
    cpSync(join(root, "test/fixtures/app"), join(p.dir, "app"), { recursive: true });
    writeFileSync(join(p.dir, "app/behaviour.json"), JSON.stringify({ version: "v1" }));
  });
  after(async () => {
    await p.cleanup();
  });

  it("refuses an apply that would promote into a spent budget, changing nothing, and applies with --override-budget, recorded", { timeout: 120_000 }, async () => {
    // web is stable in staging: the plan's one change is its first release in production, by promotion.
    await p.api.stream<DeployResult>("/v1/services/web/deploys", {}, () => {});
    await waitFor("web stable in staging", async () => (await releases("staging"))[0]?.state === "stable");

    // Production's budget is spent: 30 failed requests of 40 in the request history, three minutes ago.
    const time = Math.floor(Date.now() / minute) * minute - 3 * minute;
    const status = { "1xx": 0, "2xx": 10, "3xx": 0, "4xx": 0, "5xx": 30 };
    const latency = new Array<number>(16).fill(0);
    latency[0] = 40;
    await p.engine.store.requests.record([{ service: "web", environment: "production", releaseId: "r-earlier", time, status, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency }]);

    const before = await events();
    const refused = (await p.api.stream("/v1/apply", {}, () => {}).then(() => assert.fail("expected a refusal"), (e) => e)) as { code: string; message: string; hint: string };
    assert.equal(refused.code, "SLO_BUDGET_EXHAUSTED");
    assert.match(refused.message, /^apply refused: web has spent its error budget in production: web-availability \(budget left -[\d.]+% of 30d, 30 bad of 40\)/);
    assert.match(refused.hint, /apply with --override-budget "<reason>"/);
    // Nothing changed: no release in production, no apply begun, nothing recorded as applied.
    assert.deepEqual(await releases("production"), []);
    const since = (await events()).filter((e) => !before.some((b) => b.id === e.id));
    assert.deepEqual(
      since.filter((e) => e.type.startsWith("apply.") || e.type === "slo.budget-overridden").map((e) => e.type),
      [],
    );

    // The same at the CLI; a blank reason is no override.
    const cli = await run(p.dir, ["apply", "--yes"]);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /SLO_BUDGET_EXHAUSTED/);
    assert.match(cli.out, /--override-budget/);
    const blank = await run(p.dir, ["apply", "--yes", "--override-budget", "  "]);
    assert.equal(blank.code, 1, blank.out);
    assert.match(blank.out, /SLO_BUDGET_EXHAUSTED/);
    assert.deepEqual(await releases("production"), []);

    // With a reason it goes ahead: web runs in production, and the override is in the audit log.
    const applied = await run(p.dir, ["apply", "--yes", "--override-budget", "first release there; the errors were a test"]);
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, /applied 1 change\(s\)/);
    const [release] = await releases("production");
    assert.ok(release && ["live", "watching", "stable"].includes(release.state), release?.state);
    const all = await events();
    const override = all.find((e) => e.type === "slo.budget-overridden")!;
    assert.ok(override, "a slo.budget-overridden event");
    assert.deepEqual([override.service, override.environment, override.data.reason], ["web", "production", "first release there; the errors were a test"]);
    assert.ok(all.some((e) => e.type === "apply.finished"));
  });
});
