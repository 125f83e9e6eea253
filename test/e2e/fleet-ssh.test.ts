/**
 * An environment on its own ssh hosts (`environments.production.runtime: ssh`, `hosts:`), end to
 * end over real ssh to three network-namespace hosts: the engine forwards each host's control
 * socket, attaches to its daemon, and serves production through its front door over the hosts'
 * proxies.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderStatus } from "../../src/cli/render.js";
import type { EngineError } from "../../src/core/errors.js";
import type { FleetProxy } from "../../src/dataplane/index.js";
import type { DeployResult, RollbackResult } from "../../src/deploy/index.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import { get, startLoad } from "../helpers/load.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHosts } from "../helpers/netns-hosts.js";
import { startProject, testConfig, type Behaviour, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const lab = await startTestHosts(3);
const skip = typeof lab === "string" ? `no test hosts here: ${lab}` : false;

/** production on the run's hosts: keys through a secret, host keys pinned, one instance per host. */
function config(hosts: TestHosts): string {
  const entries = hosts.hosts
    .map((h, i) => `      ${h.name}:\n        address: ${h.address}\n        key: { secret: host_key }\n        host_key: ${h.hostKey}\n        labels: { n: "${i + 1}" }\n        state_dir: ${h.stateDir}\n`)
    .join("");
  const top = `secrets:\n  providers:\n    keys: { type: file, dir: ./keys }\nenvironments:\n  production:\n    runtime: ssh\n    host_proxy_listen: 0.0.0.0:0\n    hosts:\n${entries}`;
  return testConfig("", top).replace("    instances: 2", "    instances: 2\n    placement: { per_host: 1 }");
}

const deploy = (p: TestProject, artifact: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact }, () => {});
const rollback = (p: TestProject) => p.api.stream<RollbackResult>("/v1/services/web/rollback", {}, () => {});
/** production's FleetProxy (an environment attached after start has it behind the proxy it started with). */
const frontDoor = (p: TestProject) => {
  const proxy = p.engine.environments[0]!.proxy as FleetProxy | { inForce: FleetProxy };
  return "inForce" in proxy ? proxy.inForce : proxy;
};

/** Which host runs each running instance of a release: host name → count. */
function placement(p: TestProject, releaseId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of p.engine.runtime.list()) if (i.releaseId === releaseId && i.status === "running") counts[i.labels.host!] = (counts[i.labels.host!] ?? 0) + 1;
  return counts;
}

