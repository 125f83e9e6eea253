import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineError } from "../../src/core/index.js";
import type { Report } from "../../src/report/index.js";
import type { Release } from "../../src/store/index.js";
import { run } from "../helpers/cli.js";
import { get, startPacedLoad } from "../helpers/load.js";
import { startProject, testConfig, type Behaviour, type TestProject } from "../helpers/project.js";

// A watch window of 6 s, judged every 500 ms against the previous release's traffic (as in analysis.test.ts).
const config = testConfig()
  .replace("watch: 5m", "watch: 6s")
  .replace("    restart:\n", "    analysis:\n      interval: 500ms\n      baseline: 20s\n    restart:\n");

/** Commits `folder` as a git repository of its own, dated `seconds` since the epoch. */
function commitFolder(folder: string, seconds: number): string {
  const env = { ...process.env, GIT_AUTHOR_DATE: `@${seconds} +0000`, GIT_COMMITTER_DATE: `@${seconds} +0000` };
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], { cwd: folder, env, encoding: "utf8" });
  git("init", "-q");
  git("add", ".");
  git("commit", "-q", "-m", "v1");
  return git("rev-parse", "HEAD").trim();
}

describe("engineroom report on a live engine: v1, v2, a faulty v3 rolled back by its watch", () => {
  let p: TestProject;
  let load: ReturnType<typeof startPacedLoad>;
  let sha: string;
  let commitTime: number;
  const deploy = (behaviour: Behaviour, folder = p.artifact(behaviour)) => p.api.stream<unknown>("/v1/services/web/deploys", { artifact: folder }, () => {});

  before(async () => {
    p = await startProject(config);
    const v1 = p.artifact({ version: "v1" });
    commitTime = Math.floor(Date.now() / 1000) - 3600;
    sha = commitFolder(v1, commitTime);
    await deploy({ version: "v1" }, v1);
    load = startPacedLoad(p.proxyUrl, { rps: 100, maxMs: 90_000 });
    await deploy({ version: "v2" });
    await new Promise((r) => setTimeout(r, 4000)); // a baseline for v2
    const error = (await p.api
      .stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v3", errorEvery: 20 }), watch: true }, () => {})
      .catch((e) => e)) as EngineError;
    assert.equal(error.code, "RELEASE_ROLLED_BACK");
    assert.equal((await get(p.proxyUrl)).version, "v2");
  });
  after(async () => {
    await load?.stop();
    await p?.cleanup();
  });

  it("counts 3 started, the rolled-back one failing the success rate and the change failure rate, with its events", async () => {
    const report = await p.api.get<Report>("/v1/report?since=1h");
    const releases = (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;
    const v3 = releases.find((r) => r.number === 3)!;
    assert.equal(v3.state, "rolled-back");
    const success = report.scorecard.deploymentSuccess;
    assert.deepEqual([success.started, success.succeeded, success.rolledBack, success.failed, success.inProgress], [3, 2, 1, 0, 0]);
    assert.equal(success.rate, 0.666667);
    assert.equal(success.meets, false);
    const row = success.from.releases.find((r) => r.releaseId === v3.id)!;
    assert.equal(row.outcome, "rolled-back");
    const { events } = await p.api.get<{ events: { id: number; releaseId: string | null; type: string }[] }>("/v1/events?limit=500");
    // Traceable: its ids are v3's transitions (release.<state> events), oldest first, its rollback among them.
    const own = events.filter((e) => e.releaseId === v3.id && e.type.startsWith("release."));
    assert.deepEqual(row.eventIds.map((id) => own.find((e) => e.id === id)?.type), ["release.pending", "release.starting", "release.healthy", "release.verified", "release.live", "release.watching", "release.rolled-back"]);
    assert.ok(row.eventIds.includes(own.find((e) => e.type === "release.rolled-back")!.id));

    const dora = report.dora;
    assert.equal(dora.environment, "production");
    assert.equal(dora.deploymentFrequency.deployments, 3);
    assert.deepEqual([dora.changeFailureRate.failures, dora.changeFailureRate.deployments, dora.changeFailureRate.rate], [1, 3, 0.333333]);
    assert.equal(dora.changeFailureRate.from.releases[0]!.releaseId, v3.id);
    const recovery = dora.recoveryTime.from.releases[0]!;
    assert.equal(recovery.recoveredBy, "rollback");
    assert.ok(recovery.recoveryMs! > 0 && recovery.recoveryMs! < 6000, `recovered in ${recovery.recoveryMs} ms, inside the watch`);

    // v1 was built from a git commit an hour old; v2 and v3 were not in git.
    assert.equal(dora.leadTime.measured, 1);
    assert.equal(dora.leadTime.from.releases[0]!.commit, sha);
    assert.equal(dora.leadTime.from.releases[0]!.commitTime, commitTime * 1000);
    assert.ok(dora.leadTime.summary!.medianMs >= 3600_000);
    assert.equal(dora.leadTime.notMeasured, 2);

    // Incidents the engine opened (a rollback opens one, when the incident manager runs) all name v3.
    const opened = events.filter((e) => e.type === "incident.opened").length;
    assert.equal(report.scorecard.recovery.incidents, opened);
    for (const incident of report.scorecard.recovery.from.incidents) assert.ok(incident.releaseIds.includes(v3.id));
    if (opened === 0) assert.equal(report.scorecard.recovery.text, "no incidents");
    assert.equal(report.scorecard.cost.text, "not measured: no price sheet");
    assert.deepEqual(report.scorecard.uptime.rows.map((r) => `${r.service}/${r.environment}`), ["web/production"]);
  });

  it("renders the HTML page with its tiles, and refuses a bad period with its code", async () => {
    const res = await fetch(`http://${p.apiAddress}/v1/report.html?since=1h`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const page = await res.text();
    const tiles = new Map([...page.matchAll(/<div class="tile (good|bad|none)" data-figure="([a-z-]+)"/g)].map((m) => [m[2]!, m[1]!]));
    assert.equal(tiles.size, 9);
    assert.equal(tiles.get("deployment-success"), "bad");
    assert.equal(tiles.get("change-failure-rate"), "bad");
    assert.equal(tiles.get("cost"), "none");
    assert.match(page, /66\.7% \(2 of 3\)/);
    assert.doesNotMatch(page, /<script|<link /);

    const asFormat = await fetch(`http://${p.apiAddress}/v1/report?since=1h&format=html`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.match(await asFormat.text(), /data-figure="deployment-success"/);

    const bad = await fetch(`http://${p.apiAddress}/v1/report?since=soon`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "REPORT_PERIOD_INVALID");
  });

  it("`engineroom report` prints the table, --json the figures, --html --out the page", async () => {
    const table = await run(p.dir, ["report", "--since", "1h"]);
    assert.equal(table.code, 0, table.out);
    assert.match(table.out, /deployment success rate\s+66\.7% \(2 of 3\)\s+> 99%\s+missed/);
    assert.match(table.out, /mean time to recovery\s+(no incidents|\S+ mean \(median)/);
    assert.match(table.out, /change failure rate\s+33\.3% \(1 of 3\)/);
    const json = await run(p.dir, ["report", "--since", "1h", "--json"]);
    assert.equal((JSON.parse(json.out) as Report).scorecard.deploymentSuccess.started, 3);
    const file = join(p.dir, "report.html");
    const html = await run(p.dir, ["report", "--since", "1h", "--html", "--out", file]);
    assert.equal(html.code, 0, html.out);
    assert.match(readFileSync(file, "utf8"), /data-figure="change-failure-rate"/);
    const bad = await run(p.dir, ["report", "--since", "forever"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /REPORT_PERIOD_INVALID/);
  });
});
