import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeployResult } from "../../src/deploy/index.js";
import { writerLockKey } from "../../src/deploy/index.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { Release } from "../../src/store/index.js";
import { get } from "../helpers/load.js";
import { waitFor } from "../helpers/wait.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const root = resolve(import.meta.dirname, "../..");

function chainConfig(production = ""): string {
  return (
    testConfig().replace("watch: 5m", "watch: 300ms") +
    `environments:\n  staging:\n    services:\n      web: { instances: 1, release: { watch: 2s } }\n  production:\n${production || "    {}"}\n`
  );
}


describe("environments: staging → production", () => {
  let p: TestProject;
  const proxyOf = async (env: string) => {
    const status = await p.api.get<ProjectStatus>("/v1/status");
    return `http://${status.environments.find((e) => e.name === env)!.proxy}`;
  };
  const deploy = (version: string, body: Record<string, unknown> = {}) =>
    p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version }), ...body }, () => {});
  const promote = (body: Record<string, unknown> = {}) => p.api.stream<DeployResult>("/v1/services/web/promote", body, () => {});
  const latest = async (env: string) => (await p.api.get<{ releases: Release[] }>(`/v1/services/web/releases?env=${env}`)).releases[0];
  const failure = (promise: Promise<unknown>) => promise.then(() => assert.fail("expected a refusal"), (e) => e);

  before(async () => {
    p = await startProject(chainConfig());
  });
  after(async () => {
    await p.cleanup();
  });

  it("deploys into the first environment only, with its overrides", async () => {
    const v1 = await deploy("v1");
    assert.equal(v1.release.environment, "staging");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.deepEqual(status.environments.map((e) => e.name), ["staging", "production"]);
    assert.equal(status.environments[0]!.services[0]!.instances.length, 1, "staging runs 1 instance");
    assert.equal((await get(await proxyOf("staging"))).version, "v1");
    assert.equal((await get(await proxyOf("production"))).status, 404, "nothing in production yet");
    const refused = await failure(deploy("v1", { env: "production" }));
    assert.equal(refused.code, "DEPLOY_WRONG_ENVIRONMENT");
  });

  it("promotes the stable digest, not before it is stable, and only with a rollback target or --initial", async () => {
    const watching = await failure(promote({ initial: true }));
    assert.equal(watching.code, "PROMOTE_NOT_STABLE");
    assert.match(watching.message, /v1 in staging is watching/);
    await waitFor("v1 stable in staging", async () => (await latest("staging"))!.state === "stable");
    const noTarget = await failure(promote());
    assert.equal(noTarget.code, "PROMOTE_NO_ROLLBACK_TARGET");
    const promoted = await promote({ initial: true });
    assert.equal(promoted.release.environment, "production");
    assert.equal(promoted.release.artifactDigest, (await latest("staging"))!.artifactDigest, "the same digest");
    assert.equal((await get(await proxyOf("production"))).version, "v1");
    const status = await p.api.get<ProjectStatus>("/v1/status?env=production");
    assert.equal(status.environments[0]!.services[0]!.instances.length, 2, "production runs the base 2 instances");
    const again = await failure(promote());
    assert.equal(again.code, "PROMOTE_ALREADY_LIVE");
  });

  it("refuses to promote a release that was replaced before its watch ended and is live again, until it earns stable", async () => {
    await deploy("v2");
    await deploy("v3"); // v2 superseded while watching
    await p.api.stream("/v1/services/web/rollback", { env: "staging" }, () => {}); // back to v2: watched again
    const refused = await failure(promote());
    assert.equal(refused.code, "PROMOTE_NOT_STABLE");
    assert.match(refused.message, /is watching/);
    assert.equal((await get(await proxyOf("production"))).version, "v1");
  });

  it("refuses a writer while another holds the environment's lease, and unlock --force says whom it took it from", async () => {
    const held = await p.engine.store.locks.acquire(writerLockKey("staging"), { command: "apply (another engine)", pid: 4242, host: "elsewhere" }, 60_000);
    assert.ok(held.acquired);
    const refused = await failure(deploy("v4"));
    assert.equal(refused.code, "LOCK_HELD");
    assert.match(refused.message, /apply \(another engine\)" \(pid 4242 on elsewhere/);
    const unlock = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), "unlock", "--force", "--env", "staging"], { cwd: p.dir });
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (out += c));
      child.on("close", (code) => done({ code, out }));
    });
    assert.equal(unlock.code, 0, unlock.out);
    assert.match(unlock.out, /took the lock from "apply \(another engine\)" \(pid 4242 on elsewhere/);
    assert.equal((await deploy("v4")).release.state, "watching");
  });

  it("takes over a lease whose holder died (it expired)", async () => {
    const held = await p.engine.store.locks.acquire(writerLockKey("staging"), { command: "deploy web", pid: 999999, host: "gone" }, 50);
    assert.ok(held.acquired);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await deploy("v5")).release.environment, "staging");
  });

  it("promote --skip-watch ends the source's watch window early, recorded, and promotes it", async () => {
    const v6 = await deploy("v6");
    const refused = await failure(promote());
    assert.equal(refused.code, "PROMOTE_NOT_STABLE");
    const promoted = await promote({ skipWatch: true });
    assert.equal(promoted.release.artifactDigest, v6.release.artifactDigest);
    const staging = (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases?env=staging")).releases.find((r) => r.id === v6.release.id)!;
    assert.equal(staging.state, "stable");
    assert.match(staging.reason, /watch skipped by api/);
    assert.equal((await get(await proxyOf("production"))).version, "v6");
  });
});

describe("an environment that requires approval", () => {
  let p: TestProject;
  before(async () => {
    p = await startProject(chainConfig("    require_approval: true"));
  });
  after(async () => {
    await p.cleanup();
  });

  it("starts and verifies the promoted release, and switches only when approved", async () => {
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    await waitFor("v1 stable", async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases?env=staging")).releases[0]!.state === "stable");
    const waiting = await p.api.stream<DeployResult>("/v1/services/web/promote", { initial: true }, () => {});
    assert.equal(waiting.awaitingApproval, true);
    assert.equal(waiting.release.state, "verified");
    const status = await p.api.get<ProjectStatus>("/v1/status?env=production");
    assert.equal(status.environments[0]!.services[0]!.live, null, "no traffic before approval");
    const approved = await p.api.stream<DeployResult>(`/v1/releases/${waiting.release.id}/approve`, {}, () => {});
    assert.equal(approved.release.state, "watching");
    assert.equal((await get(`http://${status.environments[0]!.proxy}`)).version, "v1");
    const twice = (await p.api.stream(`/v1/releases/${waiting.release.id}/approve`, {}, () => {}).catch((e) => e)) as { code: string };
    assert.equal(twice.code, "APPROVAL_NOT_PENDING");
  });
});
