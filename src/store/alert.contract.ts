/**
 * The alert tables' part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): whole records written and read back, upserts, orders and filters.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { AlertGroupRecord, AlertRecord, DeliveryRecord, SilenceRecord, Store } from "./types.js";

export function alertContract(get: () => { store: Store; clock: ManualClock }): void {
  const alert = (id: string, startsAt: number, overrides: Partial<AlertRecord> = {}): AlertRecord => ({
    id,
    fingerprint: `fp-${id}`,
    rule: "check-down",
    severity: "page",
    labels: { alertname: "check-down", severity: "page", service: "web", environment: "production" },
    annotations: { summary: "web is down — ünïcode" },
    state: "firing",
    startsAt,
    endsAt: null,
    resolveAt: null,
    silencedBy: null,
    inhibitedBy: null,
    duplicateOf: null,
    ack: null,
    outcome: null,
    updatedAt: startsAt,
    ...overrides,
  });

  describe("alerts", () => {
    it("writes whole alerts, replaces them by id, and lists them newest first by state and start", async () => {
      const { store, clock } = get();
      const t = clock.now();
      await store.alerts.put(alert("alr_1", t));
      await store.alerts.put(alert("alr_2", t + 1000));
      await store.alerts.put(alert("alr_3", t + 2000, { state: "resolved", endsAt: t + 3000 }));
      const acked = alert("alr_1", t, { ack: { by: "alice", at: t + 500, until: null, comment: "on it" }, outcome: { value: "noise", source: "person", by: "bob", reason: "flap", at: t + 600 } });
      await store.alerts.put(acked);
      assert.deepEqual(await store.alerts.get("alr_1"), acked);
      assert.equal(await store.alerts.get("alr_nope"), undefined);
      assert.deepEqual((await store.alerts.list()).map((a) => a.id), ["alr_3", "alr_2", "alr_1"]);
      assert.deepEqual((await store.alerts.list({ state: "firing" })).map((a) => a.id), ["alr_2", "alr_1"]);
      assert.deepEqual((await store.alerts.list({ since: t + 1000, limit: 1 })).map((a) => a.id), ["alr_3"]);
    });

    it("keeps notification groups until removed", async () => {
      const { store, clock } = get();
      const group: AlertGroupRecord = {
        key: 'root:{"service":"web"}',
        route: "root",
        receivers: ["ops"],
        groupLabels: { service: "web" },
        alertIds: ["alr_1"],
        notifiedFiring: [],
        lastNotifiedAt: null,
        nextFlushAt: clock.now() + 30_000,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      };
      await store.alerts.putGroup(group);
      const flushed = { ...group, notifiedFiring: ["alr_1"], lastNotifiedAt: clock.now() + 30_000, nextFlushAt: clock.now() + 330_000 };
      await store.alerts.putGroup(flushed);
      assert.deepEqual(await store.alerts.listGroups(), [flushed]);
      await store.alerts.removeGroup(group.key);
      assert.deepEqual(await store.alerts.listGroups(), []);
    });

    it("keeps silences, active ones apart from expired ones", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const silence = (id: string, createdAt: number): SilenceRecord => ({
        id, matchers: ["service=web", "environment=~prod.*"], reason: "maintenance", createdBy: "carol", createdAt, startsAt: createdAt,
        endsAt: createdAt + 3_600_000, expiredAt: null, expiredBy: null, expiredReason: null, lastMatchedAt: createdAt, updatedAt: createdAt,
      });
      await store.alerts.putSilence(silence("sil_1", t));
      await store.alerts.putSilence(silence("sil_2", t + 1));
      const expired = { ...silence("sil_1", t), expiredAt: t + 10, expiredBy: "carol", expiredReason: "expired by carol" };
      await store.alerts.putSilence(expired);
      assert.deepEqual(await store.alerts.getSilence("sil_1"), expired);
      assert.deepEqual((await store.alerts.listSilences()).map((s) => s.id), ["sil_2", "sil_1"]);
      assert.deepEqual((await store.alerts.listSilences({ active: true })).map((s) => s.id), ["sil_2"]);
    });

    it("keeps one delivery row per notification and channel, updated in place, newest first", async () => {
      const { store, clock } = get();
      const t = clock.now();
      const delivery = (id: string, channel: string, createdAt: number): DeliveryRecord => ({
        notificationId: id, channel, state: "pending", attempts: 0, lastError: null, lastStatus: null, createdAt, updatedAt: createdAt, title: "[FIRING:1] web",
      });
      await store.alerts.putDelivery(delivery("ntf_1", "ops", t));
      await store.alerts.putDelivery(delivery("ntf_2", "ops", t + 1));
      const failed: DeliveryRecord = { ...delivery("ntf_1", "ops", t), state: "failed", attempts: 6, lastError: "HTTP 500", lastStatus: 500, updatedAt: t + 60_000 };
      await store.alerts.putDelivery(failed);
      assert.deepEqual(await store.alerts.listDeliveries(), [delivery("ntf_2", "ops", t + 1), failed]);
      assert.equal((await store.alerts.listDeliveries({ limit: 1 })).length, 1);
    });
  });
}