/** Processes of this machine whose command line names `text` (the engine's ssh forwarding names the project's folder). */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text) && !processGone(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** An artifact whose app listens on every address of its host (the engine probes it from outside the host). */
function listeningEverywhere(p: TestProject, behaviour: Behaviour): string {
  const folder = p.artifact(behaviour);
  const server = join(folder, "server.js");
  writeFileSync(server, readFileSync(server, "utf8").replace('Number(process.env.PORT), "127.0.0.1"', 'Number(process.env.PORT), "0.0.0.0"'));
  return folder;
}

describe("production on three ssh hosts (runtime: ssh, hosts:), over real ssh", { skip, concurrency: false, timeout: 900_000 }, () => {
  const hosts = lab as TestHosts;
  const all = { host1: 1, host2: 1, host3: 1 };
  let p: TestProject;
  const artifact = (behaviour: Behaviour) => listeningEverywhere(p, behaviour);
  /** The artifact's folder on each host, as its agent keeps it: inode and change time (the same when it was not shipped again). */
  const onHosts = (digest: string) => hosts.hosts.map((h) => statSync(join(h.stateDir, "agent", "artifacts", `sha256-${digest.replace("sha256:", "")}`))).map((s) => `${s.ino}:${s.ctimeMs}`);
  let v1: DeployResult;
  let v2: DeployResult;

  before(async () => {
    p = await startProject(config(hosts), {
      beforeStart: (dir) => {
        mkdirSync(join(dir, "keys"), { mode: 0o700 });
        writeFileSync(join(dir, "keys", "host_key"), readFileSync(hosts.hosts[0]!.keyFile), { mode: 0o600 });
      },
    });
  });
  after(async () => {
    for (const h of hosts.hosts) hosts.restore(h.name);
    await p?.cleanup();
    if (p) assert.deepEqual(processesNaming(p.dir), [], "the engine's ssh forwarding ended with it");
    const prefix = hosts.hosts[0]!.namespace.replace(/-\d+$/, "");
    await hosts.stop();
    assert.deepEqual(leftoverNamespaces(prefix), [], "every namespace of the run is deleted");
  });

  it("before the hosts are bootstrapped, production runs nothing and says why; the engine serves its API", async () => {
    assert.deepEqual(p.engine.fleets, []);
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.environment, h.reachable]), [
      ["host1", "production", false],
      ["host2", "production", false],
      ["host3", "production", false],
    ]);
    assert.match(status.hosts![0]!.error!, /production runs nothing/);
    const error = await deploy(p, artifact({ version: "v0" })).then(
      () => assert.fail("a deploy onto hosts that did not answer must fail"),
      (e: EngineError) => e,
    );
    assert.match(error.message, /production runs nothing|hosts did not all answer/, error.message);
  });

  it("bootstrap through the engine attaches production to every host, over its forwarded socket", async () => {
    const boot = await p.api.post<{ hosts: { host: string; ok: boolean; daemon: string }[] }>("/v1/hosts/bootstrap", {});
    assert.deepEqual(boot.hosts.map((r) => [r.host, r.ok, r.daemon]), [
      ["host1", true, "started"],
      ["host2", true, "started"],
      ["host3", true, "started"],
    ]);
    assert.deepEqual(p.engine.fleets.map((f) => [f.environment, f.hosts.map((h) => h.name)]), [["production", ["host1", "host2", "host3"]]]);
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.environment, h.reachable, h.running]), [
      ["host1", "production", true, 0],
      ["host2", "production", true, 0],
      ["host3", "production", true, 0],
    ]);
    assert.ok(status.events.some((e) => e.type === "environment.attached" && e.environment === "production"), "the attachment is an event");
    for (const h of p.engine.fleets[0]!.hosts) assert.match(h.control_socket, new RegExp(`hosts/production/${h.name}/forward/`));
    assert.ok(p.engine.fleets[0]!.runtime.hosts.every((h) => h.ship), "artifacts go to these hosts over ssh");
  });

  it("deploys v1 with placement per_host 1: one instance on each host, through the front door", async () => {
    v1 = await deploy(p, artifact({ version: "v1" }));
    assert.equal(v1.release.state, "watching");
    assert.deepEqual(placement(p, v1.release.id), all);
    for (const i of p.engine.runtime.list()) assert.equal(i.host, hosts.hosts.find((h) => h.name === i.labels.host)!.address, "reached at its host's address");
    assert.deepEqual(frontDoor(p).serving(), ["host1", "host2", "host3"]);
    for (let i = 0; i < 6; i++) {
      const answer = await get(p.proxyUrl + "/");
      assert.equal(answer.status, 200);
      assert.equal(answer.version, "v1");
    }
    assert.equal(onHosts(v1.release.artifactDigest).length, 3, "the artifact is on every host, in its agent's store");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.environment, h.reachable, h.running]), [
      ["host1", "production", true, 1],
      ["host2", "production", true, 1],
      ["host3", "production", true, 1],
    ]);
    assert.match(renderStatus(status), /hosts\n.*● host1 \(production\) {2}load [\d.]+ [\d.]+ [\d.]+ {2}free disk [\d.]+ GiB {2}1 running/);
  });

  it("deploys v2 under constant load through the front door without a failed request", async () => {
    const load = startLoad(p.proxyUrl, { connections: 6, maxMs: 180_000 });
    await new Promise((r) => setTimeout(r, 300));
    v2 = await deploy(p, artifact({ version: "v2" }));
    await new Promise((r) => setTimeout(r, 300));
    const totals = await load.stop();
    assert.equal(v2.release.state, "watching");
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    assert.ok((totals.versions.v1 ?? 0) > 0 && (totals.versions.v2 ?? 0) > 0, `both versions served: ${JSON.stringify(totals.versions)}`);
    assert.deepEqual(placement(p, v2.release.id), all);
    for (let i = 0; i < 6; i++) assert.equal((await get(p.proxyUrl)).version, "v2");
  });

  it("rolls back warm: v1's instances still run on every host and take the traffic again", async () => {
    const warm = p.engine.runtime.list().filter((i) => i.releaseId === v1.release.id && i.status === "running").map((i) => `${i.labels.host}:${i.id}:${i.pid}`).sort();
    assert.equal(warm.length, 3, warm.join(", "));
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 120_000 });
    const result = await rollback(p);
    const totals = await load.stop();
    assert.equal(result.warm, true);
    assert.equal(result.to.id, v1.release.id);
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    const serving = p.engine.runtime.list().filter((i) => i.releaseId === v1.release.id && i.status === "running").map((i) => `${i.labels.host}:${i.id}:${i.pid}`).sort();
    assert.deepEqual(serving, warm, "the same v1 instances, not started again");
    for (let i = 0; i < 6; i++) assert.equal((await get(p.proxyUrl)).version, "v1");
  });

  it("ships an artifact to each host once: deploying v2's digest again sends nothing", async () => {
    const before = onHosts(v2.release.artifactDigest);
    // A restarted engine has no memory of what it shipped (and starts the live v1 again): the hosts say they have it.
    await p.stop();
    await p.restart();
    const again = await deploy(p, artifact({ version: "v2" }));
    assert.equal(again.release.artifactDigest, v2.release.artifactDigest);
    assert.deepEqual(placement(p, again.release.id), all);
    assert.deepEqual(onHosts(v2.release.artifactDigest), before, "the hosts' copies are the ones shipped at the first deploy");
    for (const h of hosts.hosts) {
      const incoming = join(h.stateDir, "agent", "artifacts", "incoming");
      assert.deepEqual(existsSync(incoming) ? readdirSync(incoming) : [], [], `nothing arrived on ${h.name}`);
    }
    assert.equal((await get(p.proxyUrl)).version, "v2");
  });

  it("fails a deploy naming the host whose link was cut mid-deploy; the others keep serving the previous release", async () => {
    const known = new Set(p.engine.runtime.list().map((i) => i.releaseId));
    let error: EngineError | undefined;
    const deploying = deploy(p, artifact({ version: "v3" })).catch((e: EngineError) => (error = e));
    await waitFor("v3's first instance", () => p.engine.runtime.list().some((i) => !known.has(i.releaseId) && i.labels.host === "host1"), 120_000);
    hosts.cut("host3");
    await deploying;
    assert.ok(error, "the deploy failed");
    assert.equal(error.code, "FLEET_HOST_FAILED", error.message);
    assert.match(error.message, /\bhost3\b/);
    await waitFor("the front door to leave out the cut host", () => frontDoor(p).serving().join() === "host1,host2", 30_000);
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 30_000, maxRequests: 400 });
    const totals = await load.stop();
    assert.deepEqual(Object.keys(totals.versions), ["v2"], `only v2 served: ${JSON.stringify(totals.versions)}`);
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    const left = p.engine.runtime.list().filter((i) => !known.has(i.releaseId) && i.status === "running" && i.labels.host !== "host3");
    assert.deepEqual(left.map((i) => i.id), [], "no instance of the failed release runs on the hosts that answer");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.reachable]), [["host1", true], ["host2", true], ["host3", false]]);
    hosts.restore("host3");
  });
});

