import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Drift, ProjectStatus } from "../../src/engine/index.js";
import type { Plan } from "../../src/plan/index.js";
import type { EngineEvent } from "../../src/store/index.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const root = resolve(import.meta.dirname, "../..");

describe("plan, apply and drift", () => {
  let p: TestProject;
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), ...args], { cwd: p.dir, env: { ...process.env, NO_COLOR: "1" } });
      let out = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (out += c));
      child.on("close", (code) => done({ code, out }));
    });
  const plan = (refreshOnly = false) => p.api.post<{ plan: Plan; drift: Drift[] }>("/v1/plan", { refreshOnly });
  const apply = (saved?: Plan) => p.api.stream<{ done: string[] }>("/v1/apply", saved ? { plan: saved } : {}, () => {});
  const editConfig = (from: string, to: string) => writeFileSync(p.configFile, readFileSync(p.configFile, "utf8").replace(from, to));

  before(async () => {
    // A short watch window: a release that loses an instance while watched is rolled back, not drifting.
    p = await startProject(
      testConfig()
        .replace("    instances: 2", "    artifact: ./app\n    instances: 2")
        .replace("watch: 5m", "watch: 500ms")
        .replace("    restart:\n", "    restart:\n      max_restarts: 0\n"),
    );
    cpSync(join(root, "test/fixtures/app"), join(p.dir, "app"), { recursive: true });
    writeFileSync(join(p.dir, "app/behaviour.json"), JSON.stringify({ version: "v1" }));
  });
  after(async () => {
    await p.cleanup();
  });

  it("plans the creation of a declared service, exit code 2, and applies it", async () => {
    const planned = await cli("plan");
    assert.equal(planned.code, 2, planned.out);
    assert.match(planned.out, /\+ web \(production\)/);
    assert.match(planned.out, /Plan: 1 to create, 0 to change, 0 to destroy\./);
    const applied = await cli("apply", "--yes");
    assert.equal(applied.code, 0, applied.out);
    const again = await cli("plan");
    assert.equal(again.code, 0, again.out);
    const { events } = await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=100");
    const finished = events.find((e) => e.type === "apply.finished")!;
    assert.match(String(finished.data.fileHash), /^[0-9a-f]{64}$/, "the apply records the config file's hash");
  });

  it("reports a config edited without apply as drift, plans the change attribute by attribute, and applies the saved plan", async () => {
    editConfig("    instances: 2", "    instances: 3");
    editConfig("GREETING: hi", "GREETING: hello");
    const { drift } = await plan(true);
    assert.ok(drift.some((d) => d.kind === "config-file"), "edited without apply");
    const saved = await cli("plan", "--out", "plan.json");
    assert.equal(saved.code, 2);
    assert.match(saved.out, /~ web \(production\)/);
    assert.match(saved.out, /instances: 2 → 3/);
    assert.match(saved.out, /env\.GREETING: "hi" → "hello"/);
    const applied = await cli("apply", "plan.json");
    assert.equal(applied.code, 0, applied.out);
    const status = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(status.environments[0]!.services[0]!.instances.filter((i) => i.releaseId === status.environments[0]!.services[0]!.live!.id).length, 3);
    assert.equal((await plan(true)).drift.filter((d) => d.kind === "config-file").length, 0, "applied: no config drift");
  });

  it("refuses a saved plan once what runs changed since, and changes nothing", async () => {
    editConfig("    instances: 3", "    instances: 2");
    const saved = (await plan()).plan;
    await p.api.stream("/v1/services/web/deploys", {}, () => {}); // the state moves on
    const before = await p.api.get<ProjectStatus>("/v1/status");
    const error = await apply(saved).catch((e) => e);
    assert.equal(error.code, "PLAN_STALE");
    const afterwards = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(afterwards.environments[0]!.services[0]!.live!.id, before.environments[0]!.services[0]!.live!.id);
  });

  it("detects an instance killed by hand and a process started by hand, and apply converges the instances", async () => {
    await apply();
    let status = await p.api.get<ProjectStatus>("/v1/status");
    for (let i = 0; i < 100 && status.environments[0]!.services[0]!.live!.state !== "stable"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await p.api.get<ProjectStatus>("/v1/status");
    }
    const live = status.environments[0]!.services[0]!;
    assert.equal(live.live!.state, "stable");
    const victim = live.instances.find((i) => i.releaseId === live.live!.id)!;
    process.kill(victim.pid!, "SIGKILL"); // max_restarts 0: the engine will not restart it
    const artifactDir = join(p.dir, ".engineroom/artifacts/sha256", live.live!.artifactDigest.replace("sha256:", ""));
    const stray = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { cwd: artifactDir, detached: true, stdio: "ignore" });
    try {
      let refreshed = await plan(true);
      for (let i = 0; i < 50 && !refreshed.plan.changes.some((c) => c.drift.length > 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        refreshed = await plan(true);
      }
      assert.ok(refreshed.drift.some((d) => d.kind === "stray-process" && d.pids.includes(stray.pid!)), JSON.stringify(refreshed.drift));
      const change = refreshed.plan.changes.find((c) => c.drift.length > 0)!;
      assert.match(change.drift[0]!.message, /1 of 2 instances running/);
      const refreshOnly = await cli("plan", "--refresh-only");
      assert.equal(refreshOnly.code, 2);
      assert.match(refreshOnly.out, /1 of 2 instances running/);
      const { events } = await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=200");
      assert.ok(events.some((e) => e.type === "drift.detected"));
      await apply();
      assert.equal((await plan()).plan.changes.filter((c) => c.drift.length > 0).length, 0, "instances converged");
    } finally {
      process.kill(-stray.pid!, "SIGKILL");
    }
  });

  it("stops at a failed step, says what was done and what was not, and every service keeps serving", async () => {
    const before = await p.api.get<ProjectStatus>("/v1/status");
    const liveBefore = before.environments[0]!.services[0]!.live!.id;
    editConfig("run: node server.js", "run: node missing.js");
    const error = await apply().catch((e) => e);
    assert.equal(error.code, "DEPLOY_INSTANCE_CRASHED");
    assert.match(error.message, /apply stopped at update web \(production\)/);
    assert.match(error.message, /Done: nothing/);
    const after = await p.api.get<ProjectStatus>("/v1/status");
    assert.equal(after.environments[0]!.services[0]!.live!.id, liveBefore, "the release that served keeps serving");
    const { events } = await p.api.get<{ events: EngineEvent[] }>("/v1/events?limit=50");
    assert.ok(events.some((e) => e.type === "apply.failed"));
    editConfig("run: node missing.js", "run: node server.js");
  });

  it("refuses a second apply while one runs", async () => {
    editConfig("GREETING: hello", "GREETING: hey");
    const first = apply();
    await new Promise((r) => setTimeout(r, 100));
    const second = await apply().catch((e) => e);
    assert.equal(second.code, "DEPLOY_IN_PROGRESS");
    await first;
  });
});
