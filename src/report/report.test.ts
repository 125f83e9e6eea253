import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../store/index.js";
import { deploymentSuccess, doraKeys, frequencyBucket, incidentsByRelease, incidentTimelines, quantile, recoveryFigures, releaseTimelines, summarize } from "./index.js";

const minute = 60_000;
const day = 86_400_000;
const t0 = Date.UTC(2026, 10, 1); // 1 Nov 2026, 00:00 UTC

let nextId = 1;
function ev(time: number, type: string, fields: { releaseId?: string; service?: string; environment?: string; data?: Record<string, unknown> } = {}): EngineEvent {
  return { id: nextId++, time, type, service: fields.service ?? "web", environment: fields.environment ?? "production", releaseId: fields.releaseId ?? null, message: type, data: fields.data ?? {} };
}

/** The transitions of one release, a minute apart from `at`. */
function release(id: string, at: number, states: string[], extra: { environment?: string; service?: string; number?: number; digest?: string; commit?: { sha: string; time: number } } = {}): EngineEvent[] {
  return states.map((state, i) =>
    ev(at + i * minute, `release.${state}`, {
      releaseId: id,
      environment: extra.environment,
      service: extra.service,
      data: state === "pending" ? { number: extra.number ?? 1, artifactDigest: extra.digest ?? `sha256:${id}`, ...(extra.commit && { commit: extra.commit }) } : {},
    }),
  );
}

const toLive = ["pending", "starting", "healthy", "verified", "live", "watching"];

