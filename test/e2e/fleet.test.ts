import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineError } from "../../src/core/errors.js";
import type { DeployResult } from "../../src/deploy/index.js";
import { renderStatus } from "../../src/cli/render.js";
import type { FleetProxy } from "../../src/dataplane/index.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { FleetRuntime } from "../../src/runtime/index.js";
import { fleetRuntimeYaml, startLocalHosts, type LocalHost } from "../helpers/fleet-hosts.js";
import { get, startLoad } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const deploy = (p: TestProject, artifact: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact }, () => {});

const frontDoor = (p: TestProject) => p.engine.environments[0]!.proxy as FleetProxy;

/** Which host runs each running instance of a release: host name → count. */
function placement(p: TestProject, releaseId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of p.engine.runtime.list()) if (i.releaseId === releaseId && i.status === "running") counts[i.labels.host!] = (counts[i.labels.host!] ?? 0) + 1;
  return counts;
}

// Every request to a host is bounded (a silent host fails it with FLEET_HOST_FAILED), so the file
// ends; its own timeout and the hooks' make a hang fail rather than stall a CI run.
describe("a fleet of three hosts (three data-plane daemons), end to end", { timeout: 900_000 }, () => {
  let hosts: LocalHost[];
  let p: TestProject;
  before(async () => {
    hosts = await startLocalHosts(["a", "b", "c"]);
    p = await startProject(testConfig("", fleetRuntimeYaml(hosts)).replace("instances: 2", "instances: 3"));
  }, { timeout: 120_000 });
  after(async () => {
    await p?.cleanup(); // bounded even while a host is silent
    for (const host of hosts ?? []) host.resume();
    await Promise.all((hosts ?? []).map((h) => h.cleanup()));
  }, { timeout: 180_000 });

  it("places one instance on each host and serves through the front door", async () => {
    const result = await deploy(p, p.artifact({ version: "v1" }));
    assert.equal(result.release.state, "watching");
    assert.deepEqual(placement(p, result.release.id), { a: 1, b: 1, c: 1 });
    const answer = await get(p.proxyUrl + "/");
    assert.equal(answer.status, 200);
    assert.equal(answer.version, "v1");
    assert.equal((p.engine.runtime as FleetRuntime).kind, "ssh");
    // The artifact was shipped to each host once, by digest, and the instances run in the host's copy.
    const hex = result.release.artifactDigest.replace("sha256:", "");
    for (const host of hosts) assert.ok(existsSync(join(host.stateDir, "agent", "artifacts", `sha256-${hex}`, "server.js")), `artifact on ${host.name}`);
    const logs = await p.engine.runtime.logs(p.engine.runtime.list()[0]!.id);
    assert.ok(logs.some((l) => l.includes("v1 listening")), logs.join("\n"));
    assert.deepEqual(frontDoor(p).serving(), ["a", "b", "c"], "the front door sends to every host's proxy");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.reachable, h.running]), [["a", true, 1], ["b", true, 1], ["c", true, 1]]);
    assert.ok(status.hosts!.every((h) => h.load!.length === 3 && h.freeDiskBytes! > 0));
    assert.match(renderStatus(status), /hosts\n.*● a {2}load [\d.]+ [\d.]+ [\d.]+ {2}free disk [\d.]+ GiB {2}1 running/);
  });

  it("deploys v2 on every host under load through the front door without a failed request", async () => {
    const load = startLoad(p.proxyUrl, { connections: 6, maxMs: 120_000 });
    await new Promise((r) => setTimeout(r, 300));
    const result = await deploy(p, p.artifact({ version: "v2" }));
    await new Promise((r) => setTimeout(r, 300));
    const totals = await load.stop();
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    assert.ok((totals.versions.v1 ?? 0) > 0 && (totals.versions.v2 ?? 0) > 0, `both versions served: ${JSON.stringify(totals.versions)}`);
    assert.deepEqual(placement(p, result.release.id), { a: 1, b: 1, c: 1 });
    for (let i = 0; i < 6; i++) assert.equal((await get(p.proxyUrl)).version, "v2");
  });

  it("waits for a slow host (its daemon paused mid-deploy) and switches every host, without a failed request", async () => {
    const b = hosts.find((h) => h.name === "b")!;
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 120_000 });
    const deploying = deploy(p, p.artifact({ version: "v3" }));
    await new Promise((r) => setTimeout(r, 200));
    b.pause();
    await new Promise((r) => setTimeout(r, 1_500));
    b.resume();
    const result = await deploying;
    const totals = await load.stop();
    assert.equal(result.release.state, "watching");
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    assert.deepEqual(placement(p, result.release.id), { a: 1, b: 1, c: 1 });
    for (let i = 0; i < 6; i++) assert.equal((await get(p.proxyUrl)).version, "v3");
  });

  it("a restarted engine adopts the instances on every host; they served throughout", async () => {
    const running = () => p.engine.runtime.list().filter((i) => i.status === "running");
    // The release before the rollback target (v1) is retired in the background after v3's switch: wait until only v3 and the warm v2 run.
    await waitFor("v1's instances to be retired", () => running().every((i) => !i.id.includes("-v1-")));
    const before = running().map((i) => `${i.labels.host}:${i.id}:${i.pid}`).sort();
    assert.equal(before.length, 6, before.join(", "));
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 120_000 });
    await p.engine.stop({ keepDataPlane: true });
    await p.restart();
    const totals = await load.stop();
    const after = p.engine.runtime.list().filter((i) => i.status === "running").map((i) => `${i.labels.host}:${i.id}:${i.pid}`).sort();
    assert.deepEqual(after, before, "the same instances, adopted on their hosts");
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    assert.equal((await get(p.proxyUrl)).version, "v3");
    assert.deepEqual(frontDoor(p).serving(), ["a", "b", "c"]);
  });

  it("fails a deploy naming the host whose daemon was killed; the other hosts keep serving v3", async () => {
    const c = hosts.find((h) => h.name === "c")!;
    const known = new Set(p.engine.runtime.list().map((i) => i.releaseId));
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 120_000 });
    let error: EngineError | undefined;
    const deploying = deploy(p, p.artifact({ version: "v4" })).catch((e: EngineError) => (error = e));
    // Mid-deploy: once the new release's first instance runs on host a.
    await waitFor("v4's first instance", () => p.engine.runtime.list().some((i) => !known.has(i.releaseId) && i.labels.host === "a"), 60_000);
    process.kill(c.pid(), "SIGKILL");
    await deploying;
    const totals = await load.stop();
    assert.ok(error, "the deploy failed");
    assert.equal(error.code, "FLEET_HOST_FAILED", error.message);
    assert.match(error.message, /\bc\b/);
    assert.deepEqual(Object.keys(totals.versions), ["v3"], `only v3 served: ${JSON.stringify(totals.versions)}`);
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    for (let i = 0; i < 4; i++) assert.equal((await get(p.proxyUrl)).version, "v3");
    const left = p.engine.runtime.list().filter((i) => !known.has(i.releaseId) && i.status === "running" && i.labels.host !== "c");
    assert.deepEqual(left.map((i) => i.id), [], "no instance of the failed release runs on the hosts that answer");
    await waitFor("the front door to leave out the lost host", () => frontDoor(p).serving().join() === "a,b", 30_000);
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.reachable]), [["a", true], ["b", true], ["c", false]]);
  });
});