describe("staging on this machine, production on ssh hosts that do not answer", { timeout: 120_000 }, () => {
  let p: TestProject;
  before(async () => {
    // Nothing listens on port 9 here: ssh is refused at once, and production starts unattached.
    const top = [
      "secrets:",
      "  providers:",
      "    keys: { type: file, dir: ./keys }",
      "environments:",
      "  staging: {}",
      "  production:",
      "    proxy: { listen: 127.0.0.1:0 }",
      "    runtime: ssh",
      "    trust_on_first_use: true",
      "    hosts:",
      "      far-1: { address: 127.0.0.1, port: 9, key: { secret: host_key }, labels: { role: web } }",
      "      far-2: { address: 127.0.0.1, port: 9, key: { secret: host_key }, labels: { role: web } }",
    ].join("\n");
    p = await startProject(testConfig("", top).replace("    instances: 2", "    instances: 2\n    placement: { labels: { role: web }, per_host: 2 }"), {
      beforeStart: (dir) => {
        mkdirSync(join(dir, "keys"), { mode: 0o700 });
        writeFileSync(join(dir, "keys", "host_key"), "not a key that any host takes\n", { mode: 0o600 });
      },
    });
  });
  after(async () => {
    await p?.cleanup();
    if (p) assert.deepEqual(processesNaming(p.dir), [], "no ssh of the engine is left");
  });

  it("deploys into staging on this machine while production waits for its hosts; each environment has its own runtime", async () => {
    const [staging, production] = p.engine.environments;
    assert.equal(staging!.config.services.web!.instances, 2, "placement is not read on a local environment");
    assert.equal(production!.config.services.web!.instances, 4, "per_host 2 on both hosts");
    const result = await deploy(p, listeningEverywhere(p, { version: "v1" }));
    assert.equal(result.release.environment, "staging");
    assert.equal(result.release.state, "watching");
    const running = p.engine.runtime.list().filter((i) => i.status === "running");
    assert.deepEqual(running.map((i) => [i.labels.environment, i.host]), [["staging", "127.0.0.1"], ["staging", "127.0.0.1"]]);
    assert.equal((await get(p.proxyUrl)).version, "v1");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.hosts?.map((h) => [h.name, h.environment, h.reachable]), [["far-1", "production", false], ["far-2", "production", false]]);
    assert.match(status.hosts![0]!.error!, /HOST_UNREACHABLE|did not|refused|production runs nothing/);
    assert.deepEqual(p.engine.fleets, []);
  });
});
