import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Drift } from "../../src/engine/index.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

/**
 * Drift while a release's instances fail their health check and are replaced: the instances the
 * runtime is starting, failing or stopping are its own, not strays, however often it replaces them.
 */
describe("drift during replacements", () => {
  let p: TestProject;
  after(async () => {
    await p?.cleanup();
  });

  it("reports no stray process while failing instances are replaced", { timeout: 90_000 }, async () => {
    p = await startProject(testConfig().replace("      backoff: 100ms", "      backoff: 100ms\n      max_restarts: 100"));
    // Healthy long enough to pass the health gate and the smoke test, then failing: replaced, again and again.
    await p.engine.deploy("web", p.artifact({ version: "v1", healthFailAfterMs: 1_500 }));
    const pids = new Set<number>();
    const strays: Drift[] = [];
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      for (const environment of p.engine.environments) {
        for (const id of environment.supervisor.releaseIds()) for (const i of environment.supervisor.view(id)) if (i.pid) pids.add(i.pid);
      }
      strays.push(...(await p.engine.drift.scan({ recheckMs: 200 })).filter((d) => d.kind === "stray-process"));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(pids.size > 2, `instances were replaced (pids seen: ${[...pids].join(", ")})`);
    assert.deepEqual(strays, []);
    const { events } = await p.api.get<{ events: { type: string; message: string }[] }>("/v1/events?limit=500");
    assert.deepEqual(events.filter((e) => e.type === "drift.detected" && /artifact folder/.test(e.message)), []);
  });
});
