/**
 * The runbook runs table's part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): whole runs written and read back with their events in one
 * transaction, upserts, the filters and the order.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { RunbookRunRecord, Store } from "./types.js";

export function runbookContract(get: () => { store: Store; clock: ManualClock }): void {
  const run = (id: string, startedAt: number, overrides: Partial<RunbookRunRecord> = {}): RunbookRunRecord => ({
    id,
    runbook: "restart-web",
    service: "web",
    environment: "production",
    state: "running",
    trigger: { kind: "alert", by: "engine", alertId: "alr_1", rule: "error-rate" },
    incidentId: "inc_1",
    startedAt,
    endedAt: null,
    steps: [{ index: 0, name: "1-run", type: "run", state: "succeeded", plan: "run `echo hï` in /srv", conditions: [], startedAt, endedAt: startedAt + 5, result: "exit 0", output: "hï\n" }],
    approval: null,
    verification: null,
    reason: null,
    updatedAt: startedAt,
    ...overrides,
  });

  describe("runbook runs", () => {
    it("writes whole runs with their events in one go, replaces them by id, reads them back", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const started = run("rbr_1", t);
      const events = await store.runbookRuns.put(started, [
        { type: "runbook.started", service: "web", environment: "production", message: "started", data: { runId: "rbr_1" } },
        { type: "runbook.step.succeeded", service: "web", environment: "production", message: "step", data: { runId: "rbr_1", step: 0 } },
      ]);
      assert.deepEqual(events.map((e) => e.type), ["runbook.started", "runbook.step.succeeded"]);
      assert.deepEqual(await store.runbookRuns.get("rbr_1"), started);
      const ended = { ...started, state: "succeeded" as const, endedAt: t + 10, verification: { outcome: "verified" as const, at: t + 10, evidence: ["check web-health is up"] }, updatedAt: t + 10 };
      assert.deepEqual(await store.runbookRuns.put(ended), []);
      assert.deepEqual(await store.runbookRuns.get("rbr_1"), ended);
      assert.equal(await store.runbookRuns.get("rbr_nope"), undefined);
    });

    it("lists newest started first, by runbook, service and start", async () => {
      const { store, clock } = get();
      const t = clock.now();
      await store.runbookRuns.put(run("rbr_a", t - 3000));
      await store.runbookRuns.put(run("rbr_b", t - 2000, { service: "api" }));
      await store.runbookRuns.put(run("rbr_c", t - 1000, { runbook: "other" }));
      assert.deepEqual((await store.runbookRuns.list()).map((r) => r.id), ["rbr_c", "rbr_b", "rbr_a"]);
      assert.deepEqual((await store.runbookRuns.list({ service: "web" })).map((r) => r.id), ["rbr_c", "rbr_a"]);
      assert.deepEqual((await store.runbookRuns.list({ runbook: "restart-web", service: "web" })).map((r) => r.id), ["rbr_a"]);
      assert.deepEqual((await store.runbookRuns.list({ sinceMs: t - 2000 })).map((r) => r.id), ["rbr_c", "rbr_b"]);
      assert.deepEqual((await store.runbookRuns.list({ limit: 1 })).map((r) => r.id), ["rbr_c"]);
    });
  });
}
