import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineError } from "../../src/core/errors.js";
import { probe, probeInstance, type DeployResult } from "../../src/deploy/index.js";
import { DataPlane } from "../../src/dataplane/index.js";
import { FleetRuntime, RemoteRuntime, type InstanceInfo } from "../../src/runtime/index.js";
import { fleetRuntimeYaml, startLocalHosts, type LocalHost } from "../helpers/fleet-hosts.js";
import { get } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

/** An app that listens on 127.0.0.1 only: /ok answers 200 "fine", /fail 503, /hang never answers. */
const loopbackApp = `require("node:http").createServer((req, res) => {
  if (req.url === "/hang") return;
  res.writeHead(req.url === "/ok" ? 200 : 503, { "x-app": "loopback" });
  res.end(req.url === "/ok" ? "fine" : "failing");
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

// One host: a real data-plane daemon in its own state folder; its agent runs the instance and probes it.
describe("the host agent's instance.probe", { timeout: 120_000 }, () => {
  let host: LocalHost;
  let plane: DataPlane;
  let fleet: FleetRuntime;
  let appDir: string;
  let instance: InstanceInfo;

  before(async () => {
    [host] = await startLocalHosts(["a"]);
    plane = await DataPlane.attach({ stateDir: host!.stateDir, start: false });
    fleet = new FleetRuntime([{ name: "a", labels: {}, runtime: new RemoteRuntime({ host: "a", channel: plane }) }]);
    appDir = mkdtempSync(join(tmpdir(), "engineroom-probe-app-"));
    writeFileSync(join(appDir, "server.js"), loopbackApp);
    const port = await fleet.allocatePort();
    instance = await fleet.start({ id: "web-v1-0", service: "web", releaseId: "r1", command: "node server.js", cwd: appDir, env: {}, port, labels: { slot: "0" } });
    await waitFor("the app to listen", async () => (await fleet.probe(instance.id, { path: "/ok", timeoutMs: 1_000 })).ok);
  });

  after(async () => {
    host?.resume();
    await fleet?.stop(instance.id, { graceMs: 1_000 }).catch(() => {});
    fleet?.close();
    plane?.close();
    await host?.cleanup();
    if (appDir) rmSync(appDir, { recursive: true, force: true });
  });

  it("answers the status, headers and body of an app that listens on loopback only, its body capped", async () => {
    const ok = await fleet.probe(instance.id, { path: "/ok", timeoutMs: 2_000 });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "fine");
    assert.equal(ok.headers["x-app"], "loopback");
    const capped = await fleet.probe(instance.id, { path: "/ok", timeoutMs: 2_000, maxBodyBytes: 2 });
    assert.equal(capped.ok && capped.body, "fi");
    const failing = await fleet.probe(instance.id, { method: "POST", path: "/fail", body: "x", timeoutMs: 2_000 });
    assert.equal(failing.ok && failing.status, 503);
    assert.equal(failing.ok && failing.body, "failing");
  });

  it("gives up on a silent instance within the probe's timeout", async () => {
    const started = Date.now();
    const silent = await fleet.probe(instance.id, { path: "/hang", timeoutMs: 300 });
    assert.equal(silent.ok, false);
    assert.equal(!silent.ok && silent.error, "no answer within 300ms");
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
  });

  it("refuses an unknown instance with INSTANCE_UNKNOWN, and bad arguments with API_BAD_REQUEST", async () => {
    const unknown = await plane.request("instance.probe", { instance: "web-v9-0", path: "/ok", timeoutMs: 1_000 }).catch((e: EngineError) => e);
    assert.equal((unknown as EngineError).code, "INSTANCE_UNKNOWN");
    assert.match((unknown as EngineError).message, /runs no instance web-v9-0/);
    const bad = await plane.request("instance.probe", { instance: instance.id, path: "ok", timeoutMs: -1 }).catch((e: EngineError) => e);
    assert.equal((bad as EngineError).code, "API_BAD_REQUEST");
  });

  it("makes a failed probe, not a thrown error, of a host that does not answer", async () => {
    host.pause();
    try {
      const result = await probeInstance(fleet, instance, { path: "/ok", timeoutMs: 200 });
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.error : "", /^FLEET_HOST_FAILED Host a did not answer/);
    } finally {
      host.resume();
    }
    // The connection to the silent daemon was dropped: a later probe reconnects and gets the answer.
    await waitFor("a probe to pass once the host answers again", async () => (await probeInstance(fleet, instance, { path: "/ok", timeoutMs: 2_000 })).ok, 30_000);
  });
});

/** An address of this machine that is not loopback: the engine reaches it, an app listening on 127.0.0.1 does not answer there. */
const hostAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

const deploy = (p: TestProject, artifact: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact }, () => {});

// Two hosts (data-plane daemons on this machine) declared at this machine's own non-loopback
// address: the engine sees each instance there, where the fixture app (127.0.0.1 only) refuses
// connections. Health gates, smoke tests, live health and adoption pass only through the agents.
describe("a fleet whose apps listen on loopback: the hosts' agents probe them", { timeout: 600_000, skip: hostAddress ? false : "this machine has no non-loopback IPv4 address" }, () => {
  let hosts: LocalHost[];
  let p: TestProject;
  const supervisor = () => p.engine.environments[0]!.supervisor;
  const running = (releaseId: string) => p.engine.runtime.list().filter((i) => i.releaseId === releaseId && i.status === "running");
  let v1: DeployResult;

  before(async () => {
    hosts = await startLocalHosts(["a", "b"]);
    p = await startProject(testConfig("", fleetRuntimeYaml(hosts).replaceAll("address: 127.0.0.1", `address: ${hostAddress}`).replace("proxy_listen: 127.0.0.1:0", "proxy_listen: 0.0.0.0:0")));
  }, { timeout: 120_000 });
  after(async () => {
    await p?.cleanup();
    await Promise.all((hosts ?? []).map((h) => h.cleanup()));
  }, { timeout: 180_000 });

  it("passes the health gate and the smoke tests of instances the engine cannot reach", async () => {
    v1 = await deploy(p, p.artifact({ version: "v1" }));
    assert.equal(v1.release.state, "watching");
    const instances = running(v1.release.id);
    assert.deepEqual(instances.map((i) => i.labels.host).sort(), ["a", "b"]);
    for (const instance of instances) {
      assert.equal(instance.host, hostAddress);
      const direct = await probe({ host: instance.host, port: instance.port, path: "/healthz", timeoutMs: 1_000 });
      assert.equal(direct.ok, false, `the engine itself does not reach ${instance.id}: ${JSON.stringify(direct)}`);
    }
    const events = await p.engine.store.events.list({ releaseId: v1.release.id });
    assert.ok(events.some((e) => e.type === "release.verified"), events.map((e) => e.type).join(", "));
    // And traffic: each host's proxy dials its instances where its host reaches them (loopback), not where the engine sees them.
    for (let i = 0; i < 4; i++) {
      const answer = await get(p.proxyUrl + "/");
      assert.equal(answer.status, 200, JSON.stringify(answer));
      assert.equal(answer.version, "v1");
    }
  });

  it("keeps the instances healthy under the live health check, probed by the agents", async () => {
    const checked = () => supervisor().health(v1.release.id);
    await new Promise((r) => setTimeout(r, 1_500)); // some fifteen live probes (health.interval 100ms)
    assert.deepEqual(checked().map((h) => [h.ok, h.failures]), [[true, 0], [true, 0]], JSON.stringify(checked()));
    assert.ok(checked().every((h) => /^200 in \d+ms$/.test(h.detail)), JSON.stringify(checked()));
    const unhealthy = await p.engine.store.events.list({ types: ["instance.unhealthy"], releaseId: v1.release.id });
    assert.deepEqual(unhealthy, []);
  });

  it("fails a release whose health check answers 500 on the host, with that status as the last probe", async () => {
    let error: EngineError | undefined;
    await deploy(p, p.artifact({ version: "v2", healthStatus: 500 })).catch((e: EngineError) => (error = e));
    assert.equal(error?.code, "DEPLOY_HEALTH_TIMEOUT", error?.message);
    assert.match(error.message, /last probe: 500 in \d+ms/);
  });

  it("restarts a crashed instance and lets it back in after its health check on the host", async () => {
    const [victim] = running(v1.release.id);
    process.kill(-victim!.pid!, "SIGKILL");
    await waitFor("the crashed instance's replacement to be healthy", () => {
      const health = supervisor().health(v1.release.id);
      return health.length === 2 && !health.some((h) => h.instanceId === victim!.id) && health.every((h) => h.ok);
    }, 60_000);
    const restarted = await p.engine.store.events.list({ types: ["instance.restarted"], releaseId: v1.release.id });
    assert.equal(restarted.length, 1, JSON.stringify(restarted));
  });

  it("a restarted engine adopts the instances: their one probe at adoption passes on the hosts", async () => {
    const before = running(v1.release.id).map((i) => `${i.id}:${i.pid}`).sort();
    await p.engine.stop({ keepDataPlane: true });
    await p.restart();
    const after = running(v1.release.id).map((i) => `${i.id}:${i.pid}`).sort();
    assert.deepEqual(after, before, "the same instances, kept");
    assert.deepEqual(supervisor().health(v1.release.id).map((h) => h.ok), [true, true]);
  });
});
