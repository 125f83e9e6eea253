import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { AlertRecord } from "../store/index.js";
import { noiseReport } from "./noise.js";
import { checkDown, harness, type Harness } from "./test-support.js";

const s = 1000;
const m = 60 * s;

let t: Harness;
afterEach(() => t?.close());

async function advance(ms: number): Promise<void> {
  await t.clock.advance(ms);
  await t.settle();
}

async function stored(id: string): Promise<AlertRecord> {
  await t.settle();
  return (await t.store.alerts.get(id))!;
}

async function fire(service: string, extra: Record<string, string> = {}): Promise<string> {
  t.manager.report(checkDown(service, "production", extra));
  const views = await t.manager.list();
  return views.find((a) => a.labels.service === service && Object.entries(extra).every(([k, v]) => a.labels[k] === v))!.id;
}

describe("alert outcomes", () => {
  it("noise: resolved by itself within self_resolve_within, never acknowledged", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(4 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    const alert = await stored(id);
    assert.equal(alert.outcome?.value, "noise");
    assert.equal(alert.outcome?.source, "inferred");
    const [event] = await t.store.events.list({ types: ["alert.outcome"] });
    assert.match(event!.message, /noise/);
  });

  it("unclassified: fired longer than the self-resolve window and nobody acted", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(6 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    assert.equal((await stored(id)).outcome?.value, "unclassified");
  });

  it("actionable: acknowledged, then an action on its service and environment within action_within", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(1 * m);
    await t.manager.ack(id, { by: "alice" });
    await advance(10 * m);
    // A rollback of another service does not count; a restart of this one does.
    await t.store.events.append({ type: "release.rolled-back", service: "api", environment: "production", message: "other" });
    await t.store.events.append({ type: "instance.restarted", service: "web", environment: "production", message: "restarted" });
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    const alert = await stored(id);
    assert.equal(alert.outcome?.value, "actionable");
    assert.match(alert.outcome!.reason, /alice.*instance\.restarted/);
  });

  it("actionable too when the action follows the resolution, within action_within of the ack; decided once that window closes", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(1 * m);
    await t.manager.ack(id, { by: "alice" });
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    assert.equal((await stored(id)).outcome, null, "not decided while an action may still follow");
    await advance(5 * m);
    await t.store.events.append({ type: "runbook.finished", service: "web", environment: "production", message: "runbook ran" });
    await advance(30 * m);
    assert.equal((await stored(id)).outcome?.value, "actionable");
  });

  it("unclassified: acknowledged, but no action followed within action_within", async () => {
    t = await harness();
    const id = await fire("web");
    await t.manager.ack(id, { by: "alice" });
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(28 * m);
    assert.equal((await stored(id)).outcome, null);
    await advance(1 * m);
    assert.equal((await stored(id)).outcome?.value, "unclassified");
  });

  it("actionable: the engine rolled the service back while it fired, without an ack", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(1 * m);
    await t.store.events.append({ type: "release.rolled-back", service: "web", environment: "production", message: "automatic rollback" });
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    assert.equal((await stored(id)).outcome?.value, "actionable");
  });

  it("duplicate: fired while another alert of the same rule, service and environment was firing", async () => {
    t = await harness();
    const first = await fire("web", { check: "web-health" });
    await advance(1 * m);
    const second = await fire("web", { check: "web-home" });
    assert.equal((await stored(second)).duplicateOf, first);
    await advance(10 * m);
    t.manager.report(checkDown("web", "production", { check: "web-home" }, false));
    await advance(1 * s);
    assert.equal((await stored(second)).outcome?.value, "duplicate");
    assert.equal((await stored(first)).duplicateOf, null);
  });

  it("a person's outcome overrides the inferred one, with who and why, and inference keeps it", async () => {
    t = await harness();
    const id = await fire("web");
    await advance(1 * m);
    await t.manager.setOutcome(id, "actionable", { by: "bob", reason: "caught a real outage" });
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(1 * s);
    const alert = await stored(id);
    assert.deepEqual([alert.outcome?.value, alert.outcome?.source, alert.outcome?.by, alert.outcome?.reason], ["actionable", "person", "bob", "caught a real outage"]);
    await assert.rejects(t.manager.setOutcome("alr_nope", "noise", { by: "bob" }), { code: "ALERT_NOT_FOUND" });
  });

  it("the noise report gives the false-positive ratio per rule and overall, and names the noisiest rules", async () => {
    t = await harness();
    // check-down: 1 actionable, 1 noise; error-rate: 1 actionable; high-latency: 2 noise, 1 duplicate.
    const a = await fire("web");
    await t.manager.setOutcome(a, "actionable", { by: "x" });
    const b = await fire("api");
    await t.manager.setOutcome(b, "noise", { by: "x" });
    const signal = (rule: string, service: string, extra: Record<string, string> = {}) => ({ rule, severity: "page" as const, labels: { service, environment: "production", ...extra }, annotations: { summary: rule }, active: true });
    t.manager.report(signal("error-rate", "web"));
    t.manager.report(signal("high-latency", "web"));
    t.manager.report(signal("high-latency", "web", { path: "/slow" }));
    t.manager.report(signal("high-latency", "db"));
    await advance(1 * m);
    for (const alert of await t.manager.list()) {
      if (alert.rule === "error-rate") await t.manager.setOutcome(alert.id, "actionable", { by: "x" });
      else if (alert.rule === "high-latency") t.manager.report({ ...signal("high-latency", alert.labels.service!), labels: alert.labels, active: false });
    }
    await advance(1 * s);
    await t.manager.idle();
    const report = noiseReport(await t.store.alerts.list(), t.clock.now() - 7 * 24 * 60 * m, t.clock.now());
    const rule = (name: string) => report.rules.find((r) => r.rule === name)!;
    assert.deepEqual([rule("check-down").actionable, rule("check-down").noise, rule("check-down").falsePositiveRatio], [1, 1, 0.5]);
    assert.deepEqual([rule("error-rate").actionable, rule("error-rate").falsePositiveRatio], [1, 0]);
    assert.deepEqual([rule("high-latency").noise, rule("high-latency").duplicate, rule("high-latency").falsePositiveRatio], [2, 1, 1]);
    assert.equal(report.overall.alerts, 6);
    assert.equal(report.overall.falsePositiveRatio, 4 / 6);
    assert.deepEqual(report.noisiest, ["high-latency", "check-down"]);
    assert.equal(report.meetsTarget, false);
    assert.equal(report.target, 0.1);
  });
});
