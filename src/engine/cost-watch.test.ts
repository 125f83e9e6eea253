import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseProject, serviceSchema } from "../config/index.js";
import { decimal, ManualClock, silentLogger } from "../core/index.js";
import { LocalRuntime } from "../runtime/index.js";
import { SqliteStore, usageBucketMs } from "../store/index.js";
import { CostWatch } from "./cost-watch.js";
import { FileConfigSnapshots } from "./state-files.js";

const yaml = `project: p
services:
  web:
    run: x
    resources: { cpu: 500m, memory: 256Mi, storage: 1Gi }
cost:
  prices:
    default: { CPU: "0.031611", RAM: "0.004237", storage: "0.00005479452" }
`;

describe("CostWatch", () => {
  it("samples every running instance on the engine's clock into its 5-minute bucket, with its release's reservation and whether it is live", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "engineroom-cost-"));
    // The engine's clock moves only when told, an hour ahead of the real time the runtime stamps starts with:
    // the instances started before the watch began, as an earlier engine's would have, so each is measured from its first sample on.
    const clock = new ManualClock(Math.ceil((Date.now() + 3_600_000) / usageBucketMs) * usageBucketMs);
    const store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
    const watch = new CostWatch({ runtime, clock, store, configSnapshots: new FileConfigSnapshots(join(dir, "configs")), logger: silentLogger, project: { config: parseProject(yaml) } });
    /** Moves the clock 30 s and waits until the watch has taken its sample and sleeps again. */
    const tick = async () => {
      await clock.advance(30_000);
      for (let i = 0; i < 600 && clock.pendingSleepers === 0; i++) await sleep(100);
    };
    const rows = () => store.usage.list({ fromMs: 0, toMs: clock.now() + 1 });
    try {
      const configs = new FileConfigSnapshots(join(dir, "configs"));
      const config = serviceSchema.parse({ run: "x", resources: { cpu: "500m", memory: "256Mi", storage: "1Gi" } });
      await configs.save("sha256:c1", config);
      const live = await store.releases.create({ service: "web", environment: "production", artifactDigest: "sha256:a", configHash: "sha256:c1", reason: "r" });
      const warm = await store.releases.create({ service: "web", environment: "production", artifactDigest: "sha256:b", configHash: "sha256:none", reason: "r" });
      await store.live.set("web", "production", live.id, warm.id);
      const busy = `${JSON.stringify(process.execPath)} -e "for(;;){}"`;
      await runtime.start({ id: "web-1", service: "web", releaseId: live.id, command: busy, cwd: dir, env: {}, port: 1, labels: { environment: "production" } });
      await runtime.start({ id: "web-old-1", service: "web", releaseId: warm.id, command: "sleep 600", cwd: dir, env: {}, port: 1, labels: { environment: "production" } });
      // Both measurable before the first sample (their process groups are set up).
      for (let i = 0; i < 600 && (await runtime.usage()).size < 2; i++) await sleep(100);
      const bucket = clock.now();
      watch.start(30_000);
      await tick(); // the first sample of each: where its CPU time stands, nothing recorded
      assert.deepEqual(await rows(), []);
      await tick();
      const first = (await rows()).find((r) => r.instanceId === "web-1")!;
      assert.ok(first, JSON.stringify(await rows()));
      assert.deepEqual([first.start, first.aliveMs], [bucket, 30_000]);
      assert.deepEqual([first.reservedCpuMilli, first.reservedMemoryBytes, first.reservedStorageBytes, first.live], [500, 256 * 1024 * 1024, 1024 ** 3, true]);
      assert.ok(first.rssBytes > 0);
      const old = (await rows()).find((r) => r.instanceId === "web-old-1")!;
      assert.deepEqual([old.live, old.reservedCpuMilli, old.aliveMs], [false, 0, 30_000], "the warm release is not live; its config snapshot is missing, so it reserves nothing");

      // The next sample adds 30 s of the clock and the CPU time since the last one to the same bucket.
      for (let i = 0; i < 600 && ((await runtime.usage()).get("web-1")?.cpuMs ?? 0) <= first.cpuMs + 10; i++) await sleep(100);
      await tick();
      const second = (await rows()).find((r) => r.instanceId === "web-1")!;
      assert.equal(second.aliveMs, 60_000);
      assert.ok(second.cpuMs > first.cpuMs, `the busy loop used more CPU: ${first.cpuMs} → ${second.cpuMs}`);

      // The monthly rate: never below what the reservation costs (12.3512674996), more when the busy loop uses more than half a vCPU.
      const rate = await watch.monthlyRate("production", "web", 1);
      assert.ok(rate && decimal.compare(decimal.parseDecimal(rate.monthly)!, decimal.parseDecimal("12.3512674996")!) >= 0, JSON.stringify(rate));
    } finally {
      await watch.stop();
      await runtime.stopAll(1_000);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
