import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeployResult } from "../../src/deploy/index.js";
import { loadProject } from "../../src/config/index.js";
import { silentLogger } from "../../src/core/logger.js";
import { Engine, type ProjectStatus, type SloReport } from "../../src/engine/index.js";
import type { EngineEvent, Release } from "../../src/store/index.js";
import { toDecimal } from "../../src/slo/index.js";
import { run } from "../helpers/cli.js";
import { get } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const slos = `slos:
  web-availability:
    service: web
    kind: availability
    target: 99.9
    environments: [production]
  web-health:
    service: web
    kind: check
    check: web.health.production   # derived: it runs once web is live in production, after the engine started
    target: 99
`;

function chainConfig(): string {
  return (
    testConfig("", slos).replace("watch: 5m", "watch: 300ms") +
    "environments:\n  staging:\n    services:\n      web: { instances: 1, release: { watch: 1s } }\n  production: {}\n"
  );
}

describe("SLOs: the error-budget guardrail of promotions", () => {
  let p: TestProject;
  let failFile: string;
  const deploy = (version: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version, failFile }) }, () => {});
  const promote = (body: Record<string, unknown> = {}) => p.api.stream<DeployResult>("/v1/services/web/promote", body, () => {});
  const releases = async (env: string) => (await p.api.get<{ releases: Release[] }>(`/v1/services/web/releases?env=${env}`)).releases;
  const stable = (env: string) => waitFor(`the newest release stable in ${env}`, async () => (await releases(env))[0]?.state === "stable");
  const production = async () => `http://${(await p.api.get<ProjectStatus>("/v1/status?env=production")).environments[0]!.proxy}`;

  before(async () => {
    p = await startProject(chainConfig());
    failFile = join(p.dir, "outage");
  });
  after(async () => {
    await p.cleanup();
  });

  it("refuses a promotion while production's budget is spent by real failed requests, and records an override with its reason", { timeout: 180_000 }, async () => {
    await deploy("v1");
    await stable("staging");
    await promote({ initial: true });
    await stable("production");
    const url = await production();

    // An outage the health checks do not see: 30 requests through production's proxy answer 503.
    writeFileSync(failFile, "");
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await get(url)).status);
    rmSync(failFile);
    assert.ok(statuses.every((s) => s === 503), String(statuses));
    for (let i = 0; i < 10; i++) assert.equal((await get(url)).status, 200);

    // Once the minute is closed and recorded (at most a minute and 5 s later), the budget is spent:
    // 30 bad of 40 against 0.04 allowed.
    let report: SloReport | undefined;
    await waitFor(
      "the outage's minute in the request history",
      async () => {
        report = await p.api.get<SloReport>("/v1/slos");
        return report.slos[0]!.events.bad >= 30 && report.slos[0]!.events.valid >= 40;
      },
      100_000,
    );
    const [slo, health] = report!.slos;
    assert.deepEqual([health!.slo, health!.kind, health!.check, health!.environment, health!.exhausted], ["web-health", "check", "web.health.production", "production", false]);
    assert.deepEqual([slo!.slo, slo!.environment, slo!.kind, slo!.target, slo!.window], ["web-availability", "production", "availability", 99.9, "30d"]);
    assert.equal(slo!.events.bad, 30);
    assert.equal(slo!.exhausted, true);
    // Valid: our 40 requests, and the derived health check's probes through the proxy, if any.
    const { valid, bad } = slo!.events;
    assert.equal(bad, 30);
    // 1 − 30 / (0.001 × valid), in percent: (valid − 30,000) × 100 / valid, rounded to 2 decimals.
    const left = toDecimal({ n: BigInt(valid - 30_000) * 100n, d: BigInt(valid) }, 2);
    assert.equal(slo!.budgetLeft, left);
    assert.ok(left < -10_000, "overspent many times over");
    assert.equal(slo!.attained, toDecimal({ n: BigInt(valid - 30) * 100n, d: BigInt(valid) }, 4));
    assert.equal(slo!.exhaustion.ms, 0);
    assert.ok(slo!.alerts.find((a) => a.severity === "page")!.active, "30 bad events in the last hour page");
    // One slo-burn page reached the alert manager, with its labels and the burn in its annotations.
    type Alert = { rule: string; severity: string; state: string; labels: Record<string, string>; annotations: Record<string, string> };
    const burning = (alerts: Alert[]) => alerts.filter((x) => x.rule === "slo-burn" && x.severity === "page");
    await waitFor("the burn page in the alert manager", async () => burning((await p.api.get<{ alerts: Alert[] }>("/v1/alerts")).alerts).length > 0);
    const [page] = burning((await p.api.get<{ alerts: Alert[] }>("/v1/alerts")).alerts);
    assert.deepEqual([page!.labels.slo, page!.labels.service, page!.labels.environment], ["web-availability", "web", "production"]);
    assert.match(page!.annotations.policy!, /at least 10 bad events/);
    assert.match(page!.annotations.burn_rate_1h!, /^\d+(\.\d+)?$/);

    // A new release is stable in staging; promoting it into production is refused and changes nothing.
    await deploy("v2");
    await stable("staging");
    const before = await releases("production");
    const refused = (await promote().then(() => assert.fail("expected a refusal"), (e) => e)) as { code: string; message: string; hint: string; status?: number };
    assert.equal(refused.code, "SLO_BUDGET_EXHAUSTED");
    assert.match(refused.message, /web has spent its error budget in production: web-availability \(budget left -\d+(\.\d+)?% of 30d, 30 bad of \d+\)/);
    assert.match(refused.hint, /--override-budget "<reason>"/);
    assert.deepEqual(await releases("production"), before, "no release was created");
    assert.equal((await get(url)).version, "v1");

    // The same refusal at the CLI, which also shows the SLO.
    const cli = await run(p.dir, ["promote", "web"]);
    assert.equal(cli.code, 1, cli.out);
    assert.match(cli.out, /SLO_BUDGET_EXHAUSTED/);
    const table = await run(p.dir, ["slo"]);
    assert.equal(table.code, 0, table.out);
    assert.match(table.out, new RegExp(`web-availability\\s+production\\s+availability\\s+99\\.9%\\s+30d\\s+[\\d.]+%\\s+-[\\d.]+%\\s+spent\\s+page firing`));
    assert.match(table.out, /budget exhausted: promotion here is refused/);
    assert.match(table.out, /a pair fires only with at least 10 bad events in its long window/);
    const json = JSON.parse((await run(p.dir, ["slo", "--json"])).out) as SloReport;
    assert.ok(json.slos[0]!.budgetLeft < -10_000 && json.slos[0]!.exhausted);
    const unknown = await run(p.dir, ["slo", "nope"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /SLO_UNKNOWN/);

    // Overridden with a reason: it goes ahead, and the override is in the audit log.
    const promoted = await promote({ overrideBudget: "the fix for the outage itself" });
    assert.equal(promoted.release.environment, "production");
    await waitFor("v2 serving production", async () => (await get(url)).version === "v2");
    const { events } = await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500");
    const override = events.find((e) => e.type === "slo.budget-overridden");
    assert.ok(override, "a slo.budget-overridden event");
    assert.equal(override.environment, "production");
    assert.equal(override.service, "web");
    assert.deepEqual([override.data.reason, override.data.actor], ["the fix for the outage itself", "api"]);
    const [budget] = override.data.budgets as { slo: string; budgetLeft: number; window: string; bad: number; valid: number }[];
    assert.deepEqual([budget!.slo, budget!.window, budget!.bad], ["web-availability", "30d", 30]);
    assert.ok(budget!.budgetLeft < -10_000 && budget!.valid >= valid);
  });
});

describe("SLOs: config", () => {
  it("refuses an SLO of an undeclared service or with a threshold off the histogram's bounds, naming the path", { timeout: 60_000 }, async () => {
    const bad = `slos:\n  a:\n    service: nope\n    kind: availability\n    target: 99.9\n  b:\n    service: web\n    kind: latency\n    threshold: 250ms\n    target: 99\n`;
    const dir = mkdtempSync(join(tmpdir(), "engineroom-slo-"));
    const file = join(dir, "engineroom.yaml");
    writeFileSync(file, testConfig("", bad));
    const error = (await Engine.start({ project: loadProject(file), logger: silentLogger }).then(
      async (engine) => {
        await engine.stop();
        assert.fail("expected CONFIG_INVALID");
      },
      (e) => e,
    )) as { code: string; message: string };
    rmSync(dir, { recursive: true, force: true });
    assert.equal(error.code, "CONFIG_INVALID");
    assert.match(error.message, /slos\.a\.service: no service "nope" is declared/);
    assert.match(error.message, /slos\.b\.threshold: a latency threshold must be one of the histogram's bounds, .*300ms/);
  });
});
