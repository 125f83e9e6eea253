import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Release } from "../store/index.js";
import { hostname } from "node:os";
import { holderIsDead } from "./holder.js";
import { probe } from "./probe.js";
import { drive, ready, SupervisorRig, testService, until, writeApp, type ServiceOverrides } from "./test-support.js";

describe("Supervisor: live health of every supervised instance", () => {
  let rig: SupervisorRig;
  beforeEach(async () => {
    rig = await ready(new SupervisorRig());
  });
  afterEach(() => rig.close());

  async function supervised(overrides: ServiceOverrides = {}) {
    const release: Release = await rig.store.releases.create({ service: "web", environment: "production", artifactDigest: "sha256:1", configHash: "c", reason: "test" });
    const service = testService({ instances: 2, release: { stop_grace: 300 }, health: { timeout: 200 }, ...overrides });
    const instances = await rig.supervisor.start(release, service, writeApp(rig.dir, { version: "v1" }), {});
    for (const i of instances) await until(async () => (await probe({ host: i.host, port: i.port, path: "/health", timeoutMs: 500 })).ok, `instance on :${i.port}`);
    rig.supervisor.supervise(release.id);
    return { release, instances };
  }
  const eventsOf = async (type: string) => rig.events(type);

  it("takes a hung instance out of the rotation after 3 failed probes, ends it, and brings a fresh one back after healthy_threshold passes", async () => {
    const { release, instances } = await supervised();
    const [hung, other] = instances;
    process.kill(-hung!.pid!, "SIGSTOP");
    await drive(rig.clock, until(() => rig.supervisor.upstreams(release.id).length === 1, "the hung instance out of the rotation"));
    assert.deepEqual(rig.supervisor.upstreams(release.id).map((u) => u.instanceId), [other!.id], "the other instance keeps serving");
    assert.deepEqual(rig.upstreamChanges, [release.id], "the proxy is told at once");
    const [unhealthy] = await eventsOf("instance.unhealthy");
    assert.match(unhealthy!.message, new RegExp(`^instance ${hung!.id} failed GET /health 3 times in a row \\(last: no answer within 200ms\\); out of the rotation, restarting it$`));
    assert.deepEqual(rig.supervisor.health(release.id).map((h) => h.failures), [3, 0], "the slot counts as failing until its new instance passes");

    const [restarted] = await drive(rig.clock, until(async () => (await eventsOf("instance.restarted"))[0] && eventsOf("instance.restarted"), "the restart", 15_000), { timeoutMs: 20_000 });
    assert.equal(restarted!.data.replaced, hung!.id);
    assert.equal(restarted!.data.why, "unhealthy");
    assert.match(restarted!.message, /\(it failed its health check\) and is healthy$/);
    assert.equal(rig.supervisor.upstreams(release.id).length, 2);
    // The hung instance is stopped with its grace, on the test's clock: drive it until the SIGKILL.
    await drive(rig.clock, until(() => holderIsDead({ pid: hung!.pid!, host: hostname() }), "the hung process to be ended", 15_000), { timeoutMs: 20_000 });
    assert.equal(rig.supervisor.isWarm(release.id), true);
    assert.deepEqual(rig.supervisor.health(release.id).map((h) => h.failures), [0, 0]);
  });

  it("keeps an instance in the rotation through fewer failures in a row than the threshold", async () => {
    const { release, instances } = await supervised();
    process.kill(-instances[0]!.pid!, "SIGSTOP");
    await drive(rig.clock, until(() => rig.supervisor.health(release.id)[0]!.failures === 2, "two failed probes"), { stepMs: 20 });
    process.kill(-instances[0]!.pid!, "SIGCONT");
    await drive(rig.clock, until(() => rig.supervisor.health(release.id)[0]!.failures === 0, "a pass"), { stepMs: 20 });
    assert.equal(rig.supervisor.upstreams(release.id).length, 2);
    assert.deepEqual(await eventsOf("instance.unhealthy"), []);
  });

  it("says release.down once when every instance failed its health check, and restarts them", async () => {
    const { release, instances } = await supervised();
    const downs: string[] = [];
    rig.supervisor.onReleaseDown((id) => downs.push(id));
    for (const i of instances) await probe({ host: i.host, port: i.port, path: "/sick", timeoutMs: 500 });
    await drive(rig.clock, until(async () => (await eventsOf("release.down")).length, "release.down"));
    assert.deepEqual(downs, [release.id]);
    await drive(rig.clock, until(() => rig.supervisor.upstreams(release.id).length === 2, "both back"));
    assert.equal((await eventsOf("release.down")).length, 1);
    assert.equal((await eventsOf("instance.restarted")).length, 2);
  });

  it("gives up an instance that keeps failing its health check past the restart budget", async () => {
    const { release, instances } = await supervised({ instances: 1, restart: { max_restarts: 0 } });
    await probe({ host: instances[0]!.host, port: instances[0]!.port, path: "/sick", timeoutMs: 500 });
    await drive(rig.clock, until(() => rig.gaveUp.length, "the supervisor to give up"));
    assert.deepEqual(rig.gaveUp, [[release.id, instances[0]!.id]]);
    assert.match((await eventsOf("instance.failed"))[0]!.message, /was restarted 1 times within/);
  });
});
