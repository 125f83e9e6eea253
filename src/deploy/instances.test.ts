import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Release } from "../store/index.js";
import { hostname } from "node:os";
import { holderIsDead } from "./holder.js";
import { probe } from "./probe.js";
import { crash as crashInstance, drive, ready, SupervisorRig, testService, until, writeApp, type AppBehaviour, type ServiceOverrides } from "./test-support.js";

describe("Supervisor", () => {
  let rig: SupervisorRig;
  beforeEach(async () => {
    rig = await ready(new SupervisorRig());
  });
  afterEach(() => rig.close());

  /** Starts a release of the test app and waits until every instance listens. */
  async function startRelease(overrides: ServiceOverrides = {}, behaviour: AppBehaviour = { version: "v1" }) {
    const release: Release = await rig.store.releases.create({ service: "web", environment: "production", artifactDigest: "sha256:1", configHash: "c", reason: "test" });
    const instances = await rig.supervisor.start(release, testService(overrides), writeApp(rig.dir, behaviour), { GREETING: "hi" });
    if (!behaviour.exitAtStart) for (const instance of instances) await listening(instance);
    return { release, instances };
  }
  const listening = (i: { host: string; port: number }) =>
    until(async () => (await probe({ host: i.host, port: i.port, path: "/health", timeoutMs: 500 })).ok, `instance on :${i.port}`);
  /** The process exited (a zombie waiting for its parent counts as gone). */
  const gone = (pid: number) => holderIsDead({ pid, host: hostname() });
  const spawned = (id: string) => rig.runtime.list().some((i) => i.id === id);
  const count = async (type: string) => (await rig.events(type)).length;
  /** Makes the instance exit with code 7 on its own; once supervised, waits for the supervisor to record the crash. */
  async function crash(i: { host: string; port: number }, supervised = true) {
    const crashes = await count("instance.crashed");
    await crashInstance(i);
    if (supervised) await until(async () => (await count("instance.crashed")) > crashes, "the crash to be recorded");
  }

  it("starts each instance on its own port and offers none as upstream until supervised", async () => {
    const { release, instances } = await startRelease({ instances: 3 });
    assert.deepEqual(instances.map((i) => i.id), ["web-production-v1-1", "web-production-v1-2", "web-production-v1-3"]);
    assert.equal(new Set(instances.map((i) => i.port)).size, 3);
    assert.deepEqual(rig.supervisor.targets(release.id).map((t) => t.port), instances.map((i) => i.port));
    assert.deepEqual(rig.supervisor.upstreams(release.id), []);
    assert.equal(rig.supervisor.isWarm(release.id), false);

    rig.supervisor.supervise(release.id);
    assert.deepEqual(rig.supervisor.upstreams(release.id), instances.map((i) => ({ host: "127.0.0.1", port: i.port, instanceId: i.id })));
    assert.equal(rig.supervisor.isWarm(release.id), true);
    assert.deepEqual(rig.supervisor.view(release.id).map((v) => [v.status, v.healthy, v.restarts]), Array(3).fill(["running", true, 0]));
  });

  it("before supervision, tells early-crash listeners of a crash and does not restart it", async () => {
    const { release, instances } = await startRelease();
    const crashes: [number | null, string][] = [];
    rig.supervisor.onEarlyCrash(release.id, (exit, id) => crashes.push([exit.code, id]));
    await crash(instances[1]!, false);
    await until(() => crashes.length, "the early-crash listener");
    assert.deepEqual(crashes, [[7, "web-production-v1-2"]]);
    assert.equal(rig.clock.pendingSleepers, 0, "no restart is scheduled");
    assert.equal(await count("instance.crashed"), 0);
  });

  it("tells an early-crash listener of an instance that exited before it subscribed", async () => {
    const { release } = await startRelease({ instances: 1 }, { version: "v1", exitAtStart: true });
    await until(() => rig.supervisor.view(release.id)[0]?.status === "exited", "the instance to exit");
    const crashes: (number | null)[] = [];
    rig.supervisor.onEarlyCrash(release.id, (exit) => crashes.push(exit.code));
    await until(() => crashes.length, "the early-crash listener");
    assert.deepEqual(crashes, [3]);
  });

  it("takes a crashed instance out at once and restarts it after the backoff, doubling it", async () => {
    const { release, instances } = await startRelease({ instances: 1, restart: { backoff: 1_000 } });
    rig.supervisor.supervise(release.id);
    await crash(instances[0]!);
    await until(async () => (await count("release.down")) === 1, "release.down");
    const [crashed] = await rig.events("instance.crashed");
    assert.equal(crashed?.data.code, 7);
    assert.ok((crashed?.data.lastLines as string[]).some((l) => l.endsWith("v1 crashing")), "the event carries the last output");
    assert.deepEqual(rig.upstreamChanges, [release.id]);
    assert.deepEqual(rig.supervisor.upstreams(release.id), []);
    assert.equal(rig.supervisor.isWarm(release.id), false);

    for (const [backoff, id] of [[1_000, "web-production-v1-1-r1"], [2_000, "web-production-v1-1-r2"]] as const) {
      await until(() => rig.clock.pendingSleepers === 1, "the backoff");
      assert.deepEqual(rig.supervisor.view(release.id).map((v) => v.status), ["restarting"]);
      await rig.clock.advance(backoff - 1);
      assert.equal(spawned(id), false, `${id} is not started before ${backoff}ms`);
      await rig.clock.advance(1);
      await drive(rig.clock, until(async () => rig.supervisor.upstreams(release.id).length === 1, `${id} healthy`));
      assert.deepEqual(rig.supervisor.upstreams(release.id).map((u) => u.instanceId), [id]);
      const restarted = (await rig.events("instance.restarted")).at(-1);
      assert.deepEqual([restarted?.data.instanceId, restarted?.data.backoffMs], [id, backoff]);
      if (id.endsWith("r1")) await crash(rig.supervisor.targets(release.id)[0]!);
    }
    assert.equal(rig.supervisor.view(release.id)[0]?.restarts, 2);
    assert.equal(rig.supervisor.isWarm(release.id), true);
  });

  it("gives an instance up after max_restarts crashes within the window", async () => {
    const { release, instances } = await startRelease({ instances: 1, restart: { max_restarts: 1, backoff: 100, window: 60_000 } });
    rig.supervisor.supervise(release.id);
    await crash(instances[0]!);
    await drive(rig.clock, until(() => rig.supervisor.upstreams(release.id).length, "the first restart"));
    await crash(rig.supervisor.targets(release.id)[0]!);
    const failed = await until(async () => (await rig.events("instance.failed"))[0], "instance.failed");
    assert.deepEqual(failed.data, { instanceId: "web-production-v1-1-r1", crashes: 2 });
    assert.deepEqual(rig.gaveUp, [[release.id, "web-production-v1-1-r1"]]);
    await rig.clock.advance(60_000);
    assert.equal(spawned("web-production-v1-1-r2"), false, "not restarted again");
    assert.deepEqual(rig.supervisor.upstreams(release.id), []);
  });

  it("forgets crashes older than the window", async () => {
    const { release, instances } = await startRelease({ instances: 1, restart: { max_restarts: 1, backoff: 100, window: 1_000 } });
    rig.supervisor.supervise(release.id);
    await crash(instances[0]!);
    await drive(rig.clock, until(() => rig.supervisor.upstreams(release.id).length, "the first restart"));
    await rig.clock.advance(5_000);
    await crash(rig.supervisor.targets(release.id)[0]!);
    await drive(rig.clock, until(async () => (await count("instance.restarted")) === 2, "the second restart"));
    assert.equal(await count("instance.failed"), 0);
  });

  it("adopts running instances into their slots, fills an empty slot, and stops what it cannot adopt", async () => {
    const { release, instances } = await startRelease({ instances: 3 });
    const [first, second, third] = instances;
    rig.supervisor.detach(); // the engine is gone; its instances run on
    rig.supervisor = rig.newSupervisor();
    const elsewhere = { ...third!, cwd: rig.dir }; // recorded as running in another folder
    const unlabelled = { ...second!, labels: {} }; // recorded by an engine that did not label slots
    const result = await rig.supervisor.adopt(release, testService({ instances: 3 }), first!.cwd, {}, [first!, unlabelled, elsewhere]);
    assert.deepEqual(result.kept.map((i) => i.id), [first!.id, second!.id]);
    assert.deepEqual(result.stopped, [{ id: third!.id, why: `it runs in ${rig.dir}, not in the release's artifact` }]);
    assert.equal(result.started.length, 1);
    assert.deepEqual(rig.supervisor.view(release.id).map((v) => v.pid), [first!.pid, second!.pid, result.started[0]!.pid]);
    assert.deepEqual(result.started[0]!.labels, { environment: "production", slot: "2" });
    await until(() => gone(third!.pid!), "the instance it could not adopt to be stopped");
    await listening(result.started[0]!);
    rig.supervisor.supervise(release.id);
    assert.equal(rig.supervisor.isWarm(release.id), true);
  });

  it("stops every instance of a release without calling it a crash", async () => {
    const { release, instances } = await startRelease();
    rig.supervisor.supervise(release.id);
    await rig.supervisor.stop(release.id, 1_000);
    assert.equal(rig.supervisor.has(release.id), false);
    assert.deepEqual(rig.supervisor.upstreams(release.id), []);
    assert.deepEqual(rig.runtime.list(), [], "stopped instances are forgotten");
    for (const i of instances) await until(() => gone(i.pid!), `process ${i.pid} to be gone`);
    assert.equal(await count("instance.crashed"), 0);
    assert.equal(rig.clock.pendingSleepers, 0);
  });
});
