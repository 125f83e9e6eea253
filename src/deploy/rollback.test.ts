import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Release } from "../store/index.js";
import { crash } from "./test-support.js";
import { promote } from "./promote.js";
import { DeployerRig, drive, ready, testService, until, type AppBehaviour, type ServiceOverrides } from "./test-support.js";

const watchMs = 300_000;

describe("Deployer: what serves after a rollback, and a watched release that goes down", () => {
  let rig: DeployerRig;
  afterEach(() => rig?.close());

  async function setUp(overrides: ServiceOverrides = {}) {
    rig = await ready(new DeployerRig(testService({ release: { watch: watchMs }, ...overrides })));
  }
  const deploy = (behaviour: AppBehaviour) => drive(rig.clock, rig.deployer.deploy("web", rig.app(behaviour)));
  const state = async (release: Release) => (await rig.store.releases.get(release.id))?.state;
  const live = () => rig.store.live.get("web", "production");

  it("a superseded release that a rollback serves again is live again, is watched, earns stable and can be promoted", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    assert.equal(await state(v1), "superseded");
    const result = await drive(rig.clock, rig.deployer.rollback("web", { actor: "cli" }));
    assert.deepEqual([result.to.id, result.to.state], [v1.id, "watching"]);
    const types = (await rig.store.events.list({ releaseId: v1.id, types: ["release."] })).map((e) => `${e.type}: ${e.message}`).slice(-2);
    assert.deepEqual(types, ["release.live: web v1 in production is live: live again: v2 was rolled back", `release.watching: web v1 in production is watching: watching for ${watchMs}ms again after the rollback of v2`]);

    const refused = await drive(rig.clock, promote(rig.store, "web", "production", rig.newDeployer({ environment: "next", supervisor: rig.newSupervisor("next") })).catch((e) => e));
    assert.equal(refused.code, "PROMOTE_NOT_STABLE", "not while it is watched");
    await rig.clock.advance((await live())!.switchedAt + watchMs - rig.clock.now());
    await until(async () => (await state(v1)) === "stable", "v1 stable");

    const nextSupervisor = rig.newSupervisor("next");
    const next = rig.newDeployer({ environment: "next", supervisor: nextSupervisor });
    try {
      const promoted = await drive(rig.clock, promote(rig.store, "web", "production", next, { initial: true }));
      assert.equal(promoted.release.artifactDigest, v1.artifactDigest);
      assert.equal(promoted.release.environment, "next");
    } finally {
      await drive(rig.clock, next.close());
      await nextSupervisor.stopAll(500);
    }
    assert.equal(await state(v2), "rolled-back");
  });

  it("a rollback to a stable release leaves it stable", async () => {
    await setUp();
    const v1 = (await deploy({ version: "v1" })).release;
    await rig.clock.advance(watchMs);
    await until(async () => (await state(v1)) === "stable", "v1 stable");
    await deploy({ version: "v2" });
    const result = await drive(rig.clock, rig.deployer.rollback("web"));
    assert.deepEqual([result.to.id, result.to.state], [v1.id, "stable"]);
  });

  it("rolls a watched release that lost all its instances back at once, with release.down as the reason and the health evidence", async () => {
    await setUp({ restart: { backoff: 60_000 } });
    const v1 = (await deploy({ version: "v1" })).release;
    const v2 = (await deploy({ version: "v2" })).release;
    for (const target of rig.supervisor.targets(v2.id)) await crash(target);
    await until(async () => (await live())?.releaseId === v1.id, "the rollback to v1");
    const after = await rig.store.releases.get(v2.id);
    assert.deepEqual([after?.state, after?.reason], ["rolled-back", "release.down: v2 has no healthy instance left during its watch window"]);
    const [event] = await rig.store.events.list({ releaseId: v2.id, types: ["release.rolled-back"] });
    const verdict = event!.data.verdict as { outcome: string; checks: { name: string; outcome: string }[] };
    assert.equal(verdict.outcome, "fail");
    assert.ok(verdict.checks.some((c) => c.name === "health-checks"));
    assert.equal(rig.deployer.analysis.last(v2.id)?.outcome, "fail", "the verdict is what `watch` shows");
    assert.deepEqual(rig.traffic.routes.at(-1)?.upstreams, rig.supervisor.upstreams(v1.id));
  });

  it("does not roll back a stable release that goes down: its instances come back by restart", async () => {
    await setUp({ instances: 1, restart: { backoff: 1_000 } });
    await deploy({ version: "v1" });
    const v2 = (await deploy({ version: "v2" })).release;
    await rig.clock.advance(watchMs);
    await until(async () => (await state(v2)) === "stable", "v2 stable");
    await crash(rig.supervisor.targets(v2.id)[0]!);
    await until(async () => (await rig.events("release.down")).length, "release.down");
    await drive(rig.clock, until(() => rig.supervisor.upstreams(v2.id).length === 1, "v2 restarted"));
    assert.equal((await live())?.releaseId, v2.id);
    assert.equal(await state(v2), "stable");
  });
});
