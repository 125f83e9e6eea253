import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { EngineError } from "../../src/core/index.js";
import type { DeployResult } from "../../src/deploy/index.js";
import type { ProjectStatus } from "../../src/engine/index.js";
import type { Release } from "../../src/store/index.js";
import { get, startPacedLoad } from "../helpers/load.js";
import { startProject, testConfig, type Behaviour, type TestProject } from "../helpers/project.js";

// A watch window of 8 s, judged every 500 ms against 20 s of the previous release's traffic.
const config = testConfig()
  .replace("watch: 5m", "watch: 8s")
  .replace("    restart:\n", "    analysis:\n      interval: 500ms\n      baseline: 20s\n    restart:\n");

describe("watchful releases: analysis after every switch, at about 100 requests/s", () => {
  let p: TestProject;
  let load: ReturnType<typeof startPacedLoad>;
  const deployWatched = (behaviour: Behaviour) =>
    p.api.stream<DeployResult & { verdict?: unknown }>("/v1/services/web/deploys", { artifact: p.artifact(behaviour), watch: true }, () => {});
  const releases = async () => (await p.api.get<{ releases: Release[] }>("/v1/services/web/releases")).releases;

  before(async () => {
    p = await startProject(config);
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1" }) }, () => {});
    load = startPacedLoad(p.proxyUrl, { rps: 100, maxMs: 170_000 });
    await new Promise((r) => setTimeout(r, 4000)); // a baseline for v1
  });
  after(async () => {
    await load?.stop();
    await p.cleanup();
  });

  it("rolls back a release with 5% errors, with the evidence", async () => {
    const started = Date.now();
    const error = (await deployWatched({ version: "v2", errorEvery: 20 }).catch((e) => e)) as EngineError;
    assert.equal(error.code, "RELEASE_ROLLED_BACK");
    assert.ok(Date.now() - started < 8000, "rolled back before the window ended");
    const verdict = error.details?.verdict as { outcome: string; checks: { name: string; outcome: string; samples: { candidate: number } }[] };
    assert.equal(verdict.outcome, "fail");
    const failed = verdict.checks.filter((c) => c.outcome === "fail").map((c) => c.name);
    assert.ok(failed.some((n) => n.startsWith("error-rate")), `failed checks: ${failed}`);
    assert.equal((await get(p.proxyUrl)).version, "v1");
    const v2 = (await releases()).find((r) => r.number === 2)!;
    assert.equal(v2.state, "rolled-back");
    assert.match(v2.reason, /analysis failed: .*error/i);
    const { events } = await p.api.get<{ events: { type: string; releaseId: string; data: Record<string, unknown> }[] }>("/v1/events?service=web&limit=50");
    const rolledBack = events.find((e) => e.type === "release.rolled-back" && e.releaseId === v2.id)!;
    assert.ok(rolledBack.data.verdict, "the event keeps the verdict");
  });

  it("rolls back a release 200 ms slower", async () => {
    const error = (await deployWatched({ version: "v3", delayMs: 200 }).catch((e) => e)) as EngineError;
    assert.equal(error.code, "RELEASE_ROLLED_BACK");
    const verdict = error.details?.verdict as { checks: { name: string; outcome: string }[] };
    assert.ok(verdict.checks.some((c) => c.name.startsWith("latency") && c.outcome === "fail"));
    assert.equal((await get(p.proxyUrl)).version, "v1");
  });

  it("rolls back a release whose health check starts failing during the watch", async () => {
    const error = (await deployWatched({ version: "v3b", healthFailAfterMs: 2500 }).catch((e) => e)) as EngineError;
    assert.equal(error.code, "RELEASE_ROLLED_BACK");
    const verdict = error.details?.verdict as { checks: { name: string; outcome: string; summary: string }[] };
    const health = verdict.checks.find((c) => c.name === "health-checks")!;
    assert.equal(health.outcome, "fail");
    assert.match(health.summary, /failed GET \/healthz 3 times in a row/);
    assert.equal((await get(p.proxyUrl)).version, "v1");
  });

  it("keeps a healthy release: stable after its window, with a passing verdict", async () => {
    const result = await deployWatched({ version: "v4" });
    assert.equal(result.release.state, "stable");
    assert.match(result.release.reason, /analysis pass/);
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.analysis?.outcome, "pass");
  });

  it("calls no traffic inconclusive, and neither passes nor rolls back on it", async () => {
    await load.stop();
    const result = await deployWatched({ version: "v5", errorEvery: 2 });
    assert.equal(result.release.state, "stable", "not rolled back for having no traffic");
    assert.match(result.release.reason, /analysis inconclusive/);
  });

  it("abort rolls the watched release back at once, recorded", async () => {
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v6" }) }, () => {});
    const aborted = await p.api.stream<{ from: Release; to: Release }>("/v1/services/web/abort", {}, () => {});
    assert.equal(aborted.from.state, "rolled-back");
    assert.match(aborted.from.reason, /aborted by api during its watch window/);
    const again = (await p.api.stream("/v1/services/web/abort", {}, () => {}).catch((e) => e)) as EngineError;
    assert.equal(again.code, "NOT_WATCHING");
  });
});
