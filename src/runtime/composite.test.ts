import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EngineError } from "../core/index.js";
import { CompositeRuntime } from "./composite.js";
import { LocalRuntime } from "./local/index.js";
import { UnattachedRuntime } from "./unattached.js";
import type { ExitInfo, InstanceSpec } from "./types.js";

describe("CompositeRuntime: two environments' runtimes as one", () => {
  const dir = mkdtempSync(join(tmpdir(), "engineroom-composite-"));
  writeFileSync(join(dir, "server.cjs"), `require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening " + process.env.ENV_NAME));`);
  const local = (name: string) => new LocalRuntime({ logDir: join(dir, name, "logs"), stateDir: join(dir, name) });
  const staging = local("staging");
  const production = local("production");
  const composite = new CompositeRuntime(new Map([["staging", staging], ["production", production]]));
  after(async () => {
    await Promise.all([staging.stopAll(500), production.stopAll(500)]);
    rmSync(dir, { recursive: true, force: true });
  });
  const spec = async (environment: string): Promise<InstanceSpec> => ({
    id: `web-${environment}-1`,
    service: "web",
    releaseId: `rel-${environment}`,
    command: `node server.cjs`,
    cwd: dir,
    env: { ENV_NAME: environment },
    port: await composite.allocatePort(),
    labels: { environment, slot: "0" },
  });

  it("starts each instance on its environment's runtime, lists both, routes stop and logs to the one that knows the instance", async () => {
    const exits: ExitInfo[] = [];
    const off = composite.onExit((exit) => exits.push(exit));
    await composite.start(await spec("staging"));
    await composite.start(await spec("production"));
    assert.deepEqual(staging.list().map((i) => i.id), ["web-staging-1"]);
    assert.deepEqual(production.list().map((i) => i.id), ["web-production-1"]);
    assert.deepEqual(composite.list().map((i) => i.id).sort(), ["web-production-1", "web-staging-1"]);
    for (let i = 0; i < 50 && !(await composite.logs("web-production-1")).some((l) => l.includes("listening")); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await composite.logs("web-production-1")).some((l) => l.includes("listening production")));
    const usage = await composite.usage();
    assert.deepEqual([...usage.keys()].sort(), ["web-production-1", "web-staging-1"]);
    const exit = await composite.stop("web-production-1", { graceMs: 500 });
    assert.equal(exit.expected, true);
    assert.equal(production.list()[0]!.status, "exited");
    assert.equal(staging.list()[0]!.status, "running", "the other environment's instance is untouched");
    assert.deepEqual(exits.map((e) => e.id), ["web-production-1"], "onExit hears every runtime");
    composite.forget("web-production-1");
    assert.deepEqual(production.list(), []);
    off();
  });

  it("refuses an instance of an environment it has no runtime for", async () => {
    await assert.rejects(composite.start({ ...(await spec("staging")), id: "x", labels: { environment: "qa" } }), /No runtime for the environment/);
  });

  it("names the environments of each runtime, and its runtimes once each", () => {
    const shared = new CompositeRuntime(new Map([["staging", staging], ["qa", staging], ["production", production]]));
    assert.equal(shared.parts.length, 2);
    assert.deepEqual(shared.environmentsOf(staging), ["staging", "qa"]);
    assert.equal(shared.of("production"), production);
  });

  it("an unattached runtime refuses with its reason until attached, then is the runtime it was given", async () => {
    const reason = new EngineError("HOST_NOT_READY", "Environment qa runs nothing: its hosts did not all answer.");
    const waiting = new UnattachedRuntime(reason, ["qa-1"]);
    const exits: string[] = [];
    waiting.onExit((exit) => exits.push(exit.id));
    await assert.rejects(waiting.start({ ...(await spec("staging")), id: "web-qa-1" }), (e) => e === reason);
    assert.deepEqual(waiting.list(), []);
    assert.deepEqual((await waiting.stop("web-qa-1")).expected, true);
    const qa = local("qa");
    waiting.attach(qa);
    await waiting.start({ ...(await spec("staging")), id: "web-qa-1" });
    assert.deepEqual(waiting.list().map((i) => i.id), ["web-qa-1"]);
    await waiting.stop("web-qa-1", { graceMs: 500 });
    assert.deepEqual(exits, ["web-qa-1"], "a listener from before the attachment hears the exit");
    await qa.stopAll(500);
  });
});
