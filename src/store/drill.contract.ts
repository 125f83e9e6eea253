/**
 * The drill runs' part of the Store contract (called from runStoreContract, so SQLite and PostgreSQL
 * both pass it): whole runs written with their events in one transaction, replaced by id, listed
 * newest first, by drill.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import { startedDrillRun, type DrillRunRecord, type Store } from "./types.js";

export function drillContract(get: () => { store: Store; clock: ManualClock }): void {
  const run = (id: string, drill: string, startedAt: number, overrides: Partial<DrillRunRecord> = {}): DrillRunRecord => ({
    ...startedDrillRun({ id, drill, type: "rollback", service: "web", environment: "staging", trigger: "cli", startedAt }),
    ...overrides,
  });

  describe("drill runs", () => {
    it("writes whole runs with their events in one go, replaces them by id, lists them newest first and by drill", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const [started] = await store.drills.put(run("drl_1", "web-rollback", t), [{ type: "drill.started", service: "web", environment: "staging", message: "started — ünïcode", data: { drillRun: "drl_1" } }]);
      assert.equal(started!.type, "drill.started");
      assert.deepEqual((await store.events.list({ types: ["drill.started"] })).map((e) => e.data.drillRun), ["drl_1"]);
      const finished = run("drl_1", "web-rollback", t, {
        state: "passed",
        finishedAt: t + 9000,
        releaseId: "rel_9",
        timings: { detectedAfterMs: 2100, rolledBackAfterMs: 2300, healthyAfterMs: 2450 },
        requests: { sent: 180, failed: 9, failedInsideFault: 9, failedOutsideFault: 0 },
        rules: [{ rule: "recover_within: 15s", passed: true, detail: "healthy after 2.5s" }],
        reason: "rollback drill web-rollback: detected after 2.1s",
      });
      await store.drills.put(finished);
      assert.deepEqual(await store.drills.get("drl_1"), finished);
      await store.drills.put(run("drl_2", "web-kill", t + 1000, { type: "kill" }));
      await store.drills.put(run("drl_3", "web-rollback", t + 2000));
      assert.deepEqual((await store.drills.list()).map((r) => r.id), ["drl_3", "drl_2", "drl_1"]);
      assert.deepEqual((await store.drills.list({ drill: "web-rollback" })).map((r) => r.id), ["drl_3", "drl_1"]);
      assert.deepEqual((await store.drills.list({ drill: "web-rollback", limit: 1 })).map((r) => r.id), ["drl_3"]);
      assert.equal(await store.drills.get("drl_nope"), undefined);
    });
  });
}
