import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { afterEach, describe, it } from "node:test";
import type { Release } from "../store/index.js";
import { holderIsDead, processStartTime } from "./holder.js";
import { writerLockKey } from "./locks.js";
import { probe } from "./probe.js";
import { DeployerRig, drive, ready, testService, until, type AppBehaviour, type ServiceOverrides } from "./test-support.js";

const watchMs = 300_000;

describe("Deployer.recover after an engine restart, adopting the instances that still run", () => {
  let rig: DeployerRig;
  afterEach(async () => {
    await rig?.close();
    for (const pid of pids) await until(() => !running(pid), `process ${pid} to be gone (none is left running)`);
    pids.clear();
  });
  const pids = new Set<number>();

  async function setUp(overrides: ServiceOverrides = {}, requireApproval = false) {
    rig = await ready(new DeployerRig(testService({ release: { watch: watchMs, stop_grace: 300 }, ...overrides }), requireApproval));
  }
  const deploy = (behaviour: AppBehaviour) => drive(rig.clock, rig.deployer.deploy("web", rig.app(behaviour)));
  const recover = (adopted: Awaited<ReturnType<DeployerRig["restartEngine"]>>) => drive(rig.clock, rig.deployer.recover({ adopted }), { timeoutMs: 30_000 });
  const state = async (release: Release) => (await rig.store.releases.get(release.id))?.state;
  const live = () => rig.store.live.get("web", "production");
  /** The pids of a release's instances, remembered so that the test checks none is left. */
  const pidsOf = (release: Release) =>
    rig.supervisor
      .view(release.id)
      .map((v) => v.pid!)
      .map((pid) => (pids.add(pid), pid));
  /** Alive and not a zombie. */
  const running = (pid: number) => !holderIsDead({ pid, host: hostname() });

  it("labels every instance with its environment and slot", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const labels = rig.runtime.list().filter((i) => i.releaseId === v1.id).map((i) => i.labels);
    assert.deepEqual(labels, [{ environment: "production", slot: "0" }, { environment: "production", slot: "1" }]);
  });

  it("a watch cut off by the restart goes on: both releases adopted (same pids, nothing restarted), v2 routed with v1 as fallback", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    const before = { v1: pidsOf(v1), v2: pidsOf(v2) };
    await rig.clock.advance(watchMs / 2);
    const adopted = await rig.restartEngine();
    const startedBefore = rig.runtime.list().length;
    await recover(adopted);

    assert.deepEqual({ v1: pidsOf(v1), v2: pidsOf(v2) }, before, "the same processes serve");
    assert.equal(rig.runtime.list().length, startedBefore, "nothing was started");
    assert.equal(rig.supervisor.isWarm(v1.id), true, "v1 stays warm as the rollback target");
    const route = rig.traffic.routes.at(-1)!;
    assert.deepEqual([route.releaseId, route.upstreams, route.fallback], [v2.id, rig.supervisor.upstreams(v2.id), rig.supervisor.upstreams(v1.id)]);
    const [restored] = await rig.events("release.restored");
    assert.match(restored!.message, /^v2 serving again after an engine start: 2 instance\(s\) adopted, 0 started$/);

    await rig.clock.advance((await live())!.switchedAt + watchMs - 1 - rig.clock.now());
    assert.equal(await state(v2), "watching", "the watch resumes with the time it had left");
    await rig.clock.advance(1);
    await until(async () => (await state(v2)) === "stable", "v2 stable");
    await drive(rig.clock, until(async () => !rig.supervisor.has(v1.id), "v1 drained and stopped"));
    for (const pid of before.v1) await until(() => !running(pid), `v1's process ${pid} to end`);
  });

  it("a deploy cut off before its switch is failed and its instances stopped; the live release is adopted as it runs", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const v1Pids = pidsOf(v1);
    // v2 got as far as healthy when the engine died: its instances run, it has no traffic.
    const digest = (await rig.artifacts.add(rig.app({ version: "v2" }))).digest;
    const v2 = await rig.store.releases.create({ service: "web", environment: "production", artifactDigest: digest, configHash: "c", reason: "deploy" });
    for (const to of ["starting", "healthy"] as const) await rig.store.releases.transition(v2.id, to, "r");
    await rig.supervisor.start(v2, rig.service, rig.artifacts.path(digest), {});
    const v2Pids = pidsOf(v2);
    const adopted = await rig.restartEngine();
    assert.equal(adopted.length, 4);
    await recover(adopted);

    const failed = await rig.store.releases.get(v2.id);
    assert.equal(failed?.state, "failed");
    assert.equal(failed?.reason, "the engine stopped during this deploy; the switch never happened (2 instance(s) it had started were stopped)");
    for (const pid of v2Pids) assert.equal(running(pid), false, "v2's instances are stopped");
    assert.deepEqual(pidsOf(v1), v1Pids, "v1 was adopted, not restarted");
    assert.equal((await live())?.releaseId, v1.id);
    assert.deepEqual(rig.traffic.routes.at(-1)?.upstreams, rig.supervisor.upstreams(v1.id));
  });

  it("replaces an adopted instance that fails its probe (a hung one) and fills a slot left empty, keeping the healthy one", async () => {
    await setUp({ health: { timeout: 200 } });
    const v1 = (await deploy({ version: "v1" })).release;
    await rig.clock.advance(watchMs);
    await until(async () => (await state(v1)) === "stable", "v1 stable");
    const [first, second] = pidsOf(v1);
    const adopted = await rig.restartEngine();
    process.kill(-first!, "SIGSTOP"); // hung: its probe times out
    await recover(adopted);

    const view = rig.supervisor.view(v1.id);
    assert.equal(view.length, 2);
    assert.equal(view[1]?.pid, second, "the healthy instance was kept");
    assert.notEqual(view[0]?.pid, first, "the hung one was replaced");
    pidsOf(v1);
    await until(() => !running(first!), "the hung instance to be ended");
    const [restored] = await rig.events("release.restored");
    assert.match(restored!.message, /1 instance\(s\) adopted, 1 started, 1 stopped/);
    assert.equal(rig.supervisor.isWarm(v1.id), true);
    assert.equal(rig.traffic.routes.at(-1)?.upstreams.length, 2);
  });

  it("says the right thing when the watch window ran out while the engine was away", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const adopted = await rig.restartEngine();
    await rig.clock.advance(watchMs + 1_000);
    await recover(adopted);
    await until(async () => (await state(v1)) === "stable", "v1 stable");
    const reason = (await rig.store.releases.get(v1.id))!.reason;
    assert.doesNotMatch(reason, /analysis disabled/);
    assert.equal(reason, `watch window of ${watchMs}ms passed without rollback; the engine restarted with 0ms of it left, too little for another analysis look`);
  });

  it("a release waiting for approval goes on waiting after the restart, and can be approved", async () => {
    await setUp({}, true);
    const waiting = await deploy({ version: "v1" });
    assert.equal(waiting.awaitingApproval, true);
    const v1Pids = pidsOf(waiting.release);
    const adopted = await rig.restartEngine();
    await recover(adopted);
    assert.equal(await state(waiting.release), "verified", "not failed");
    assert.deepEqual(pidsOf(waiting.release), v1Pids, "its instances were adopted");
    const approved = await drive(rig.clock, rig.deployer.approve(waiting.release.id));
    assert.equal(approved.release.state, "watching");
    assert.equal((await live())?.releaseId, waiting.release.id);
  });

  it("takes over the lease an engine killed mid-deploy left behind, and says so", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const dead = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    await new Promise((resolve) => dead.once("spawn", resolve));
    const holder = { command: "deploy web", pid: dead.pid!, host: hostname(), startTime: processStartTime(dead.pid!) };
    assert.ok((await rig.store.locks.acquire(writerLockKey("production"), holder, 30_000)).acquired);
    const exited = new Promise((resolve) => dead.once("exit", resolve));
    dead.kill("SIGKILL");
    await exited;
    const adopted = await rig.restartEngine();
    await recover(adopted);
    const [released] = await rig.events("lock.released");
    assert.match(released!.message, new RegExp(`^lease of "deploy web" \\(pid ${dead.pid} on .*\\) released: that process no longer runs; taken by "restore web"$`));
    assert.equal((await rig.events("release.restored")).length, 1, "the restore went on");
    assert.deepEqual(rig.traffic.routes.at(-1)?.releaseId, v1.id);
    await drive(rig.clock, rig.deployer.deploy("web", rig.app({ version: "v2" })));
  });

  it("stops adopted instances of a release that is neither live nor a rollback target", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    await rig.clock.advance(watchMs);
    await until(async () => (await state(v1)) === "stable", "v1 stable");
    // An older release the engine was draining when it died: its instances still run, though nothing needs them.
    const digest = (await rig.artifacts.add(rig.app({ version: "v0" }))).digest;
    const old = await rig.store.releases.create({ service: "web", environment: "production", artifactDigest: digest, configHash: "c", reason: "r" });
    for (const to of ["starting", "healthy", "verified", "live", "stable"] as const) await rig.store.releases.transition(old.id, to, "r");
    await rig.supervisor.start(old, rig.service, rig.artifacts.path(digest), {});
    const oldPids = pidsOf(old);
    const adopted = await rig.restartEngine();
    await recover(adopted);
    for (const pid of oldPids) await until(() => !running(pid), `the old release's process ${pid} to end`);
    const [stopped] = await rig.events("instance.stopped");
    assert.match(stopped!.message, /^2 instance\(s\) left by the earlier engine belong to no live release/);
    assert.equal(rig.supervisor.isWarm(v1.id), true);
    assert.ok((await probe({ host: "127.0.0.1", port: rig.supervisor.targets(v1.id)[0]!.port, path: "/", timeoutMs: 1000 })).ok);
  });
});
