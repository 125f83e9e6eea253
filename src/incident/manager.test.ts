import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { isEngineError, ManualClock } from "../core/index.js";
import type { Notification } from "../notify/index.js";
import { SqliteStore, type AlertRecord, type EngineEvent, type Release, type Store } from "../store/index.js";
import { IncidentManager, IncidentTriggers, incidentsSchemaFor, type ImpactSource } from "./index.js";

const minute = 60_000;

/** A fixed blast radius: one route per service, the request counts and budgets given per test. */
class FixedImpact implements ImpactSource {
  counts = { requests: 0, errors: 0 };
  budgetLeft: number | undefined;
  chain = () => ["staging", "production"];
  routes = () => 1;
  requests = async () => this.counts;
  budgets = async () => (this.budgetLeft === undefined ? [] : [{ slo: "web-availability", budgetLeft: this.budgetLeft, exhausted: this.budgetLeft <= 0 }]);
}

describe("incidents over a real store", () => {
  let clock: ManualClock;
  let store: Store;
  let impact: FixedImpact;
  let sent: { channel: string; notification: Notification }[];
  let manager: IncidentManager;
  let triggers: IncidentTriggers;
  const configs = new Map<string, unknown>([
    ["cfg1", { instances: 2, env: { GREETING: "hi" }, release: { watch: 300000 } }],
    ["cfg2", { instances: 2, env: { GREETING: "hello", NEW: "1" }, release: { watch: 300000 } }],
  ]);

  const make = (settings: Record<string, unknown> = {}) => {
    const config = incidentsSchemaFor(["ops", "pager"]).parse({ channel: "ops", ...settings });
    manager = new IncidentManager({ store, clock, config, impact, configs: { load: async (h) => configs.get(h) }, outbox: { send: (channel, notification) => sent.push({ channel, notification }) } });
    triggers = new IncidentTriggers({ events: store.events, alerts: store.alerts, releases: store.releases, sink: manager, clock });
  };

  beforeEach(async () => {
    clock = new ManualClock();
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    impact = new FixedImpact();
    sent = [];
    make();
    await triggers.start(0);
  });
  afterEach(async () => {
    await triggers.stop();
    await manager.stop();
    await store.close();
  });

  /** v1 stable, then v2 (another config) live by `by`, and rolled back after `lasted`. */
  async function rolledBack(environment = "production", lasted = 2 * minute): Promise<{ v1: Release; v2: Release; event: EngineEvent }> {
    const create = async (configHash: string, reason: string) => store.releases.create({ service: "web", environment, artifactDigest: `sha256:${configHash.padEnd(64, "0")}`, configHash, reason });
    let v1 = await create("cfg1", "deploy of ./app by alice");
    for (const s of ["starting", "healthy", "verified", "live", "watching", "stable"] as const) v1 = await store.releases.transition(v1.id, s, s, s === "live" ? { previousReleaseId: null } : {});
    await clock.advance(minute);
    let v2 = await create("cfg2", "deploy of ./app by bob");
    for (const s of ["starting", "healthy", "verified"] as const) v2 = await store.releases.transition(v2.id, s, s);
    await store.events.append({ type: "release.approved", service: "web", environment, releaseId: v2.id, message: "v2 approved by carol" });
    v2 = await store.releases.transition(v2.id, "live", "switched", { previousReleaseId: v1.id });
    v2 = await store.releases.transition(v2.id, "watching", "watching");
    await clock.advance(lasted);
    v2 = await store.releases.transition(v2.id, "rolled-back", "analysis failed: error rate 12%", { to: v1.id });
    const [event] = await store.events.list({ types: ["release.rolled-back"], limit: 1 });
    return { v1, v2, event: event! };
  }

  async function pageAlert(id: string, labels: Record<string, string>, fingerprint = `fp-${id}`): Promise<AlertRecord> {
    const alert: AlertRecord = {
      id, fingerprint, rule: labels.alertname!, severity: "page", labels, annotations: { summary: `${labels.alertname} for ${labels.service}` }, state: "firing",
      startsAt: clock.now() - 30_000, endsAt: null, resolveAt: null, silencedBy: null, inhibitedBy: null, duplicateOf: null, ack: null, outcome: null, updatedAt: clock.now(),
    };
    await store.alerts.put(alert);
    await store.events.append({ type: "alert.firing", service: labels.service ?? null, environment: labels.environment ?? null, message: `${alert.rule} firing (page)`, data: { alert: id, labels } });
    return alert;
  }

  const incidentEvents = async () => (await store.events.list({ types: ["incident."], limit: 100 })).map((e) => ({ type: e.type, ...e.data }));

  it("opens a mitigated incident from a rollback, linked to the release with its config diff, who deployed and approved it", async () => {
    impact.counts = { requests: 400, errors: 48 };
    const { v1, v2, event } = await rolledBack();
    assert.equal(await triggers.poll(), 1);
    const [incident, ...more] = await manager.list();
    assert.equal(more.length, 0);
    assert.equal(incident!.state, "mitigated", "the rollback already put traffic back on v1");
    assert.deepEqual(incident!.cause, { kind: "rollback", ref: v2.id });
    assert.deepEqual([incident!.services, incident!.environments, incident!.releaseIds], [["web"], ["production"], [v2.id]]);
    const switched = (await store.events.list({ releaseId: v2.id, types: ["release.live"] }))[0]!;
    assert.equal(incident!.startedAt, switched.time, "the impact began at the bad release's switch");
    assert.equal(incident!.severity, "SEV2");
    assert.deepEqual(incident!.severityReasons.filter((r) => !r.includes("(+0)")), ["production: the last environment of the chain (+2)", "12.0% of 400 requests failing (web v2 in production) (+1)"]);
    const link = incident!.links.find((l) => l.kind === "release")!;
    assert.equal(link.ref, v2.id);
    assert.deepEqual(link.detail.configDiff, [
      { key: "env.GREETING", from: "hi", to: "hello" },
      { key: "env.NEW", to: "1" },
    ]);
    assert.deepEqual(link.detail.previous, { releaseId: v1.id, number: 1, artifactDigest: v1.artifactDigest, configHash: "cfg1" });
    assert.equal(link.detail.deployedBy, "deploy of ./app by bob");
    assert.equal(link.detail.approvedBy, "v2 approved by carol");
    assert.deepEqual(await incidentEvents(), [
      { type: "incident.opened", incidentId: incident!.id, severity: "SEV2", cause: { kind: "rollback", ref: v2.id }, startedAt: switched.time, services: ["web"], environments: ["production"], releaseIds: [v2.id] },
      { type: "incident.mitigated", incidentId: incident!.id, from: "triage", by: "engine" },
    ]);
    const opened = (await store.events.list({ types: ["incident.opened"] }))[0]!;
    assert.deepEqual([opened.service, opened.environment, opened.releaseId], ["web", "production", v2.id]);
    assert.equal(incident!.milestones.mitigated!.at, clock.now());
    const { timeline } = await manager.show(incident!.id);
    const types = timeline.map((e) => e.type);
    assert.ok(types.includes("release.live") && types.includes("release.rolled-back") && types.includes("incident.opened"), types.join(", "));
    assert.ok(timeline.some((e) => e.id === event.id));
    assert.deepEqual(sent.map((s) => [s.channel, s.notification.kind, s.notification.reason, s.notification.status]), [["ops", "notice", "incident.opened", "firing"]]);
    assert.match(sent[0]!.notification.text!, /2 config key\(s\) changed/);
  });

  it("one open incident per cause: a release down, its page alert and the rollback that follows join one incident", async () => {
    const { v2 } = await rolledBack("production", minute);
    // Read only the release.down first: the incident the rollback joins is the down one.
    await store.events.append({ type: "release.down", service: "web", environment: "production", releaseId: v2.id, message: "release v2 has no healthy instance left" });
    const down = (await store.events.list({ types: ["release.down"] }))[0]!;
    const rollback = (await store.events.list({ types: ["release.rolled-back"] }))[0]!;
    await manager.signal({ cause: { kind: "release.down", ref: v2.id }, keys: ["target:web/production"], service: "web", environment: "production", releaseId: v2.id, startedAt: down.time, title: "web v2 down", summary: down.message, eventId: down.id });
    await pageAlert("alr_1", { alertname: "release-down", severity: "page", service: "web", environment: "production", release: v2.id });
    assert.equal(await triggers.poll(), 3, "the rollback, the release.down (read again) and the alert");
    await triggers.poll();
    const all = await manager.list({ all: true });
    assert.equal(all.length, 1, "one incident");
    const [incident] = all;
    assert.equal(incident!.cause.kind, "release.down");
    assert.deepEqual(incident!.signals.map((s) => s.kind), ["release.down", "rollback", "alert"], "the release.down read again joined once");
    assert.equal(incident!.state, "mitigated", "the rollback mitigated it");
    assert.ok(incident!.links.some((l) => l.kind === "alert" && l.ref === "alr_1"));
    assert.ok(incident!.severityReasons.some((r) => r.startsWith("a serving release has no healthy instance left")));
    // Once resolved, the next signal of the same cause opens a new incident.
    await manager.ack(incident!.id, "alice");
    await manager.resolve(incident!.id, { note: "fixed", by: "alice" });
    await pageAlert("alr_2", { alertname: "error-rate", severity: "page", service: "web", environment: "production" });
    await triggers.poll();
    assert.equal((await manager.list({ all: true })).length, 2);
  });

  it("joins page alerts of the same fingerprint; ticket and silenced alerts open nothing; an alert incident is mitigated when its alerts recover", async () => {
    await pageAlert("alr_t", { alertname: "deploy-failed", severity: "ticket", service: "web", environment: "production" });
    const silenced = await pageAlert("alr_s", { alertname: "error-rate", severity: "page", service: "web", environment: "production" });
    await store.alerts.put({ ...silenced, silencedBy: "sil_1" });
    await triggers.poll();
    assert.deepEqual(await manager.list(), [], "a ticket and a silenced page open nothing");
    await pageAlert("alr_a", { alertname: "check-down", severity: "page", check: "api-home", environment: "production" }, "fp-check");
    await triggers.poll();
    const [incident] = await manager.list();
    assert.equal((await manager.list()).length, 1);
    assert.deepEqual(incident!.cause, { kind: "alert", ref: "alr_a" });
    assert.ok(incident!.links.some((l) => l.kind === "check" && l.ref === "api-home"));
    // The same check fires again under a new id (same labels, same fingerprint): it joins.
    await pageAlert("alr_b", { alertname: "check-down", severity: "page", check: "api-home", environment: "production" }, "fp-check");
    await triggers.poll();
    assert.equal((await manager.list()).length, 1);
    for (const id of ["alr_a", "alr_b"]) {
      const alert = (await store.alerts.get(id))!;
      await store.alerts.put({ ...alert, state: "resolved", endsAt: clock.now() });
      await store.events.append({ type: "alert.resolved", message: "resolved", data: { alert: id } });
      await triggers.poll();
      const now = await manager.get(incident!.id);
      assert.equal(now.state, id === "alr_a" ? "triage" : "mitigated", `after ${id} resolved`);
    }
  });

  it("an alert incident the rollback already mitigated takes its alert's resolution without a second mitigation", async () => {
    await pageAlert("alr_e", { alertname: "error-rate", severity: "page", service: "web", environment: "production" });
    await triggers.poll();
    await rolledBack();
    await triggers.poll();
    const [incident] = await manager.list();
    assert.equal(incident!.state, "mitigated");
    assert.deepEqual(incident!.signals.map((s) => s.kind), ["alert", "rollback"]);
    const alert = (await store.alerts.get("alr_e"))!;
    await store.alerts.put({ ...alert, state: "resolved", endsAt: clock.now() });
    await store.events.append({ type: "alert.resolved", message: "resolved", data: { alert: "alr_e" } });
    await triggers.poll();
    const after = await manager.get(incident!.id);
    assert.equal(after.state, "mitigated");
    assert.equal(after.links.find((l) => l.ref === "alr_e")!.detail.resolvedAt, clock.now());
    assert.deepEqual((await incidentEvents()).map((e) => e.type), ["incident.opened", "incident.updated", "incident.mitigated"]);
  });

  it("an incident opened by hand takes the engine's later signals of its service and environment", async () => {
    const manual = await manager.open({ title: "customers report errors", service: "web", environment: "production", by: "alice" });
    await rolledBack();
    await triggers.poll();
    const all = await manager.list({ all: true });
    assert.deepEqual(all.map((i) => i.id), [manual.id]);
    assert.deepEqual([all[0]!.state, all[0]!.cause.kind, all[0]!.signals.map((s) => s.kind)], ["mitigated", "manual", ["rollback"]]);
  });

  it("refuses transitions that skip or go back, with INCIDENT_TRANSITION_INVALID (409), changing nothing", async () => {
    const incident = await manager.open({ title: "checkout slow", service: "web", environment: "production", by: "alice" });
    const refused = async (to: Parameters<IncidentManager["update"]>[1]["status"]) => {
      const error = await manager.update(incident.id, { status: to, by: "alice" }).catch((e: unknown) => e);
      assert.ok(isEngineError(error) && error.code === "INCIDENT_TRANSITION_INVALID" && error.status === 409, `${to}: ${String(error)}`);
    };
    await refused("resolved");
    await refused("mitigated");
    await refused("triage");
    const before = (await incidentEvents()).length;
    await manager.update(incident.id, { status: "investigating", by: "alice" });
    await refused("triage");
    await manager.update(incident.id, { status: "mitigated", by: "alice" });
    await refused("investigating");
    await manager.resolve(incident.id, { by: "alice" });
    await refused("cancelled");
    await manager.close(incident.id, "alice");
    await refused("closed");
    const done = await manager.get(incident.id);
    assert.equal(done.state, "closed");
    const times = ["investigating", "mitigated", "resolved", "closed"].map((s) => done.milestones[s as "closed"]!.at);
    assert.deepEqual([...times].sort((a, b) => a - b), times, "monotone");
    assert.deepEqual((await incidentEvents()).slice(before).map((e) => [e.type, (e as { from?: unknown }).from]), [
      ["incident.investigating", "triage"],
      ["incident.mitigated", "investigating"],
      ["incident.resolved", "mitigated"],
      ["incident.closed", "resolved"],
    ]);
    const missing = await manager.get("inc_nope").catch((e: unknown) => e);
    assert.ok(isEngineError(missing) && missing.code === "INCIDENT_NOT_FOUND" && missing.status === 404);
    const linked = await manager.link(incident.id, { kind: "runbook-run", ref: "rbr_1", detail: { runbook: "restart-web" } }, "alice");
    assert.deepEqual(linked.links.map((l) => [l.kind, l.ref]), [["runbook-run", "rbr_1"]]);
    assert.equal((await manager.link(incident.id, { kind: "runbook-run", ref: "rbr_1" }, "alice")).links.length, 1, "once");
    const other = await manager.open({ title: "false alarm", service: "web", environment: "staging", by: "bob" });
    await manager.update(other.id, { status: "cancelled", by: "bob" });
    assert.equal((await manager.get(other.id)).state, "cancelled");
  });

  it("records a person's severity (a reason is required), commander and notes as events, one notice per update", async () => {
    const incident = await manager.open({ title: "checkout slow", service: "web", environment: "staging", by: "alice" });
    assert.equal(incident.severity, "SEV4", "staging, one service, one route, no traffic");
    const noReason = await manager.update(incident.id, { severity: "SEV1", by: "alice" }).catch((e: unknown) => e);
    assert.ok(isEngineError(noReason) && noReason.code === "INCIDENT_INVALID");
    const nothing = await manager.update(incident.id, { by: "alice" }).catch((e: unknown) => e);
    assert.ok(isEngineError(nothing) && nothing.code === "INCIDENT_INVALID");
    sent.length = 0;
    const updated = await manager.update(incident.id, { severity: "SEV1", reason: "payments down", commander: "bob", note: "rolling back", status: "investigating", by: "alice" });
    assert.deepEqual([updated.severity, updated.severitySource, updated.commander, updated.state], ["SEV1", "person", "bob", "investigating"]);
    assert.deepEqual(updated.severityReasons, ["set by alice: payments down"]);
    assert.deepEqual((await incidentEvents()).slice(1), [
      { type: "incident.severity-changed", incidentId: incident.id, from: "SEV4", to: "SEV1", by: "alice", reason: "payments down" },
      { type: "incident.updated", incidentId: incident.id, note: "rolling back", commander: "bob" },
      { type: "incident.investigating", incidentId: incident.id, from: "triage", by: "alice" },
    ]);
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.notification.text!, /severity SEV4 → SEV1 by alice: payments down/);
    await manager.update(incident.id, { severity: "SEV1", reason: "still", by: "alice" });
    assert.equal(sent.length, 1, "the severity it has already: no notice, no event");
    assert.equal((await incidentEvents()).length, 4);
  });

  it("escalates an incident nobody acknowledged within escalate_after, once, to the escalation channel", async () => {
    make({ escalate_after: "10m", escalation_channel: "pager" });
    const quiet = await manager.open({ title: "quiet", service: "web", environment: "production", by: "alice" });
    const acked = await manager.open({ title: "acked", service: "web", environment: "staging", by: "alice" });
    await manager.ack(acked.id, "bob");
    await manager.ack(acked.id, "carol");
    assert.deepEqual((await manager.get(acked.id)).ack, { by: "bob", at: clock.now() }, "the first acknowledgement stays");
    await clock.advance(9 * minute);
    assert.equal(await manager.escalate(), 0);
    await clock.advance(minute);
    sent.length = 0;
    assert.equal(await manager.escalate(), 1);
    assert.equal(await manager.escalate(), 0, "once");
    assert.equal((await manager.get(quiet.id)).escalatedAt, clock.now());
    assert.deepEqual(sent.map((s) => [s.channel, s.notification.reason]), [["pager", "incident.escalated"]]);
    const events = await incidentEvents();
    assert.deepEqual(events.filter((e) => e.type === "incident.escalated"), [{ type: "incident.escalated", incidentId: quiet.id }]);
    assert.deepEqual(events.filter((e) => e.type === "incident.acknowledged"), [{ type: "incident.acknowledged", incidentId: acked.id, by: "bob" }]);
  });

  it("escalates on the clock by itself once started", async () => {
    make({ escalate_after: "1m" });
    const incident = await manager.open({ title: "quiet", service: "web", environment: "production", by: "alice" });
    manager.start();
    for (let i = 0; i < 20 && (await manager.get(incident.id)).escalatedAt === null; i++) await clock.advance(5_000);
    assert.notEqual((await manager.get(incident.id)).escalatedAt, null);
  });
});

describe("incidents config", () => {
  it("defaults to every declared channel and 15m; names an undeclared channel and a bad duration by path", () => {
    assert.deepEqual(incidentsSchemaFor(["ops", "chat"]).parse(undefined), { channels: ["ops", "chat"], escalateAfterMs: 15 * minute, escalationChannels: ["ops", "chat"] });
    assert.deepEqual(incidentsSchemaFor(["ops", "pager"]).parse({ channel: "ops", escalation_channel: ["pager"] }), { channels: ["ops"], escalateAfterMs: 15 * minute, escalationChannels: ["pager"] });
    const bad = incidentsSchemaFor(["ops"]).safeParse({ channel: "slack", escalate_after: "soon", extra: 1 });
    assert.equal(bad.success, false);
    const problems = bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    assert.ok(problems.some((p) => p.startsWith("escalate_after: ")), problems.join("\n"));
    assert.ok(problems.some((p) => /extra/.test(p)), problems.join("\n"));
    const channel = incidentsSchemaFor(["ops"]).safeParse({ channel: "slack" });
    assert.deepEqual(channel.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`), ['channel: no channel named "slack" under channels: (declared: ops)']);
  });
});