describe("report figures on a known event history", () => {
  it("quantiles interpolate between ranks; summaries give count, mean, median and p90, or null", () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(quantile(sorted, 0.5), 5.5);
    assert.equal(quantile(sorted, 0.9), 9.1);
    assert.equal(quantile([], 0.5), undefined);
    assert.deepEqual(summarize([4 * minute, minute, 20 * minute, 2 * minute, 3 * minute]), { count: 5, meanMs: 6 * minute, medianMs: 3 * minute, p90Ms: 13.6 * minute });
    assert.equal(summarize([]), null);
  });

  it("deployment success: started = reached starting; superseded and watching succeed; failed and rolled back do not; in progress is apart", () => {
    const events = [
      ...release("r1", t0 + day, [...toLive, "stable"]),
      ...release("r2", t0 + 2 * day, [...toLive, "superseded"]),
      ...release("r3", t0 + 3 * day, ["pending", "starting", "failed"]),
      ...release("r4", t0 + 4 * day, [...toLive, "rolled-back"]),
      ...release("r5", t0 + 5 * day, ["pending", "starting", "healthy"]),
      ...release("r6", t0 + 6 * day, toLive),
      ...release("r7", t0 + 7 * day, ["pending"]), // never started
      ...release("r8", t0 - day, [...toLive, "stable"]), // started before the period
    ];
    const figure = deploymentSuccess(releaseTimelines(events).values(), t0, t0 + 30 * day, undefined, 0.99);
    assert.equal(figure.started, 6);
    assert.deepEqual([figure.succeeded, figure.failed, figure.rolledBack, figure.inProgress], [3, 1, 1, 1]);
    assert.equal(figure.rate, 0.6);
    assert.equal(figure.meets, false);
    assert.equal(figure.text, "60% (3 of 5)");
    const r4 = figure.from.releases.find((r) => r.releaseId === "r4")!;
    assert.equal(r4.outcome, "rolled-back");
    assert.deepEqual(r4.eventIds, events.filter((e) => e.releaseId === "r4").map((e) => e.id));
    assert.equal(deploymentSuccess(releaseTimelines(events).values(), t0, t0 + 30 * day, "staging", 0.99).rate, null);
    // The period holds both ends: r6 started in the very millisecond of the report.
    assert.equal(deploymentSuccess(releaseTimelines(events).values(), t0, t0 + 6 * day + minute, undefined, 0.99).started, 6);
    assert.equal(deploymentSuccess(releaseTimelines(events).values(), t0, t0 + 6 * day + minute - 1, undefined, 0.99).started, 5);
  });

  it("DORA's deployment frequency buckets, as fourkeys defines them", () => {
    const until = t0 + 28 * day;
    // Three days with a deploy in each of the four weeks: daily.
    const daily = [0, 1, 2, 3].flatMap((w) => [1, 3, 5].map((d) => t0 + w * 7 * day + d * day + 3_600_000));
    assert.equal(frequencyBucket(daily, t0, until), "daily");
    // Two days a week: weekly.
    assert.equal(frequencyBucket(daily.filter((_, i) => i % 3 !== 2), t0, until), "weekly");
    // Two of four weeks with a deploy: the median week has none, the month has some: monthly.
    assert.equal(frequencyBucket([t0 + day, t0 + 8 * day], t0, until), "monthly");
    // One deploy in 90 days: the median 30-day month has none: yearly.
    assert.equal(frequencyBucket([t0 + day], t0, t0 + 90 * day), "yearly");
    assert.equal(frequencyBucket([], t0, until), "none");
  });

  it("DORA's keys: frequency, lead time (by digest for promotions), change failure rate, failed deployment recovery time", () => {
    const commit = { sha: "a".repeat(40), time: t0 + day - 2 * 3_600_000 };
    const events = [
      // p1: deployed from git 2 h before (its pending is at t0+day, live 4 minutes later).
      ...release("p1", t0 + day, [...toLive, "stable"], { commit, number: 1 }),
      // p2: rolled back 30 minutes after its switch.
      ...release("p2", t0 + 2 * day, toLive, { number: 2 }),
      ev(t0 + 2 * day + 4 * minute + 30 * minute, "release.rolled-back", { releaseId: "p2" }),
      // p3: an incident names it; p4, 2 h later, fixes forward.
      ...release("p3", t0 + 3 * day, [...toLive, "stable"], { number: 3 }),
      ...release("p4", t0 + 3 * day + 2 * 3_600_000, [...toLive, "stable"], { number: 4 }),
      // s1: staging, with a commit; p5 promotes its artifact to production.
      ...release("s1", t0 + 4 * day, [...toLive, "stable"], { environment: "staging", digest: "sha256:shared", commit: { sha: "b".repeat(40), time: t0 + 4 * day - day } }),
      ...release("p5", t0 + 5 * day, [...toLive, "stable"], { digest: "sha256:shared", number: 5 }),
    ];
    const incidents = incidentTimelines([ev(t0 + 3 * day + 10 * minute, "incident.opened", { data: { incidentId: "inc_1", severity: "SEV2", cause: { kind: "release", ref: "p3" }, startedAt: t0 + 3 * day + 5 * minute, services: ["web"], environments: ["production"], releaseIds: [] } })]);
    const timelines = releaseTimelines(events);
    const commits = new Map([...timelines.values()].filter((t) => t.commit && t.digest).map((t) => [t.digest!, t.commit!]));
    const dora = doraKeys(timelines, commits, incidentsByRelease(incidents.values()), { since: t0, until: t0 + 7 * day, environment: "production" });

    assert.equal(dora.deploymentFrequency.deployments, 5);
    assert.equal(dora.deploymentFrequency.perDay, 0.714);
    assert.equal(dora.deploymentFrequency.perWeek, 5);
    assert.equal(dora.deploymentFrequency.bucket, "daily");
    assert.equal(dora.deploymentFrequency.daily.length, 7);
    assert.deepEqual(dora.deploymentFrequency.daily.map((d) => d.count), [0, 1, 1, 2, 0, 1, 0]);

    assert.equal(dora.leadTime.measured, 2);
    assert.equal(dora.leadTime.notMeasured, 3);
    assert.deepEqual(dora.leadTime.from.releases.map((r) => [r.releaseId, r.leadTimeMs]), [["p1", 2 * 3_600_000 + 4 * minute], ["p5", 2 * day + 4 * minute]]);
    assert.equal(dora.leadTime.summary?.medianMs, (2 * 3_600_000 + 4 * minute + 2 * day + 4 * minute) / 2);
    assert.equal(dora.leadTime.bucket, "less than one week");

    assert.equal(dora.changeFailureRate.deployments, 5);
    assert.equal(dora.changeFailureRate.failures, 2);
    assert.equal(dora.changeFailureRate.rate, 0.4);
    assert.equal(dora.changeFailureRate.bucket, "16–45%");
    assert.deepEqual(dora.changeFailureRate.from.releases.map((r) => [r.releaseId, r.rolledBack, r.incidentIds]), [["p2", true, []], ["p3", false, ["inc_1"]]]);

    assert.deepEqual(dora.recoveryTime.from.releases.map((r) => [r.releaseId, r.recoveredBy, r.recoveryMs]), [["p2", "rollback", 30 * minute], ["p3", "p4", 2 * 3_600_000]]);
    assert.equal(dora.recoveryTime.summary?.medianMs, 75 * minute);
    assert.equal(dora.recoveryTime.bucket, "less than one day");
    assert.equal(dora.recoveryTime.meets, false);
  });

  it("recovery: detect, acknowledge, mitigate, resolve and recover as median and p90; cancelled left out; none is 'no incidents'", () => {
    const lifecycle = (id: string, startedAt: number, steps: [string, number][]) => [
      ev(startedAt + steps[0]![1], "incident.opened", { data: { incidentId: id, severity: "SEV2", startedAt, services: ["web"], environments: ["production"], releaseIds: [], cause: { kind: "alert", ref: "a" } } }),
      ...steps.slice(1).map(([step, after]) => ev(startedAt + after, `incident.${step}`, { data: { incidentId: id, from: "x", by: "ops" } })),
    ];
    const base = t0 + day;
    const events = [
      // detect 1m, ack +2m, mitigated 10m, resolved 30m
      ...lifecycle("i1", base, [["opened", minute], ["acknowledged", 3 * minute], ["investigating", 4 * minute], ["mitigated", 10 * minute], ["resolved", 30 * minute], ["closed", 60 * minute]]),
      // detect 2m, ack +1m, no mitigated: recovered at resolved 20m
      ...lifecycle("i2", base + day, [["opened", 2 * minute], ["acknowledged", 3 * minute], ["resolved", 20 * minute]]),
      // detect 5m, ack +5m, mitigated 40m, still open
      ...lifecycle("i3", base + 2 * day, [["opened", 5 * minute], ["acknowledged", 10 * minute], ["mitigated", 40 * minute]]),
      // open, nothing since
      ...lifecycle("i4", base + 3 * day, [["opened", 4 * minute]]),
      // cancelled
      ...lifecycle("i5", base + 4 * day, [["opened", minute], ["cancelled", 2 * minute]]),
      // acknowledged of an incident opened before the period: ignored
      ev(base, "incident.acknowledged", { data: { incidentId: "old", by: "ops" } }),
    ];
    const figure = recoveryFigures(incidentTimelines(events).values(), t0, t0 + 30 * day, undefined);
    assert.equal(figure.incidents, 4);
    assert.equal(figure.cancelled, 1);
    assert.equal(figure.open, 1);
    assert.deepEqual(figure.detect, { count: 4, meanMs: 3 * minute, medianMs: 3 * minute, p90Ms: 4.7 * minute });
    assert.deepEqual(figure.acknowledge, { count: 3, meanMs: (2 + 1 + 5) * minute / 3 | 0, medianMs: 2 * minute, p90Ms: 4.4 * minute });
    assert.deepEqual(figure.mitigate, { count: 2, meanMs: 25 * minute, medianMs: 25 * minute, p90Ms: 37 * minute });
    assert.deepEqual(figure.resolve, { count: 2, meanMs: 25 * minute, medianMs: 25 * minute, p90Ms: 29 * minute });
    // recovered: i1 at mitigated 10m, i2 at resolved 20m, i3 at mitigated 40m
    assert.deepEqual(figure.recovery, { count: 3, meanMs: 23 * minute + 20_000, medianMs: 20 * minute, p90Ms: 36 * minute });
    assert.equal(figure.mttrMs, 23 * minute + 20_000);
    assert.equal(figure.meets, false);
    assert.equal(figure.text, "23m mean (median 20m, p90 36m), 1 open");
    assert.deepEqual(figure.from.incidents.find((i) => i.incidentId === "i1")!.eventIds, events.filter((e) => e.data.incidentId === "i1").map((e) => e.id));

    const none = recoveryFigures([], t0, t0 + 30 * day, undefined);
    assert.equal(none.text, "no incidents");
    assert.equal(none.mttrMs, null);
    assert.equal(none.recovery, null);
    assert.equal(none.meets, null);
  });
});
