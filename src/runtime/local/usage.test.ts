import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LocalRuntime } from "./local-runtime.js";

describe("LocalRuntime usage", () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("measures the CPU time and resident memory of an instance's processes, a busy child's included, until it stops", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engineroom-usage-"));
    dirs.push(dir);
    const runtime = new LocalRuntime({ logDir: join(dir, "logs"), stateDir: dir });
    try {
      // A shell that starts a busy-looping child and waits: the CPU is the child's, in the instance's group.
      const busy = `${JSON.stringify(process.execPath)} -e "for(;;){}"`;
      await runtime.start({ id: "busy-1", service: "busy", releaseId: "rel_1", command: `${busy} & wait`, cwd: dir, env: {}, port: 1 });
      await runtime.start({ id: "idle-1", service: "idle", releaseId: "rel_1", command: "sleep 600", cwd: dir, env: {}, port: 1 });
      let first = (await runtime.usage()).get("busy-1");
      // However loaded the machine, the child gets CPU sooner or later; wait for it without a deadline of our own.
      for (let i = 0; i < 600 && !(first && first.cpuMs >= 50); i++) {
        await sleep(100);
        first = (await runtime.usage()).get("busy-1");
      }
      assert.ok(first && first.cpuMs >= 50, `busy CPU ${first?.cpuMs} ms`);
      assert.ok(first.rssBytes > 10 * 1024 * 1024, `a node process holds more than 10 MiB resident: ${first.rssBytes}`);
      let later = first;
      for (let i = 0; i < 600 && later.cpuMs <= first.cpuMs; i++) {
        await sleep(100);
        later = (await runtime.usage()).get("busy-1")!;
      }
      assert.ok(later.cpuMs > first.cpuMs, "the CPU time grows while it runs");
      // The idle one is measured too (its log shim and sleep), once its process group is set up.
      let idle = (await runtime.usage()).get("idle-1");
      for (let i = 0; i < 600 && !idle; i++) {
        await sleep(100);
        idle = (await runtime.usage()).get("idle-1");
      }
      assert.ok(idle && idle.rssBytes > 0);

      await runtime.stop("busy-1", { graceMs: 2_000 });
      assert.deepEqual([...(await runtime.usage()).keys()], ["idle-1"]);
    } finally {
      await runtime.stopAll(1_000);
    }
  });
});
