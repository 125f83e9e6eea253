import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../../src/core/index.js";
import { processAlive } from "../../src/engine/index.js";
import type { DrillView } from "../../src/engine/index.js";
import type { DrillRunRecord, EngineEvent, IncidentRecord, Release } from "../../src/store/index.js";
import { run } from "../helpers/cli.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Drills end to end over real parts (the engine in this process, its data plane, the proxy's worker,
 * the instances as processes): a rollback drill whose fault (20% of the drill release's requests
 * answered 500 by the proxy) the watch catches and rolls back, timed; requests to another service
 * unaffected; a drill that fails its rule (recover_within too short) → failed → an incident; a
 * kill drill (SIGKILL of an instance) that recovers; one drill at a time.
 */
describe("drills, end to end: rollback, a failing rule → incident, kill", () => {
  let p: TestProject;

  before(async () => {
    const top = `environments:
  staging: {}
  production: {}
drills:
  web-rollback:
    type: rollback
    service: web
    fault: { error_rate: 20% }
    pass: { recover_within: 20s, max_failed_requests_outside_fault: 0 }
    load: { rps: 50 }
    timeout: 40s
  web-strict:
    type: rollback
    service: web
    fault: { error_rate: 20% }
    pass: { recover_within: 100ms }
    load: { rps: 50 }
    timeout: 40s
  web-kill:
    type: kill
    service: web
    pass: { recover_within: 15s }
    load: { rps: 20 }
`;
    const api = `  api:
    run: node server.js
    routes: [{ host: api.test, path: / }]
    health: { path: /healthz, interval: 100ms, healthy_threshold: 2 }
    release: { watch: 1s, drain_timeout: 2s, stop_grace: 2s }
`;
    const config = testConfig(api, top)
      .replace("watch: 5m", "watch: 6s")
      .replace("    restart:\n      backoff: 100ms\n", "    restart:\n      backoff: 100ms\n    analysis:\n      interval: 500ms\n      baseline: 20s\n");
    p = await startProject(config);
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await p.api.stream("/v1/services/api/deploys", { artifact: p.artifact({ version: "a1" }) }, () => {});
    await waitFor("web v1 stable", async () => (await releases("web"))[0]?.state === "stable", 30_000);
  });
  after(async () => {
    await p?.cleanup();
  });

  const releases = async (service: string) => (await p.api.get<{ releases: Release[] }>(`/v1/services/${service}/releases?env=staging`)).releases;
  const events = async (prefix: string) => (await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=1000")).events.filter((e) => e.type.startsWith(prefix));
  const drills = async () => (await p.api.get<{ drills: DrillView[] }>("/v1/drills")).drills;
  const runDrill = async (name: string) => (await p.api.post<{ run: DrillRunRecord }>(`/v1/drills/${name}/run`, { by: "test" })).run;
  const incidents = async () => (await p.api.get<{ incidents: IncidentRecord[] }>("/v1/incidents?all=true")).incidents;

  it("a rollback drill passes: the fault hits the drill release only, its watch rolls it back, the timings are recorded", async () => {
    const [v1] = await releases("web");
    // Requests to another service, through the same proxy, while the drill runs.
    const apiLoad = startLoadOnHost(p.proxyUrl, "api.test");
    let result: DrillRunRecord;
    try {
      result = await runDrill("web-rollback");
    } finally {
      await apiLoad.stop();
    }
    assert.equal(result.state, "passed", `${result.reason}\n${result.rules.map((r) => r.detail).join("\n")}`);
    const { detectedAfterMs, rolledBackAfterMs, healthyAfterMs } = result.timings;
    assert.ok(detectedAfterMs !== null && rolledBackAfterMs !== null && healthyAfterMs !== null, JSON.stringify(result.timings));
    assert.ok(detectedAfterMs <= rolledBackAfterMs && rolledBackAfterMs <= healthyAfterMs, JSON.stringify(result.timings));
    assert.ok(result.requests.failedInsideFault > 0, "the drill's load met the fault");
    assert.equal(result.requests.failedOutsideFault, 0);
    assert.equal(apiLoad.failures(), 0, "requests to the other service met no fault");
    assert.ok(apiLoad.sent() > 0);

    const web = await releases("web");
    const drilled = web.find((r) => r.id === result.releaseId)!;
    assert.equal(drilled.state, "rolled-back");
    assert.equal(drilled.artifactDigest, v1!.artifactDigest, "the live artifact, released again");
    const live = (await p.api.get<{ environments: { name: string; services: { name: string; live: { id: string } | null }[] }[] }>("/v1/status")).environments;
    assert.equal(live.find((e) => e.name === "staging")!.services.find((s) => s.name === "web")!.live!.id, v1!.id);

    const drillEvents = await events("drill.");
    assert.deepEqual(drillEvents.map((e) => e.type).sort(), ["drill.fault-injected", "drill.finished", "drill.started"]);
    const finished = drillEvents.find((e) => e.type === "drill.finished")!;
    assert.equal(finished.data.passed, true);
    assert.equal(finished.releaseId, drilled.id);
    // Practice, not an incident: the drill release's rollback opens none.
    await new Promise((r) => setTimeout(r, 2500)); // the incidents read the event log every 2 s
    assert.deepEqual((await incidents()).filter((i) => i.releaseIds.includes(drilled.id)), []);

    // Each drill appends to the learning log, once per run.
    const learned = await p.engine.learnings.list({ service: "web" });
    assert.ok(learned.some((l) => l.source === "drill web-rollback" && l.learning.startsWith("Drill passed: rollback drill web-rollback: detected after")), JSON.stringify(learned));

    const listed = (await drills()).find((d) => d.name === "web-rollback")!;
    assert.equal(listed.last?.id, result.id);
    assert.equal(listed.last?.state, "passed");
    assert.equal(listed.nextRun, null);
  });

  it("a drill that fails its rule is recorded as failed and opens an incident; a second drill meanwhile is refused (DRILL_BUSY)", async () => {
    const running = runDrill("web-strict");
    await waitFor("web-strict running", async () => (await drills()).some((d) => d.name === "web-strict" && d.running), 20_000);
    await assert.rejects(runDrill("web-kill"), (e) => isEngineError(e) && e.code === "DRILL_BUSY");
    const result = await running;
    assert.equal(result.state, "failed");
    assert.match(result.reason, /^recover_within: 100ms: healthy after /);
    await waitFor("an incident for the drill", async () => (await incidents()).some((i) => i.cause.kind === "drill"), 15_000);
    const incident = (await incidents()).find((i) => i.cause.kind === "drill")!;
    assert.deepEqual(incident.cause, { kind: "drill", ref: "web-strict" });
    assert.deepEqual([incident.services, incident.environments], [["web"], ["staging"]]);
    assert.match(incident.title, /^drill web-strict failed in staging: recover_within/);
  });

  it("a kill drill SIGKILLs an instance of the live release and times its recovery", async () => {
    const [live] = (await releases("web")).filter((r) => r.state === "stable");
    const before = (await p.engine.environment("staging").supervisor.view(live!.id)).map((i) => i.pid!);
    const result = await runDrill("web-kill");
    assert.equal(result.state, "passed", result.reason);
    assert.equal(result.releaseId, live!.id);
    assert.ok(result.timings.healthyAfterMs !== null && result.timings.healthyAfterMs <= 15_000);
    assert.equal(result.requests.failedOutsideFault, 0);
    const after = p.engine.environment("staging").supervisor.view(live!.id);
    assert.equal(after.length, 2);
    assert.equal(before.filter((pid) => !processAlive(pid)).length, 1, "one instance was killed");
    assert.ok(after.every((i) => i.status === "running" && i.healthy));
  });

  it("lists the drills over the CLI and refuses an unknown one (DRILL_NOT_FOUND)", async () => {
    const listed = await run(p.dir, ["drill", "list"]);
    assert.equal(listed.code, 0, listed.out);
    assert.match(listed.out, /web-rollback\s+rollback\s+web \/ staging\s+passed/);
    assert.match(listed.out, /web-strict\s+rollback\s+web \/ staging\s+failed/);
    const json = JSON.parse((await run(p.dir, ["drill", "list", "--json"])).out) as { drills: DrillView[] };
    assert.deepEqual(json.drills.map((d) => [d.name, d.last?.state]), [["web-rollback", "passed"], ["web-strict", "failed"], ["web-kill", "passed"]]);
    const unknown = await run(p.dir, ["drill", "run", "nope"]);
    assert.equal(unknown.code, 2, "bad input");
    assert.match(unknown.out, /DRILL_NOT_FOUND/);
    await assert.rejects(runDrill("nope"), (e) => isEngineError(e) && e.code === "DRILL_NOT_FOUND");
  });

  it("feeds the report: a Drills section with every run, and the drill releases left out of deployment success", async () => {
    const report = await p.api.get<{ drills: { runs: number; passed: number; failed: number; text: string; rows: { drill: string; passed: boolean }[] }; scorecard: { deploymentSuccess: { started: number; rolledBack: number } } }>("/v1/report?since=1h");
    assert.deepEqual([report.drills.runs, report.drills.passed, report.drills.failed], [3, 2, 1]);
    assert.equal(report.drills.text, "2 of 3 drill run(s) passed (failed: web-strict)");
    assert.deepEqual(report.drills.rows.map((r) => r.drill), ["web-kill", "web-strict", "web-rollback"]);
    assert.equal(report.scorecard.deploymentSuccess.rolledBack, 0, "the drill releases' rollbacks are practice");
    assert.equal(report.scorecard.deploymentSuccess.started, 2, "web v1 and api a1");
    const page = await fetch(`http://${p.apiAddress}/v1/report.html?since=1h`, { headers: { authorization: `Bearer ${p.token}` } });
    const html = await page.text();
    assert.match(html, /<h2>Drills<\/h2><p>2 of 3 drill run\(s\) passed \(failed: web-strict\)<\/p>/);
    assert.match(html, /web-strict/);
    const text = await run(p.dir, ["report", "--since", "1h"]);
    assert.match(text.out, /drills \(2 of 3 drill run\(s\) passed \(failed: web-strict\)\)/);
  });
});

/** A small keep-alive load on one Host through the proxy (node:http: fetch cannot set Host): every 20 ms until stopped, counting failures. */
function startLoadOnHost(url: string, host: string) {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let sent = 0;
  let failures = 0;
  let stopped = false;
  const once = () =>
    new Promise<number>((resolve) => {
      const req = request({ host: hostname, port, path: "/", agent, headers: { host } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", () => resolve(0));
      req.end();
    });
  const loop = (async () => {
    while (!stopped) {
      sent++;
      if ((await once()) !== 200) failures++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    sent: () => sent,
    failures: () => failures,
    stop: async () => {
      stopped = true;
      await loop;
      agent.destroy();
    },
  };
}
