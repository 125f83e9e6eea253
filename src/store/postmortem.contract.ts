/**
 * The post-mortem tables' part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): the learning log (keys taken once, the service and date filters, the
 * order), action items (upsert, open filter) and post-mortems read back whole.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { ActionItem, LearningEntry, Store } from "./types.js";

export function postmortemContract(get: () => { store: Store; clock: ManualClock }): void {
  const entry = (id: string, date: number, overrides: Partial<LearningEntry> = {}): LearningEntry => ({
    id,
    date,
    learning: "web 0.3.1: error rate 23% after deploy; rolled back in 41 s — ünïcode",
    source: "incident inc_1",
    services: ["web"],
    environment: "production",
    key: null,
    createdAt: date,
    ...overrides,
  });

  describe("learning log, action items, post-mortems", () => {
    it("appends learnings once per key, lists them by date, by service and since", async () => {
      const { store, clock } = get();
      const t = clock.now();
      await store.learnings.append(entry("lrn_1", t + 2000, { key: "incident:inc_1" }));
      const again = await store.learnings.append(entry("lrn_2", t + 9000, { key: "incident:inc_1", learning: "other" }));
      assert.equal(again.id, "lrn_1");
      await store.learnings.append(entry("lrn_3", t + 1000, { services: ["api", "web_x"], source: "alice" }));
      await store.learnings.append(entry("lrn_4", t + 3000, { services: ["webby"], environment: null }));
      assert.deepEqual((await store.learnings.list()).map((e) => e.id), ["lrn_3", "lrn_1", "lrn_4"]);
      assert.deepEqual((await store.learnings.list({ service: "web" })).map((e) => e.id), ["lrn_1"]);
      assert.deepEqual((await store.learnings.list({ service: "api" })).map((e) => e.id), ["lrn_3"]);
      assert.deepEqual((await store.learnings.list({ since: t + 2000 })).map((e) => e.id), ["lrn_1", "lrn_4"]);
      assert.deepEqual((await store.learnings.list({ newest: true, limit: 2 })).map((e) => e.id), ["lrn_4", "lrn_1"]);
      assert.deepEqual(await store.learnings.list({ service: "api" }).then((l) => l[0]), entry("lrn_3", t + 1000, { services: ["api", "web_x"], source: "alice" }));
    });

    it("keeps action items until closed, the open ones apart", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const item = (id: string, at: number, incidentId = "inc_1"): ActionItem => ({
        id, incidentId, type: "prevent", text: "add a canary", owner: "alice", due: "2026-12-31", state: "open", createdAt: at, createdBy: "alice", closedAt: null, closedBy: null,
      });
      await store.actions.put(item("act_1", t));
      await store.actions.put(item("act_2", t + 1, "inc_2"));
      await store.actions.put({ ...item("act_1", t), state: "closed", closedAt: t + 5, closedBy: "bob" });
      assert.equal((await store.actions.get("act_1"))?.closedBy, "bob");
      assert.equal(await store.actions.get("act_nope"), undefined);
      assert.deepEqual((await store.actions.list()).map((a) => a.id), ["act_1", "act_2"]);
      assert.deepEqual((await store.actions.list({ open: true })).map((a) => a.id), ["act_2"]);
      assert.deepEqual((await store.actions.list({ incidentId: "inc_1" })).map((a) => a.id), ["act_1"]);
    });

    it("writes a post-mortem whole and replaces it by incident", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const record = { incidentId: "inc_1", createdAt: t, updatedAt: t, path: "postmortems/2026-12-01-inc_1.md", fileHash: "ab12", markdown: "# web v2 rolled back\n", draft: { status: "draft" } };
      await store.postmortems.put(record);
      assert.deepEqual(await store.postmortems.get("inc_1"), record);
      await store.postmortems.put({ ...record, updatedAt: t + 1, fileHash: "cd34" });
      assert.equal((await store.postmortems.get("inc_1"))?.fileHash, "cd34");
      assert.equal(await store.postmortems.get("inc_2"), undefined);
    });
  });
}
