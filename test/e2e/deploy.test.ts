import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DeployResult, RollbackResult } from "../../src/deploy/index.js";
import type { EngineError } from "../../src/core/errors.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { Release } from "../../src/store/index.js";
import { get, startLoad } from "../helpers/load.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const deploy = (p: TestProject, artifact: string) => p.api.stream<DeployResult>("/v1/services/web/deploys", { artifact }, () => {});
const rollback = (p: TestProject) => p.api.stream<RollbackResult>("/v1/services/web/rollback", {}, () => {});
const releases = async (p: TestProject) => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;
const rejection = async (promise: Promise<unknown>): Promise<EngineError> => {
  try {
    await promise;
  } catch (error) {
    return error as EngineError;
  }
  assert.fail("expected the call to fail");
};

describe("deploy and rollback, end to end", () => {
  let p: TestProject;
  before(async () => {
    p = await startProject();
  });
  after(async () => {
    await p.cleanup();
  });

  it("deploys v1 and the proxy answers from it", async () => {
    const result = await deploy(p, p.artifact({ version: "v1" }));
    assert.equal(result.release.number, 1);
    assert.equal(result.release.state, "watching");
    const answer = await get(p.proxyUrl + "/");
    assert.equal(answer.status, 200);
    assert.equal(answer.version, "v1");
    assert.match(answer.body, /hello v1 hi/);
  });

  it("deploys v2 under continuous keep-alive load without a failed request", async () => {
    const load = startLoad(p.proxyUrl, { connections: 8, maxMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const result = await deploy(p, p.artifact({ version: "v2" }));
    await new Promise((r) => setTimeout(r, 300));
    const totals = await load.stop();
    assert.equal(result.release.number, 2);
    assert.equal(totals.failures, 0, `failures: ${JSON.stringify(totals.problems)}`);
    assert.ok((totals.versions.v1 ?? 0) > 0 && (totals.versions.v2 ?? 0) > 0, `both versions served: ${JSON.stringify(totals.versions)}`);
    assert.equal((await get(p.proxyUrl)).version, "v2");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    const web = status.environments[0]!.services[0]!;
    assert.equal(web.live?.number, 2);
    assert.equal(web.previous?.number, 1);
    assert.equal(web.previous?.warm, true, "v1 stays warm through the watch window");
  });

  it("refuses a release that fails its health gate, and v2 keeps serving", async () => {
    const error = await rejection(deploy(p, p.artifact({ version: "v3", healthStatus: 503 })));
    assert.equal(error.code, "DEPLOY_HEALTH_TIMEOUT");
    assert.match(error.message, /GET \/healthz/);
    assert.ok(Array.isArray(error.details?.lastLines) && (error.details.lastLines as string[]).some((l) => l.includes("v3 listening")));
    assert.equal((await get(p.proxyUrl)).version, "v2");
    const [latest] = await releases(p);
    assert.equal(latest!.state, "failed");
    assert.match(latest!.reason, /DEPLOY_HEALTH_TIMEOUT/);
  });

  it("refuses a release that fails a smoke test, and v2 keeps serving", async () => {
    const error = await rejection(deploy(p, p.artifact({ version: "v4", smokeBody: "goodbye" })));
    assert.equal(error.code, "DEPLOY_SMOKE_FAILED");
    assert.match(error.message, /body to contain "hello"/);
    assert.equal((await get(p.proxyUrl)).version, "v2");
    assert.equal((await releases(p))[0]!.state, "failed");
  });

  it("fails fast with the instance's last lines when a release exits at start", async () => {
    const error = await rejection(deploy(p, p.artifact({ version: "v5", exitAtStart: true })));
    assert.equal(error.code, "DEPLOY_INSTANCE_CRASHED");
    assert.ok((error.details?.lastLines as string[]).some((l) => l.includes("cannot start v5")));
    assert.equal((await get(p.proxyUrl)).version, "v2");
  });

  it("rolls back to the warm previous release at once", async () => {
    const result = await rollback(p);
    assert.equal(result.warm, true);
    assert.equal(result.from.number, 2);
    assert.equal(result.to.number, 1);
    assert.equal(result.from.state, "rolled-back");
    assert.equal((await get(p.proxyUrl)).version, "v1");
  });

  it("refuses a second deploy of the service while one runs", async () => {
    const slow = deploy(p, p.artifact({ version: "v6", delayMs: 0, healthStatus: 200 }));
    await new Promise((r) => setTimeout(r, 50));
    const error = await rejection(deploy(p, p.artifact({ version: "v7" })));
    assert.equal(error.code, "DEPLOY_IN_PROGRESS");
    const done = await slow;
    assert.equal(done.release.state, "watching");
    assert.equal((await get(p.proxyUrl)).version, "v6");
  });

  it("restarts an instance that crashes, and keeps serving meanwhile", async () => {
    const status = await p.api.get<ProjectStatus>("/v1/status");
    const victim = status.environments[0]!.services[0]!.instances.find((i) => i.releaseId === status.environments[0]!.services[0]!.live!.id)!;
    process.kill(victim.pid!, "SIGKILL");
    const load = startLoad(p.proxyUrl, { connections: 2, maxMs: 20_000 });
    let restarted = false;
    for (let i = 0; i < 100 && !restarted; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const { events } = await p.api.get<{ events: { type: string }[] }>("/v1/events?service=web&limit=20");
      restarted = events.some((e) => e.type === "instance.restarted");
    }
    const totals = await load.stop();
    assert.ok(restarted, "the crashed instance was restarted and passed health");
    const { events } = await p.api.get<{ events: { type: string; data: Record<string, unknown> }[] }>("/v1/events?service=web&limit=20");
    assert.ok(events.some((e) => e.type === "instance.crashed" && e.data.instanceId === victim.id));
    assert.equal((await get(p.proxyUrl)).version, "v6");
    // The proxy may have sent a request to the dead instance before its exit was noticed; after that, none.
    assert.ok(totals.failures <= 8, `failures after a crash: ${JSON.stringify(totals.problems)}`);
  });
});

describe("cold rollback and restarts", () => {
  let p: TestProject;
  before(async () => {
    p = await startProject(testConfig().replace("watch: 5m", "watch: 300ms"));
  });
  after(async () => {
    await p.cleanup();
  });

  it("rolls back to a stopped release by starting it from its stored artifact", async () => {
    await deploy(p, p.artifact({ version: "v1" }));
    await deploy(p, p.artifact({ version: "v2" }));
    // After the watch window v2 is stable and v1 has been drained and stopped.
    for (let i = 0; i < 200; i++) {
      const [latest] = await releases(p);
      const status = await p.api.get<ProjectStatus>("/v1/status");
      if (latest!.state === "stable" && status.environments[0]!.services[0]!.previous?.warm === false) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.previous?.warm, false);
    const result = await rollback(p);
    assert.equal(result.warm, false);
    assert.equal(result.to.number, 1);
    assert.equal((await get(p.proxyUrl)).version, "v1");
  });

  it("brings the live release back after an engine restart", async () => {
    await p.stop();
    await p.restart();
    assert.equal((await get(p.proxyUrl)).version, "v1");
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.live?.number, 1);
  });

  it("cancels a deploy whose client goes away before the switch", async () => {
    const controller = new AbortController();
    const pending = p.api
      .stream<DeployResult>("/v1/services/web/deploys", { artifact: p.artifact({ version: "v3", healthStatus: 503 }) }, () => {}, controller.signal)
      .catch((e) => e);
    await new Promise((r) => setTimeout(r, 400));
    controller.abort();
    await pending;
    let latest: Release | undefined;
    for (let i = 0; i < 200; i++) {
      [latest] = await releases(p);
      if (latest!.state === "failed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(latest!.state, "failed");
    assert.match(latest!.reason, /DEPLOY_CANCELLED/);
    assert.equal((await get(p.proxyUrl)).version, "v1");
  });
});

describe("a release whose instances keep crashing while watched", () => {
  let p: TestProject;
  before(async () => {
    p = await startProject(testConfig().replace("    backoff: 100ms", "    backoff: 100ms\n      max_restarts: 1"));
  });
  after(async () => {
    await p.cleanup();
  });

  it("is rolled back by the engine to the warm previous release, and no request fails on the way", async () => {
    await deploy(p, p.artifact({ version: "v1" }));
    const load = startLoad(p.proxyUrl, { connections: 4, maxMs: 60_000 });
    const v2 = await deploy(p, p.artifact({ version: "v2", crashAfterMs: 700 }));
    assert.equal(v2.release.state, "watching");
    let latest: Release | undefined;
    for (let i = 0; i < 200; i++) {
      latest = (await releases(p)).find((r) => r.number === 2);
      if (latest!.state === "rolled-back") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(latest!.state, "rolled-back");
    // Both instances crash together: the release has none left, so it is rolled back at once (release.down).
    assert.match(latest!.reason, /kept crashing during the watch window|release\.down/);
    assert.equal((await get(p.proxyUrl)).version, "v1");
    // Requests the crashed instances refused or reset were retried on the warm v1 (the route's fallback).
    const result = await load.stop();
    assert.equal(result.failures, 0, `no request failed: ${JSON.stringify(result.problems)}`);
    assert.ok((result.versions.v2 ?? 0) > 0, "v2 served before it crashed");
  });
});
