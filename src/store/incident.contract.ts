/**
 * The incidents table's part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): whole records written and read back with their events in one
 * transaction, upserts, the open filter and the order.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { IncidentRecord, Store } from "./types.js";

export function incidentContract(get: () => { store: Store; clock: ManualClock }): void {
  const incident = (id: string, openedAt: number, overrides: Partial<IncidentRecord> = {}): IncidentRecord => ({
    id,
    title: "web v2 rolled back in production — ünïcode",
    state: "triage",
    severity: "SEV2",
    severityReasons: ["production: the last environment of the chain (+2)"],
    severitySource: "computed",
    cause: { kind: "rollback", ref: "rel_2" },
    keys: ["target:web/production"],
    services: ["web"],
    environments: ["production"],
    releaseIds: ["rel_2"],
    openedBy: "engine",
    openedAt,
    startedAt: openedAt - 5000,
    commander: null,
    ack: null,
    milestones: {},
    escalatedAt: null,
    notes: [],
    signals: [{ at: openedAt, kind: "rollback", ref: "rel_2", eventId: 7, summary: "rolled back" }],
    links: [{ kind: "release", ref: "rel_2", at: openedAt, detail: { configDiff: [{ key: "env.GREETING", from: "hi", to: "hello" }] } }],
    timelineAfterId: 3,
    updatedAt: openedAt,
    ...overrides,
  });

  describe("incidents", () => {
    it("writes whole incidents with their events in one go, replaces them by id, reads them back", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const opened = incident("inc_1", t);
      const events = await store.incidents.put(opened, [
        { type: "incident.opened", service: "web", environment: "production", message: "opened", data: { incidentId: "inc_1" } },
        { type: "incident.mitigated", service: "web", environment: "production", message: "mitigated", data: { incidentId: "inc_1", from: "triage", by: "engine" } },
      ]);
      assert.deepEqual(events.map((e) => e.type), ["incident.opened", "incident.mitigated"]);
      assert.ok(events[1]!.id > events[0]!.id);
      assert.deepEqual(await store.incidents.get("inc_1"), opened);
      const acked = { ...opened, state: "mitigated" as const, ack: { by: "alice", at: t + 10 }, milestones: { mitigated: { at: t + 5, by: "engine" } }, updatedAt: t + 10 };
      assert.deepEqual(await store.incidents.put(acked), []);
      assert.deepEqual(await store.incidents.get("inc_1"), acked);
      assert.equal(await store.incidents.get("inc_nope"), undefined);
      const logged = await store.events.list({ types: ["incident."] });
      assert.deepEqual(logged.map((e) => e.data.incidentId), ["inc_1", "inc_1"]);
    });

    it("lists newest opened first, the open ones apart", async () => {
      const { store, clock } = get();
      const t = clock.now();
      await store.incidents.put(incident("inc_a", t));
      await store.incidents.put(incident("inc_b", t + 1000, { state: "resolved" }));
      await store.incidents.put(incident("inc_c", t + 2000, { state: "mitigated" }));
      await store.incidents.put(incident("inc_d", t + 3000, { state: "cancelled" }));
      await store.incidents.put(incident("inc_e", t + 4000, { state: "investigating" }));
      assert.deepEqual((await store.incidents.list()).map((i) => i.id), ["inc_e", "inc_d", "inc_c", "inc_b", "inc_a"]);
      assert.deepEqual((await store.incidents.list({ open: true })).map((i) => i.id), ["inc_e", "inc_c", "inc_a"]);
      assert.deepEqual((await store.incidents.list({ limit: 2 })).map((i) => i.id), ["inc_e", "inc_d"]);
    });

    it("writes nothing of a change whose event cannot be appended", async () => {
      const { store, clock } = get();
      const t = clock.now();
      await store.incidents.put(incident("inc_x", t));
      const broken = { type: null as unknown as string, message: "no type" };
      await assert.rejects(store.incidents.put(incident("inc_x", t, { state: "investigating" }), [broken]));
      assert.equal((await store.incidents.get("inc_x"))?.state, "triage");
    });
  });
}
