import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testStoreBackends } from "../../store/test-support.js";
import type { Store } from "../../store/index.js";
import type { AlertSignal } from "../types.js";
import { driftAlertResolveMs, eventAlertResolveMs, EventAlerts } from "./event-alerts.js";

async function release(store: Store, service = "web", environment = "production") {
  return store.releases.create({ service, environment, artifactDigest: `sha256:${"a".repeat(64)}`, configHash: "c1", reason: "test" });
}

for (const [backend, makeStore] of testStoreBackends()) {
  describe(`alerts from the engine's events (${backend})`, () => {
    it("turns rollbacks, releases down, failed deploys and drift into alerts, without replaying the history", async () => {
      const { store, clock, cleanup } = await makeStore();
      try {
        // History from before the source started: a rollback and a drift that must not alert again.
        const old = await release(store);
        for (const state of ["starting", "healthy", "verified", "live", "watching", "rolled-back"] as const) await store.releases.transition(old.id, state, `to ${state}`);
        await store.events.append({ type: "drift.detected", message: "old drift", data: { kind: "port-taken", message: "old drift" } });

        const signals: AlertSignal[] = [];
        const source = new EventAlerts({ events: store.events, sink: { report: (s) => signals.push(s) }, clock });
        await source.start();
        assert.equal(await source.poll(), 0, "nothing read from before the start");
        assert.equal(signals.length, 0);

        const v2 = await release(store);
        for (const state of ["starting", "healthy", "verified", "live", "watching"] as const) await store.releases.transition(v2.id, state, `to ${state}`);
        await store.events.append({ type: "release.down", service: "web", environment: "production", releaseId: v2.id, message: "release v2 has no healthy instance left" });
        await store.releases.transition(v2.id, "rolled-back", "analysis failed: error rate 12%");
        const v3 = await release(store);
        await store.releases.transition(v3.id, "failed", "DEPLOY_HEALTH_TIMEOUT: no instance became healthy");
        await store.events.append({ type: "drift.detected", message: "port 4100 of web-1 is served by pid 77", data: { kind: "port-taken", message: "port 4100 of web-1 is served by pid 77" } });
        await store.events.append({ type: "drift.resolved", message: "resolved: port 4100 of web-1 is served by pid 77", data: { kind: "port-taken", message: "port 4100 of web-1 is served by pid 77" } });
        await store.events.append({ type: "instance.crashed", service: "web", environment: "production", message: "not an alert" });

        assert.equal(await source.poll(), 5);
        const shown = signals.map((s) => `${s.rule} ${s.severity} ${s.active ? "firing" : "resolved"}`);
        assert.deepEqual(shown, [
          "release-down page firing",
          "release-rolled-back ticket firing",
          "release-down page resolved",
          "deploy-failed ticket firing",
          "drift-detected ticket firing",
          "drift-detected ticket resolved",
        ]);
        const [down, rolledBack, downResolved, failed, drift, driftResolved] = signals as [AlertSignal, AlertSignal, AlertSignal, AlertSignal, AlertSignal, AlertSignal];
        assert.deepEqual(down.labels, { service: "web", environment: "production", release: v2.id });
        assert.equal(down.annotations.summary, "release v2 has no healthy instance left");
        assert.deepEqual(downResolved.labels, down.labels, "the rollback ends the release-down of the same release");
        assert.match(rolledBack.annotations.summary, /is rolled-back: analysis failed: error rate 12%/);
        assert.equal(rolledBack.resolveAfterMs, eventAlertResolveMs);
        assert.equal(typeof rolledBack.since, "number");
        assert.deepEqual(failed.labels, { service: "web", environment: "production", release: v3.id });
        assert.match(failed.annotations.summary, /DEPLOY_HEALTH_TIMEOUT/);
        assert.equal(drift.labels.kind, "port-taken");
        assert.deepEqual(driftResolved.labels, drift.labels, "a drift resolves the alert of the same finding");
        assert.equal(drift.resolveAfterMs, driftAlertResolveMs);

        assert.equal(await source.poll(), 0, "each event is read once");
        await source.stop();

        // Started from a given event on: the events after it alert, those before do not.
        const from = await store.events.append({ type: "engine.started", message: "engine started" });
        await store.events.append({ type: "release.down", service: "web", environment: "production", releaseId: v3.id, message: "v3 could not be started again after an engine restart" });
        const later: AlertSignal[] = [];
        const restarted = new EventAlerts({ events: store.events, sink: { report: (s) => later.push(s) }, clock });
        await restarted.start(from.id - 1);
        assert.equal(await restarted.poll(), 1);
        assert.deepEqual(later.map((s) => s.rule), ["release-down"]);
        await restarted.stop();
      } finally {
        await cleanup();
      }
    });

    it("polls every 2 s of its clock, and not after stop", async () => {
      const { store, clock, cleanup } = await makeStore();
      try {
        const signals: AlertSignal[] = [];
        const source = new EventAlerts({ events: store.events, sink: { report: (s) => signals.push(s) }, clock });
        await source.start();
        const v1 = await release(store);
        await store.releases.transition(v1.id, "failed", "SMOKE_FAILED: GET / answered 500");
        await clock.advance(1_000);
        assert.equal(signals.length, 0, "not yet 2 s");
        await clock.advance(1_000);
        for (let i = 0; i < 100 && signals.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(signals[0]?.rule, "deploy-failed");
        await source.stop();
        await store.releases.transition((await release(store)).id, "failed", "again");
        await clock.advance(10_000);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(signals.length, 1, "stopped: nothing more");
      } finally {
        await cleanup();
      }
    });
  });
}
