import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { Plan } from "../../src/plan/index.js";
import type { Report } from "../../src/report/index.js";
import type { EngineEvent, Release } from "../../src/store/index.js";
import { costSchema } from "../../src/config/index.js";
import { bucketCost, PriceSheet } from "../../src/cost/index.js";
import { decimal } from "../../src/core/index.js";
import { root, run } from "../helpers/cli.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

// OpenCost's default prices; an instance reserves 2 vCPUs, 256 MiB and 1 GiB: 730 h × 0.06433604452 = $46.9653124996 a month.
// (2 vCPUs: more than an idle node app uses even while it starts, so the reservation is what costs.)
const cost = `cost:
  currency: USD
  prices:
    default: { CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452" }
  budget:
    max_monthly_increase: "50.00"
`;
const config = testConfig("", cost)
  .replace("    instances: 2", '    artifact: ./app\n    instances: 2\n    resources: { cpu: 2, memory: 256Mi, storage: 1Gi }')
  .replace("watch: 5m", "watch: 300ms");

describe("cost: plan deltas from the price sheet, the budget guardrail, status and report", () => {
  let p: TestProject;
  const cli = (...args: string[]) => run(p.dir, args);
  const events = async () => (await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500")).events;
  const releases = async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;

  before(async () => {
    p = await startProject(config);
    cpSync(join(root, "test/fixtures/app"), join(p.dir, "app"), { recursive: true });
    writeFileSync(join(p.dir, "app/behaviour.json"), JSON.stringify({ version: "v1" }));
  });
  after(async () => {
    await p.cleanup();
  });

  it("refuses an apply over the budget, changing nothing, and applies it with --approve-cost, recorded", { timeout: 120_000 }, async () => {
    const planned = await cli("plan");
    assert.equal(planned.code, 2, planned.out);
    assert.match(planned.out, /^ {6}cost: nothing → \$93\.93\/month \(\+\$93\.93\/month\)$/m);
    assert.match(planned.out, /^Cost: \$0\.00 → \$93\.93 per month \(\+\$93\.93\/month; a month is 730 h, prices in USD from cost\.prices\)\.$/m);
    assert.match(planned.out, /Over the cost budget: \+\$93\.93\/month is more than cost\.budget\.max_monthly_increase \(\+\$50\.00\/month\)/);

    const refused = await cli("apply", "--yes");
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /COST_BUDGET_EXCEEDED/);
    assert.match(refused.out, /apply refused: Over the cost budget: \+\$93\.93\/month is more than cost\.budget\.max_monthly_increase \(\+\$50\.00\/month\)\. Nothing was changed\./);
    assert.match(refused.out, /--approve-cost/);
    assert.deepEqual(await releases(), [], "no release was made");
    assert.equal((await events()).filter((e) => e.type.startsWith("apply.") || e.type.startsWith("cost.")).length, 0, "no apply began");

    const approved = await cli("apply", "--yes", "--approve-cost");
    assert.equal(approved.code, 0, approved.out);
    const record = (await events()).find((e) => e.type === "cost.budget-approved")!;
    assert.equal(record.data.monthlyIncrease, "93.9306249992");
    assert.equal(record.data.maxMonthlyIncrease, "50");
    assert.equal(record.data.currency, "USD");
  });

  it("plans instances 2 → 3 as the sheet's exact +$46.97/month, within the budget", { timeout: 120_000 }, async () => {
    writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace("    instances: 2", "    instances: 3"));
    const planned = await cli("plan");
    assert.equal(planned.code, 2, planned.out);
    assert.match(planned.out, /^ {6}instances: 2 → 3 {2}\+\$46\.97\/month$/m);
    assert.match(planned.out, /^Cost: \$93\.93 → \$140\.90 per month \(\+\$46\.97\/month;/m);
    const { plan } = await p.api.post<{ plan: Plan }>("/v1/plan", {});
    const web = plan.changes.find((c) => c.service === "web")!;
    assert.deepEqual([web.cost?.before, web.cost?.after, web.cost?.delta], ["93.9306249992", "140.8959374988", "46.9653124996"]);
    assert.deepEqual([plan.cost?.budget?.exceeded, plan.cost?.hoursPerMonth], [false, 730]);
    const applied = await cli("apply", "--yes");
    assert.equal(applied.code, 0, applied.out);
  });

  it("shows what runs costs a month in status, and prices the measured usage in the report", { timeout: 120_000 }, async () => {
    await waitFor("3 instances of web running, the previous release stopped", async () => {
      const status = await p.api.get<ProjectStatus>("/v1/status");
      return status.environments[0]!.services[0]!.instances.filter((i) => i.status === "running").length === 3;
    }, 60_000);
    const status = await cli("status");
    assert.match(status.out, /^ {2}cost {6}\$140\.90\/month at the current rate \(3 running instances/m);

    // Two samples of the real instances, through the engine's own sampler.
    await p.engine.cost.sample();
    await new Promise((r) => setTimeout(r, 1_000));
    const written = await p.engine.cost.sample();
    assert.equal(written.length, 3, "one bucket sample per running instance");
    for (const w of written) assert.ok(w.aliveMs > 0 && w.rssBytes > 0 && w.reservedCpuMilli === 2000 && w.reservedMemoryBytes === 256 * 1024 * 1024 && w.live, JSON.stringify(w));

    const report = await p.api.get<Report>("/v1/report?since=1h");
    const figure = report.scorecard.cost;
    assert.ok(figure.measured, figure.text);
    const web = figure.perService.find((r) => r.service === "web")!;
    // Traceable: the total is the stored buckets' costs, summed exactly.
    const stored = await p.engine.store.usage.list({ fromMs: report.period.since, toMs: report.period.until + 1 });
    const prices = new PriceSheet(costSchema.parse({ prices: { default: { CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452" } } })).prices("production");
    assert.equal(web.total, decimal.decimalText(decimal.sum(stored.map((b) => bucketCost(b, prices).total))));
    assert.equal(web.from.buckets, stored.length);
    assert.ok(Number(web.total) > 0);
    const text = await cli("report", "--since", "1h");
    assert.match(text.out, /cost \(USD, max\(reserved, used\) × time × price\)/);
  });
});
