import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Release } from "../store/index.js";
import type { RunOptions } from "./deployer.js";
import { crash, DeployerRig, drive, ready, rejection, testService, until, type AppBehaviour, type ServiceOverrides } from "./test-support.js";

const watchMs = 300_000;

describe("Deployer", () => {
  let rig: DeployerRig;
  afterEach(() => rig?.close());

  async function setUp(overrides: ServiceOverrides = {}) {
    rig = await ready(new DeployerRig(testService({ smoke: [{ path: "/", expect: { body_contains: "hello" } }], release: { watch: watchMs }, ...overrides })));
  }
  const deploy = (behaviour: AppBehaviour, options?: RunOptions) => drive(rig.clock, rig.deployer.deploy("web", rig.app(behaviour), options));
  const rollback = () => drive(rig.clock, rig.deployer.rollback("web"));
  const state = async (release: Release) => (await rig.store.releases.get(release.id))?.state;
  const live = () => rig.store.live.get("web", "production");
  const stoppedEvents = async () => (await rig.events("release.stopped")).map((e) => e.releaseId);
  /** Moves the clock to `ms` after the live release's switch. */
  const toAfterSwitch = async (ms: number) => rig.clock.advance((await live())!.switchedAt + ms - rig.clock.now());

  it("takes a release through health, smoke tests and one switch, then watches it", async () => {
    await setUp();
    const steps: string[] = [];
    const result = await deploy({ version: "v1" }, { onProgress: (p) => steps.push(p.step) });
    const { release } = result;
    assert.deepEqual([release.number, release.state, result.previousReleaseId], [1, "watching", null]);
    assert.deepEqual(steps, ["artifact", "release", "starting", "healthy", "verified", "live"]);
    assert.deepEqual(rig.traffic.routes, [{ service: "web", releaseId: release.id, upstreams: rig.supervisor.upstreams(release.id) }]);
    assert.equal(rig.traffic.routes[0]!.upstreams.length, 2);
    assert.equal((await live())?.releaseId, release.id);
    const types = (await rig.store.events.list({ releaseId: release.id })).map((e) => e.type);
    assert.deepEqual(types, ["release.pending", "release.starting", "release.healthy", "release.verified", "release.live", "release.watching"]);
  });

  it("keeps the previous release warm through the watch, then makes the release stable and drains and stops the previous one", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    assert.equal(await state(v1), "superseded", "v1 was still watching when v2 replaced it");
    rig.traffic.inFlightCounts.set(v1.id, 3);

    await toAfterSwitch(watchMs - 1);
    assert.equal(await state(v2), "watching");
    assert.equal(rig.supervisor.isWarm(v1.id), true, "v1 stays warm through v2's watch");

    await rig.clock.advance(1);
    await until(async () => (await state(v2)) === "stable", "v2 stable");
    await until(() => rig.clock.pendingSleepers, "the drain to wait for in-flight requests");
    await rig.clock.advance(1_000);
    assert.equal(rig.supervisor.has(v1.id), true, "not stopped while requests are in flight");
    rig.traffic.inFlightCounts.set(v1.id, 0);
    await drive(rig.clock, until(async () => (await stoppedEvents()).includes(v1.id), "v1 stopped"));
    const [stopped] = await rig.events("release.stopped");
    assert.match(stopped!.message, /^v1 drained in \d+ms and stopped$/);
    assert.equal(rig.supervisor.has(v1.id), false);
    const [, switched, ended] = rig.traffic.routes;
    assert.equal(switched?.fallback?.length, 2, "through v2's watch the proxy may fall back to warm v1");
    assert.deepEqual(ended, { service: "web", releaseId: v2.id, upstreams: rig.supervisor.upstreams(v2.id) }, "the end of the watch drops the fallback");
    assert.equal(rig.traffic.routes.length, 3);
  });

  it("rolls back during the watch at once, to the warm previous release", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    const v1Upstreams = rig.supervisor.upstreams(v1.id);
    const running = new Set(rig.runtime.list().map((i) => i.id));
    const result = await rollback();
    assert.equal(result.warm, true);
    assert.deepEqual([result.from.id, result.from.state, result.to.id], [v2.id, "rolled-back", v1.id]);
    assert.deepEqual(rig.traffic.routes.at(-1), { service: "web", releaseId: v1.id, upstreams: v1Upstreams });
    assert.deepEqual(await live().then((l) => [l?.releaseId, l?.previousReleaseId]), [v1.id, null]);
    assert.deepEqual(rig.runtime.list().filter((i) => !running.has(i.id)), [], "nothing was started");
    await until(async () => (await stoppedEvents()).includes(v2.id), "v2 drained and stopped");

    await Promise.race([rig.deployer.analysis.ended(v2.id), realTimeout(1_000)]); // v2's watch was cancelled
    const again = await rig.store.releases.get(v1.id);
    assert.deepEqual([again?.state, again?.reason], ["watching", `watching for ${watchMs}ms again after the rollback of v2`], "v1 serves again: live, then watched");
    await rig.clock.advance(watchMs * 2);
    await until(async () => (await state(v1)) === "stable", "v1 earns stable");
    assert.equal(await state(v2), "rolled-back");
    assert.equal(rig.supervisor.isWarm(v1.id), true);
  });

  it("rolls back to a previous release that no longer runs by starting it again", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    await deploy({ version: "v2" });
    await toAfterSwitch(watchMs);
    await until(async () => (await stoppedEvents()).includes(v1.id), "v1 stopped after v2's watch");
    const result = await rollback();
    assert.deepEqual([result.warm, result.to.id], [false, v1.id]);
    assert.equal(rig.supervisor.isWarm(v1.id), true);
    assert.deepEqual(rig.traffic.routes.at(-1)?.upstreams, rig.supervisor.upstreams(v1.id));
  });

  it("lets a rollback asked while the watch's end drains the previous release wait for it, then start that release again", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    await deploy({ version: "v2" });
    rig.traffic.inFlightCounts.set(v1.id, 1);
    await toAfterSwitch(watchMs);
    await until(() => rig.clock.pendingSleepers, "the drain of v1");
    assert.equal(rig.deployer.busy("web"), undefined, "draining the previous release does not hold the service");
    const rolling = rig.deployer.rollback("web");
    rig.traffic.inFlightCounts.set(v1.id, 0);
    const result = await drive(rig.clock, rolling);
    assert.deepEqual([result.warm, result.to.id], [false, v1.id]);
    await until(async () => (await stoppedEvents()).length === 2, "v2 drained and stopped");
    assert.deepEqual(await stoppedEvents(), [v1.id, result.from.id], "v1 stopped before it started again");
    assert.equal(rig.supervisor.isWarm(v1.id), true);
  });

  it("refuses a rollback with no live release, or no earlier release, as ROLLBACK_NO_TARGET", async () => {
    await setUp();
    assert.equal((await rejection(rig.deployer.rollback("web"))).code, "ROLLBACK_NO_TARGET");
    await deploy({ version: "v1" });
    assert.equal((await rejection(rig.deployer.rollback("web"))).code, "ROLLBACK_NO_TARGET");
    assert.equal(rig.traffic.routes.length, 1);
  });

  it("refuses a second deploy or a rollback of the service while a deploy runs, naming it", async () => {
    await setUp();
    const first = rig.deployer.deploy("web", rig.app({ version: "v1" }));
    assert.equal(rig.deployer.busy("web"), "deploy web");
    for (const second of [rig.deployer.deploy("web", rig.app({ version: "v2" })), rig.deployer.rollback("web")]) {
      const error = await rejection(second);
      assert.equal(error.code, "DEPLOY_IN_PROGRESS");
      assert.match(error.message, /deploy web is running/);
    }
    assert.equal((await drive(rig.clock, first)).release.number, 1);
    assert.equal(rig.deployer.busy("web"), undefined);
    assert.equal((await rig.store.releases.list({ service: "web", environment: "production" })).length, 1);
  });

  it("cancels a deploy aborted before its health gate at once: DEPLOY_CANCELLED, release failed, no switch", async () => {
    await setUp();
    const controller = new AbortController();
    const onProgress = (p: { step: string }) => p.step === "starting" && controller.abort(new Error("the client disconnected"));
    // The clock stands still: a cancelled deploy must not wait for its health gate.
    const error = await rejection(Promise.race([rig.deployer.deploy("web", rig.app({ version: "v1" }), { signal: controller.signal, onProgress }), realTimeout(10_000)]));
    assert.equal(error.code, "DEPLOY_CANCELLED");
    assert.match(error.message, /the client disconnected/);
    await assertFailedWithoutTraffic("DEPLOY_CANCELLED");
  });

  it("cancels a deploy aborted during its health gate", async () => {
    await setUp();
    const controller = new AbortController();
    const deploying = rig.deployer.deploy("web", rig.app({ version: "v1", health: 503 }), { signal: controller.signal });
    await until(() => rig.clock.pendingSleepers, "the health gate to wait between probes");
    controller.abort(new Error("Ctrl-C"));
    assert.equal((await rejection(deploying)).code, "DEPLOY_CANCELLED");
    await assertFailedWithoutTraffic("DEPLOY_CANCELLED");
  });

  for (const [code, behaviour] of [
    ["DEPLOY_HEALTH_TIMEOUT", { version: "v2", health: 500 }],
    ["DEPLOY_INSTANCE_CRASHED", { version: "v2", exitAtStart: true }],
    ["DEPLOY_SMOKE_FAILED", { version: "v2" }],
  ] as const) {
    it(`fails a release with ${code}, stops it, and leaves the live release serving`, async () => {
      await setUp({ smoke: [{ path: "/", expect: { body_contains: "hello v1" } }] });
      const v1 = (await deploy({ version: "v1" })).release;
      const error = await rejection(deploy(behaviour));
      assert.equal(error.code, code);
      assert.ok(Array.isArray(error.details?.lastLines), "the failure carries the instance's last output");
      await assertFailedWithoutTraffic(code, 1);
      assert.equal((await live())?.releaseId, v1.id);
      assert.equal(rig.supervisor.isWarm(v1.id), true);
    });
  }

  it("makes a release stable whose watch ended while another deploy ran, once that deploy is over", async () => {
    await setUp({ release: { watch: 10_000 }, health: { start_timeout: 30_000 } });
    const v1 = (await deploy({ version: "v1" })).release;
    assert.equal((await rejection(deploy({ version: "v2", health: 500 }))).code, "DEPLOY_HEALTH_TIMEOUT");
    assert.ok(rig.clock.now() - (await live())!.switchedAt > 10_000, "v1's watch ended during v2's deploy");
    await drive(rig.clock, until(async () => (await state(v1)) === "stable", "v1 stable"));
  });

  it("rolls a watched release back when the supervisor gives up on one of its instances", async () => {
    await setUp({ restart: { max_restarts: 0 } });
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    await crash(rig.supervisor.targets(v2.id)[0]!);
    await until(async () => (await live())?.releaseId === v1.id, "the rollback to v1");
    assert.deepEqual(rig.gaveUp, [[v2.id, "web-production-v2-1"]]);
    const after = await rig.store.releases.get(v2.id);
    assert.deepEqual([after?.state, after?.reason], ["rolled-back", "instance web-production-v2-1 of v2 kept crashing during the watch window"]);
    assert.deepEqual(rig.traffic.routes.at(-1)?.releaseId, v1.id);
  });

  it("does not roll back a release that is stable when the supervisor gives up on an instance", async () => {
    await setUp({ restart: { max_restarts: 0 } });
    await deploy({ version: "v1" });
    const v2 = (await deploy({ version: "v2" })).release;
    await toAfterSwitch(watchMs);
    await until(async () => (await state(v2)) === "stable", "v2 stable");
    await crash(rig.supervisor.targets(v2.id)[0]!);
    await until(() => rig.gaveUp.length, "the supervisor to give up");
    await drive(rig.clock, rig.deployer.close()); // lets whatever handleGaveUp started finish
    assert.equal((await live())?.releaseId, v2.id);
    assert.equal(await state(v2), "stable");
  });

  it("on recovery, fails the deploys an engine stop interrupted, in its environment only", async () => {
    await setUp();
    const create = (environment: string) => rig.store.releases.create({ service: "web", environment, artifactDigest: "sha256:1", configHash: "c", reason: "r" });
    const pending = await create("production");
    const verified = await create("production");
    for (const to of ["starting", "healthy", "verified"] as const) await rig.store.releases.transition(verified.id, to, "r");
    const elsewhere = await create("staging");
    await rig.deployer.recover();
    for (const release of [pending, verified]) {
      const after = await rig.store.releases.get(release.id);
      assert.equal(after?.state, "failed");
      assert.match(after!.reason, /the engine stopped during this deploy/);
    }
    assert.equal(await state(elsewhere), "pending");
  });

  it("on recovery, starts the live release again, routes to it and finishes its watch", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    await rig.clock.advance(watchMs / 2);
    await rig.deployer.close();
    await rig.supervisor.stopAll(1_000);
    rig.supervisor = rig.newSupervisor();
    rig.deployer = rig.newDeployer();
    await drive(rig.clock, rig.deployer.recover());
    assert.equal(rig.supervisor.isWarm(v1.id), true);
    assert.deepEqual(rig.traffic.routes.at(-1), { service: "web", releaseId: v1.id, upstreams: rig.supervisor.upstreams(v1.id) });
    await toAfterSwitch(watchMs - 1);
    assert.equal(await state(v1), "watching", "the watch resumes with the time it had left");
    await rig.clock.advance(1);
    await until(async () => (await state(v1)) === "stable", "v1 stable");
  });

  it("refuses an unknown service and a deploy without an artifact", async () => {
    await setUp();
    assert.equal((await rejection(rig.deployer.deploy("api", rig.app({ version: "v1" })))).code, "SERVICE_UNKNOWN");
    assert.equal((await rejection(rig.deployer.deploy("web", undefined))).code, "ARTIFACT_NOT_FOUND");
  });

  /** The newest release failed with `code`, runs no instance, and got no route beyond the first `routes`. */
  async function assertFailedWithoutTraffic(code: string, routes = 0) {
    const [newest] = await rig.store.releases.list({ service: "web", environment: "production", limit: 1 });
    assert.equal(newest?.state, "failed");
    assert.match(newest!.reason, new RegExp(`^${code}: `));
    assert.equal(rig.supervisor.has(newest!.id), false);
    assert.equal(rig.traffic.routes.length, routes);
  }
});

function realTimeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms}ms`)), ms).unref());
}
