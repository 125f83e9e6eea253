/**
 * Two engines' worth of state on one PostgreSQL (issue 11, "All state in the Store" and
 * "Artifacts"): an engine deploys v1 and v2 (each approved) and leaves v3 waiting for approval, then
 * stops; a second engine on the same database, with an EMPTY state folder of its own, sees the plan
 * as applied, the pending approval, and rolls back cold to v1 with the artifact fetched from
 * PostgreSQL (artifacts.store: postgres). The engines do not run at the same time.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeployResult, RollbackResult } from "../../src/deploy/index.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { Plan } from "../../src/plan/index.js";
import type { EngineEvent, Release } from "../../src/store/index.js";
import { adminQuery } from "../../src/store/test-support.js";
import { get } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;

const config =
  testConfig("", "artifacts:\n  store: postgres\n").replace("watch: 5m", "watch: 300ms") + "environments:\n  production:\n    require_approval: true\n";

const deploy = (p: TestProject, version: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version }) }, () => {});
const approve = (p: TestProject, id: string) => p.api.stream<DeployResult>(`/v1/releases/${id}/approve`, {}, () => {});
const releases = async (p: TestProject) => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;
const plan = async (p: TestProject) => (await p.api.post<{ plan: Plan }>("/v1/plan", {})).plan;
const pending = (plan: Plan) => plan.changes.filter((c) => c.action !== "no-op" || c.drift.length > 0);
const artifactsHere = (p: TestProject) => {
  const dir = join(p.dir, ".engineroom", "artifacts", "sha256");
  return existsSync(dir) ? readdirSync(dir).map((hex) => `sha256:${hex}`) : [];
};

describe("a second engine on the same PostgreSQL, with an empty state folder", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: shared-state e2e skipped" }, () => {
  const schema = `er_test_${randomBytes(6).toString("hex")}`;
  const storeUrl = (() => {
    if (!url) return "";
    const target = new URL(url);
    target.searchParams.set("options", `-c search_path=${schema}`);
    return target.toString();
  })();
  let first: TestProject | undefined;
  let second: TestProject | undefined;
  let byVersion: Record<string, Release> = {};
  let planOfFirst: Plan;

  before(async () => {
    await adminQuery(url!, `CREATE SCHEMA ${schema}`);
  });
  after(async () => {
    await first?.cleanup();
    await second?.cleanup();
    await adminQuery(url!, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it("the first engine deploys v1 and v2 (approved) and leaves v3 waiting, then stops", async () => {
    first = await startProject(config, { storeUrl });
    for (const version of ["v1", "v2"]) {
      const waiting = await deploy(first, version);
      assert.equal(waiting.awaitingApproval, true, `${version} waits for approval`);
      await approve(first, waiting.release.id);
      await waitFor(`${version} stable`, async () => (await releases(first!))[0]!.state === "stable", 60_000);
      byVersion[version] = waiting.release;
    }
    const v3 = await deploy(first, "v3");
    assert.equal(v3.awaitingApproval, true);
    byVersion.v3 = v3.release;
    assert.equal((await get(first.proxyUrl)).version, "v2");
    planOfFirst = await plan(first);
    assert.deepEqual(pending(planOfFirst), [], "what runs is what the file declares");
    await first.stop();
  });

  it("the second engine starts from the store alone: v2 serves, its artifact fetched from PostgreSQL", async () => {
    second = await startProject(config, { storeUrl });
    assert.notEqual(second.dir, first!.dir);
    assert.equal((await get(second.proxyUrl)).version, "v2");
    const here = artifactsHere(second);
    assert.ok(here.includes(byVersion.v2!.artifactDigest), "v2's artifact was fetched to start it");
    assert.ok(!here.includes(byVersion.v1!.artifactDigest), "v1's is not here (yet)");
    assert.equal(existsSync(join(second.dir, ".engineroom", "configs")), false, "no config snapshots on this disk");
  });

  it("sees the plan as applied: no changes, the same plan hash", async () => {
    const seen = await plan(second!);
    assert.deepEqual(pending(seen), [], JSON.stringify(pending(seen)));
    assert.equal(seen.hash, planOfFirst.hash);
  });

  it("rolls back cold to v1, whose artifact it never had, fetched and verified from PostgreSQL", async () => {
    const result = await second!.api.stream<RollbackResult>("/v1/services/web/rollback", {}, () => {});
    assert.equal(result.warm, false);
    assert.equal(result.to.number, 1);
    assert.equal((await get(second!.proxyUrl)).version, "v1");
    assert.ok(artifactsHere(second!).includes(byVersion.v1!.artifactDigest));
    const status = await second!.api.get<ProjectStatus>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.live?.number, 1);
  });

  it("has the approval v3 waits for, and switches to v3 when it is given", async () => {
    const [v3] = (await releases(second!)).filter((r) => r.id === byVersion.v3!.id);
    assert.equal(v3?.state, "verified");
    const approved = await approve(second!, byVersion.v3!.id);
    assert.equal(approved.release.state, "watching");
    assert.equal((await get(second!.proxyUrl)).version, "v3");
    const { events } = await second!.api.get<{ events: EngineEvent[] }>("/v1/events?limit=500");
    assert.ok(events.some((e) => e.type === "release.awaiting-approval" && e.releaseId === byVersion.v3!.id), "the wait was recorded by the first engine");
  });
});
