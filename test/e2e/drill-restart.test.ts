import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "../../src/api/index.js";
import { isEngineError } from "../../src/core/index.js";
import { processAlive } from "../../src/engine/index.js";
import type { DrillView } from "../../src/engine/index.js";
import { CliProject } from "../helpers/cli.js";
import { testConfig } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A restart drill through the CLI, as a user runs it: `engineroom up` runs the engine, `engineroom
 * drill run web-restart` sends the drill's load through the proxy, stops that engine (SIGTERM, as
 * Ctrl-C), starts it again detached, and hands the measured run to the new engine: no request failed
 * while the data plane served alone, recorded and listed.
 */
describe("restart drill, end to end through the CLI", () => {
  let p: CliProject;
  let firstPid: number;

  before(async () => {
    const top = `drills:
  web-restart:
    type: restart
    service: web
    allow_production: true
    pass: { recover_within: 60s }
    load: { rps: 20 }
    timeout: 90s
`;
    p = new CliProject(testConfig("", top).replace("    instances: 2", "    artifact: ./app\n    instances: 2").replace("watch: 5m", "watch: 1s"));
    firstPid = (await p.up({ args: ["--deploy"] })).pid!;
    await waitFor("web v1 stable", async () => (await p.status()).environments[0]!.services[0]!.live?.state === "stable", 60_000);
  });
  after(async () => {
    const restarted = p?.info()?.pid;
    const left = await p?.cleanup();
    assert.deepEqual(left, []);
    if (restarted) assert.equal(processAlive(restarted), false, "engineroom down stopped the restarted engine");
  });

  it("restarts the engine under load with no failed request, and records the run", async () => {
    const ran = await p.run(["drill", "run", "web-restart"]);
    assert.equal(ran.code, 0, ran.out);
    assert.match(ran.out, /passed web-restart \(restart, web in production\)/);
    assert.match(ran.out, /✓ max_failed_requests: 0 — 0 of \d+ requests failed/);
    const now = p.info()!;
    assert.notEqual(now.pid, firstPid, "another engine process serves now");
    assert.equal(processAlive(firstPid), false);
    const listed = JSON.parse((await p.run(["drill", "list", "--json"])).out) as { drills: DrillView[] };
    const last = listed.drills[0]!.last!;
    assert.equal(last.state, "passed");
    assert.equal(last.type, "restart");
    assert.ok(last.requests.sent > 20, `the drill's load ran (${last.requests.sent} requests)`);
    assert.equal(last.requests.failed, 0);
    assert.ok(last.timings.healthyAfterMs !== null && last.timings.healthyAfterMs > 0);
    assert.match((await p.run(["drill", "list"])).out, /web-restart\s+restart\s+web \/ production\s+passed/);
    // The engine's own run refuses a restart drill: only the CLI can restart the engine.
    const api = new ApiClient({ address: now.api, token: readFileSync(join(p.dir, ".engineroom/api-token"), "utf8").trim() });
    await assert.rejects(api.post("/v1/drills/web-restart/run", {}), (e) => isEngineError(e) && e.code === "DRILL_UNSUPPORTED");
  });
});
