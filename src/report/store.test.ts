import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { testStoreBackends } from "../store/test-support.js";
import type { ContractStore } from "../store/store.contract.js";
import { renderReport } from "../cli/report.js";
import { collectReport, renderReportHtml } from "./index.js";
import { alertRecord, checkBucket, recordIncident, recordRelease, requestMinute, stableStates } from "./test-support.js";

const minute = 60_000;
const hour = 3_600_000;

for (const [backend, makeStore] of testStoreBackends()) {
  describe(`report over a real store (${backend})`, () => {
    let s: ContractStore;
    afterEach(() => s?.cleanup());

    it("computes every figure from the store's events, requests, checks and alerts, with what each came from", async () => {
      s = await makeStore();
      const { store, clock } = s;
      const since = clock.now(); // 2026-01-01 00:00 UTC: hour-aligned
      const r1 = await recordRelease(store, clock, { service: "web", environment: "production", states: stableStates, commit: { sha: "1".repeat(40), time: since - hour } });
      const r2 = await recordRelease(store, clock, { service: "web", environment: "production", states: ["starting", "healthy", "verified", "live", "watching", "rolled-back"] });
      const r3 = await recordRelease(store, clock, { service: "web", environment: "production", states: ["starting", "failed"] });
      const s1 = await recordRelease(store, clock, { service: "web", environment: "staging", states: stableStates });
      const incidentEvents = await recordIncident(store, clock, {
        id: "inc_1",
        service: "web",
        environment: "production",
        releaseIds: [r2],
        cause: { kind: "release", ref: r2 },
        detectMs: 2 * minute,
        steps: [["acknowledged", minute], ["investigating", 2 * minute], ["mitigated", 6 * minute], ["resolved", 18 * minute]],
      });
      const outcomes = [...Array(8).fill("actionable"), "noise", "duplicate", "unclassified"] as const;
      for (const [i, outcome] of outcomes.entries()) await store.alerts.put(alertRecord(`alr_${i}`, since + i * minute, outcome));
      await store.alerts.put(alertRecord("alr_before", since - minute, "noise"));
      await store.requests.record([
        requestMinute("web", "production", r1, since, 1000, 0),
        requestMinute("web", "production", r1, since + minute, 1000, 0),
        requestMinute("web", "production", r1, since + 2 * minute, 995, 5),
      ]);
      await store.checks.writeBuckets("hour", [checkBucket("web.health.production", since, 3600, 0)]);
      // A minute inside the closed hour (its rollup holds it) and two after it.
      await store.checks.writeBuckets("minute", [checkBucket("web.health.production", since + 5 * minute, 60, 0), checkBucket("web.health.production", since + hour, 60, 1), checkBucket("web.health.production", since + hour + minute, 60, 0)]);
      await clock.advance(since + 2 * hour - clock.now());
      const until = clock.now();
      const scope = { since, until, production: "production", services: [{ service: "web", environment: "staging" }, { service: "web", environment: "production" }] };

      const report = await collectReport(store, scope);
      const { scorecard: sc, dora } = report;

      const production = sc.uptime.rows.find((r) => r.environment === "production")!;
      assert.deepEqual([production.requests.good, production.requests.valid, production.requests.ratio, production.requests.meets], [2995, 3000, 0.998333, false]);
      assert.deepEqual([production.checks.passes, production.checks.runs, production.checks.meets], [3719, 3720, true]);
      const staging = sc.uptime.rows.find((r) => r.environment === "staging")!;
      assert.deepEqual([staging.requests.ratio, staging.checks.ratio, staging.checks.meets], [null, null, null]);
      assert.equal(sc.uptime.meets, false);

      assert.deepEqual([sc.deploymentSuccess.started, sc.deploymentSuccess.succeeded, sc.deploymentSuccess.failed, sc.deploymentSuccess.rolledBack, sc.deploymentSuccess.rate], [4, 2, 1, 1, 0.5]);
      const traced = sc.deploymentSuccess.from.releases.find((r) => r.releaseId === r2)!;
      assert.deepEqual(traced.eventIds, (await store.events.list({ releaseId: r2 })).map((e) => e.id));

      assert.equal(sc.recovery.incidents, 1);
      assert.deepEqual([sc.recovery.detect?.medianMs, sc.recovery.acknowledge?.medianMs, sc.recovery.mitigate?.medianMs, sc.recovery.resolve?.medianMs], [2 * minute, minute, 8 * minute, 20 * minute]);
      assert.equal(sc.recovery.mttrMs, 8 * minute);
      assert.equal(sc.recovery.meets, true);
      assert.deepEqual(sc.recovery.from.incidents[0]!.eventIds, incidentEvents);

      assert.deepEqual([sc.alertNoise.alerts, sc.alertNoise.actionable, sc.alertNoise.noise, sc.alertNoise.duplicate, sc.alertNoise.ratio, sc.alertNoise.meets], [11, 8, 1, 1, 0.2, false]);
      assert.deepEqual(sc.alertNoise.from.alerts.noise, ["alr_8"]);
      assert.deepEqual(sc.cost, { measured: false, reason: "not measured: no price sheet", perService: [], per1kRequests: null, total: null, meets: null, text: "not measured: no price sheet" });

      assert.equal(dora.environment, "production");
      assert.deepEqual(dora.deploymentFrequency.from.releases.map((r) => r.releaseId), [r1, r2]);
      assert.deepEqual(dora.leadTime.from.releases.map((r) => [r.releaseId, r.leadTimeMs]), [[r1, hour + 4000]]);
      assert.deepEqual(dora.leadTime.from.notMeasured, [r2]);
      assert.deepEqual([dora.changeFailureRate.failures, dora.changeFailureRate.deployments, dora.changeFailureRate.rate], [1, 2, 0.5]);
      assert.deepEqual(dora.changeFailureRate.from.releases[0], { ...dora.changeFailureRate.from.releases[0], releaseId: r2, rolledBack: true, incidentIds: ["inc_1"] });
      assert.deepEqual(dora.recoveryTime.from.releases.map((r) => [r.releaseId, r.recoveredBy, r.recoveryMs]), [[r2, "rollback", 2000]]);

      const scoped = await collectReport(store, { ...scope, environment: "staging" });
      assert.deepEqual([scoped.scorecard.deploymentSuccess.started, scoped.scorecard.deploymentSuccess.rate], [1, 1]);
      assert.equal(scoped.dora.environment, "staging");
      assert.deepEqual(scoped.dora.deploymentFrequency.from.releases.map((r) => r.releaseId), [s1]);
      assert.equal(scoped.scorecard.recovery.text, "no incidents");
      assert.deepEqual(scoped.scorecard.uptime.rows.map((r) => r.environment), ["staging"]);
      assert.ok(r3);

      const page = renderReportHtml(report, { project: "shop <&>" });
      assert.match(page, /^<!doctype html>/);
      assert.match(page, /shop &lt;&amp;&gt;/);
      assert.doesNotMatch(page, /<script|<link|src="http|href="http/);
      const tiles = [...page.matchAll(/<div class="tile (good|bad|none)" data-figure="([a-z-]+)"/g)].map((m) => `${m[2]}:${m[1]}`);
      assert.deepEqual(tiles, ["uptime:bad", "deployment-success:bad", "recovery:good", "alert-noise:bad", "cost:none", "deployment-frequency:bad", "lead-time:good", "change-failure-rate:bad", "recovery-time:good"]);
      assert.equal((page.match(/<svg /g) ?? []).length, 3);

      const table = renderReport(report);
      assert.match(table, /deployment success rate\s+50% \(2 of 4\)\s+> 99%\s+missed/);
      assert.match(table, /mean time to recovery\s+8m mean \(median 8m, p90 8m\)\s+< 15m\s+met/);
      assert.match(table, /alert noise\s+20% false positives \(2 of 10\)/);
      assert.match(table, /change failure rate\s+50% \(1 of 2\)\s+over 45%\s+missed/);
    });

    it("says there is nothing to measure on an empty store, rather than 0", async () => {
      s = await makeStore();
      const until = s.clock.now();
      const report = await collectReport(s.store, { since: until - 30 * 24 * hour, until, production: "production", services: [{ service: "web", environment: "production" }] });
      const { scorecard: sc, dora } = report;
      assert.deepEqual([sc.uptime.meets, sc.deploymentSuccess.rate, sc.recovery.mttrMs, sc.alertNoise.ratio], [null, null, null, null]);
      assert.deepEqual([sc.uptime.text, sc.deploymentSuccess.text, sc.recovery.text, sc.alertNoise.text], ["no traffic or check runs recorded", "no releases judged", "no incidents", "no alerts"]);
      assert.deepEqual([dora.deploymentFrequency.bucket, dora.deploymentFrequency.daily.length, dora.leadTime.text, dora.changeFailureRate.rate, dora.recoveryTime.text], ["none", 30, "no deployments", null, "no failed deployments"]);
      const page = renderReportHtml(report, { project: "empty" });
      assert.equal([...page.matchAll(/class="tile none"/g)].length, 9);
    });
  });
}
