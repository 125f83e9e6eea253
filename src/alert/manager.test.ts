import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { testStoreBackends } from "../store/test-support.js";
import { checkDown, HangingChannel, harness, RecordingChannel, type Harness } from "./test-support.js";

const s = 1000;
const m = 60 * s;
const h = 60 * m;

let t: Harness;
afterEach(() => t?.close());

const got = (name = "ops") => (t.channels.find((c) => c.name === name) as RecordingChannel).got;

async function advance(ms: number): Promise<void> {
  await t.clock.advance(ms);
  await t.settle();
}

describe("AlertManager: grouping and timing", () => {
  it("sends two alerts of one group, reported within group_wait, as one notification per receiver channel", async () => {
    t = await harness();
    t.manager.report(checkDown("web", "production", { check: "web-health" }));
    await advance(10 * s);
    t.manager.report(checkDown("web", "production", { check: "web-tls" }));
    await advance(19 * s);
    assert.equal(got("ops").length, 0, "nothing before group_wait (30s)");
    await advance(1 * s);
    for (const name of ["ops", "mail"]) {
      assert.equal(got(name).length, 1, name);
      const [n] = got(name);
      assert.equal(n!.kind, "alerts");
      assert.equal(n!.status, "firing");
      assert.equal(n!.reason, "new");
      assert.equal(n!.receiver, name);
      assert.equal(n!.alerts.length, 2);
      assert.deepEqual(n!.groupLabels, { alertname: "check-down", environment: "production", service: "web" });
    }
    const deliveries = await t.store.alerts.listDeliveries();
    assert.deepEqual(deliveries.map((d) => [d.channel, d.state]).sort(), [["mail", "delivered"], ["ops", "delivered"]]);
  });

  it("batches later changes every group_interval, and repeats an unchanged group at repeat_interval", async () => {
    t = await harness();
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    assert.equal(got().length, 1);
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", { check: "b" }));
    await advance(1 * m);
    t.manager.report(checkDown("web", "production", { check: "c" }));
    await advance(2 * m + 59 * s);
    assert.equal(got().length, 1, "not before the group_interval (5m) since the last flush");
    await advance(1 * s);
    assert.equal(got().length, 2);
    assert.equal(got()[1]!.reason, "updated");
    assert.equal(got()[1]!.alerts.length, 3);
    await advance(4 * h - 5 * m);
    assert.equal(got().length, 2, "no repeat before 4h");
    await advance(5 * m);
    assert.equal(got().length, 3);
    assert.equal(got()[2]!.reason, "repeat");
  });

  it("sends a resolved notification when the group's alerts resolve, then forgets the group", async () => {
    t = await harness();
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(5 * m);
    assert.equal(got().length, 2);
    assert.equal(got()[1]!.status, "resolved");
    assert.equal(got()[1]!.reason, "resolved");
    assert.equal(got()[1]!.alerts[0]!.status, "resolved");
    assert.deepEqual(await t.store.alerts.listGroups(), []);
    await advance(5 * h);
    assert.equal(got().length, 2);
  });

  it("sends no resolved notification on a route with send_resolved: false", async () => {
    t = await harness({ route: { routes: [{ matchers: ["service=web"], receiver: "ops", send_resolved: false }] } });
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    t.manager.report(checkDown("web", "production", {}, false));
    await advance(5 * m);
    assert.deepEqual(got("ops").map((n) => n.status), ["firing"]);
    assert.deepEqual(await t.store.alerts.listGroups(), []);
  });

  it("routes by matchers to their receivers, with continue", async () => {
    t = await harness({ route: { receiver: "mail", routes: [{ matchers: ["severity=page", "service=~web|api"], receiver: "ops", continue: true }, { matchers: ["environment!=staging"], receiver: ["mail"] }] } });
    t.manager.report(checkDown("api"));
    t.manager.report(checkDown("db", "staging"));
    await advance(30 * s);
    assert.deepEqual(got("ops").map((n) => n.groupLabels.service), ["api"]);
    assert.deepEqual(got("mail").map((n) => n.groupLabels.service).sort(), ["api", "db"]);
  });
});

describe("AlertManager: acknowledgements", () => {
  it("stops repeats while acknowledged, and resumes them when the ack ends", async () => {
    t = await harness();
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    const [alert] = await t.manager.list();
    const acked = await t.manager.ack(alert!.id, { by: "alice", forMs: 5 * h, comment: "on it" });
    assert.equal(acked.ack?.by, "alice");
    assert.equal(acked.ack?.until, t.clock.now() + 5 * h);
    await advance(4 * h + 5 * m);
    assert.equal(got().length, 1, "no repeat while acknowledged");
    const [view] = await t.manager.list();
    assert.equal(view!.acknowledged, true);
    await advance(1 * h);
    assert.equal(got().length, 2, "the repeat resumes once the ack ends");
    assert.equal(got()[1]!.reason, "repeat");
    const types = (await t.store.events.list({ types: ["alert."] })).map((e) => e.type);
    assert.deepEqual(types, ["alert.firing", "alert.acknowledged", "alert.ack-ended"]);
  });

  it("refuses an unknown alert and a resolved one", async () => {
    t = await harness();
    await assert.rejects(t.manager.ack("alr_nope", { by: "bob" }), { code: "ALERT_NOT_FOUND" });
    t.manager.report(checkDown("web"));
    const [alert] = await t.manager.list();
    t.manager.report(checkDown("web", "production", {}, false));
    await assert.rejects(t.manager.ack(alert!.id, { by: "bob" }), { code: "ALERT_NOT_FIRING" });
  });
});

describe("AlertManager: silences", () => {
  it("suppresses matching alerts, then expires with a notice and the alerts are notified at once", async () => {
    t = await harness();
    const silence = t.manager.createSilence({ matchers: ["service=web"], reason: "maintenance", forMs: 1 * h, createdBy: "carol" });
    await t.settle();
    assert.equal(got().length, 1);
    assert.equal(got()[0]!.kind, "notice");
    assert.equal(got()[0]!.reason, "silence.created");
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    assert.equal(got().length, 1, "a silenced alert is not notified");
    const [alert] = await t.manager.list();
    assert.equal(alert!.silencedBy, silence.id);
    await advance(1 * h - 30 * s);
    assert.equal(got().length, 3);
    assert.deepEqual(got().slice(1).map((n) => [n.kind, n.reason]), [["notice", "silence.expired"], ["alerts", "new"]]);
    const [stored] = await t.manager.silences();
    assert.equal(stored!.expiredReason, "ended");
    const types = (await t.store.events.list({ types: ["silence."] })).map((e) => e.type);
    assert.deepEqual(types, ["silence.created", "silence.expired"]);
  });

  it("sends a silence's notices to the receivers its matchers route to", async () => {
    t = await harness({ route: { receiver: "mail", routes: [{ matchers: ["severity=page"], receiver: "ops" }] } });
    t.manager.createSilence({ matchers: ["severity=page", "service=~web.*"], reason: "load test", forMs: 1 * h, createdBy: "carol" });
    t.manager.createSilence({ matchers: ["service=db"], reason: "migration", forMs: 1 * h, createdBy: "carol" });
    await t.settle();
    assert.deepEqual(got("ops").map((n) => n.title.replace(/sil_\w+/, "sil")), ["Silence sil created by carol for 1h"]);
    assert.equal(got("mail").length, 1);
    assert.match(got("mail")[0]!.text!, /service=db/);
  });

  it("expires a silence that matched no alert for expire_unused_after", async () => {
    t = await harness({ silences: { expire_unused_after: "2h" } });
    const silence = t.manager.createSilence({ matchers: ["service=gone"], reason: "old service", forMs: 3 * 24 * h, createdBy: "carol" });
    await advance(2 * h);
    const stored = await t.store.alerts.getSilence(silence.id);
    assert.equal(stored!.expiredReason, "unused");
    assert.equal(got().at(-1)!.reason, "silence.expired");
  });

  it("refuses a silence without matchers, reason or expiry, or longer than max_duration", async () => {
    t = await harness();
    assert.throws(() => t.manager.createSilence({ matchers: [], reason: "x", forMs: h, createdBy: "a" }), { code: "SILENCE_INVALID" });
    assert.throws(() => t.manager.createSilence({ matchers: ["a=b"], reason: " ", forMs: h, createdBy: "a" }), { code: "SILENCE_INVALID" });
    assert.throws(() => t.manager.createSilence({ matchers: ["a=b"], reason: "x", forMs: 0, createdBy: "a" }), { code: "SILENCE_INVALID" });
    assert.throws(() => t.manager.createSilence({ matchers: ["a=b"], reason: "x", forMs: 8 * 24 * h, createdBy: "a" }), { code: "SILENCE_INVALID", message: /8d is longer than the longest silence, 7d \(alerts.silences.max_duration\)/ });
    assert.throws(() => t.manager.createSilence({ matchers: ["a=~("], reason: "x", forMs: h, createdBy: "a" }), { code: "SILENCE_INVALID" });
    await assert.rejects(t.manager.expireSilence("sil_nope", "a"), { code: "SILENCE_NOT_FOUND" });
    assert.deepEqual(await t.manager.silences(), []);
  });
});

describe("AlertManager: inhibition", () => {
  it("mutes an environment's check-down alerts while its proxy check is down (built in)", async () => {
    t = await harness({ route: { group_by: ["alertname", "environment", "check"] } });
    t.manager.report(checkDown("proxy", "production", { component: "proxy", check: "proxy.production" }));
    t.manager.report(checkDown("web", "production"));
    t.manager.report(checkDown("web", "staging"));
    await advance(30 * s);
    assert.deepEqual(got().map((n) => n.groupLabels.check).sort(), ["proxy.production", "web.staging"]);
    const alerts = await t.manager.list();
    const web = alerts.find((a) => a.labels.check === "web.production")!;
    const proxy = alerts.find((a) => a.labels.check === "proxy.production")!;
    assert.equal(web.inhibitedBy, proxy.id);
    // Once the proxy is back, the alert it held back is notified at the next group_interval.
    t.manager.report(checkDown("proxy", "production", { component: "proxy", check: "proxy.production" }, false));
    await advance(5 * m);
    const webNotified = got().filter((n) => n.groupLabels.check === "web.production");
    assert.deepEqual(webNotified.map((n) => [n.status, n.reason]), [["firing", "new"]]);
  });

  it("applies a declared rule on its equal labels", async () => {
    t = await harness({ inhibit_rules: [{ source_matchers: ["severity=page"], target_matchers: ["severity=ticket"], equal: ["service"] }] });
    t.manager.report(checkDown("web"));
    t.manager.report({ rule: "deploy-failed", severity: "ticket", labels: { service: "web", environment: "production" }, annotations: { summary: "x" }, active: true });
    t.manager.report({ rule: "deploy-failed", severity: "ticket", labels: { service: "api", environment: "production" }, annotations: { summary: "y" }, active: true });
    await advance(30 * s);
    assert.deepEqual(got().map((n) => `${n.groupLabels.alertname}/${n.groupLabels.service}`).sort(), ["check-down/web", "deploy-failed/api"]);
  });
});

describe("AlertManager: restart", () => {
  for (const [name, backend] of testStoreBackends()) {
    it(`keeps its state: a new manager on the same store neither re-notifies nor forgets (${name})`, async () => {
      t = await harness({}, undefined, backend);
      await restartKeepsState();
    });
  }

  async function restartKeepsState(): Promise<void> {
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    assert.equal(got().length, 1);
    const manager = await t.restart();
    manager.report(checkDown("web"));
    await advance(10 * m);
    assert.equal(got().length, 1, "no second notification of the same alert");
    assert.equal((await manager.list()).length, 1);
    manager.report(checkDown("web", "production", {}, false));
    await advance(5 * m);
    assert.equal(got().length, 2);
    assert.equal(got()[1]!.status, "resolved");
    await t.restart();
    await advance(4 * h);
    assert.equal(got().length, 2);
  }

  it("keeps acknowledgements and silences across a restart", async () => {
    t = await harness();
    t.manager.report(checkDown("web"));
    t.manager.report(checkDown("api"));
    await advance(30 * s);
    const web = (await t.manager.list()).find((a) => a.labels.service === "web")!;
    await t.manager.ack(web.id, { by: "alice", forMs: 6 * h });
    const silence = t.manager.createSilence({ matchers: ["service=db"], reason: "migration", forMs: 8 * h, createdBy: "carol" });
    const manager = await t.restart();
    manager.report(checkDown("db"));
    await advance(4 * h);
    const repeats = got().filter((n) => n.reason === "repeat").map((n) => n.groupLabels.service);
    assert.deepEqual(repeats, ["api"], "the acknowledged alert does not repeat after the restart");
    assert.equal((await manager.list()).find((a) => a.labels.service === "db")!.silencedBy, silence.id);
    assert.equal(got().filter((n) => n.groupLabels.service === "db").length, 0);
  });
});

describe("AlertManager: channels", () => {
  it("a channel that hangs delays neither another channel nor report()", async () => {
    const hanging = new HangingChannel("stuck");
    t = await harness({}, [hanging, new RecordingChannel("ops")]);
    t.manager.report(checkDown("web"));
    await advance(30 * s);
    assert.equal(hanging.started, 1);
    assert.equal(got("ops").length, 1);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) t.manager.report(checkDown(`svc${i}`));
    assert.ok(performance.now() - started < 1000, "report() does not wait");
    await advance(5 * m);
    assert.equal(got("ops").length, 1001);
    const pending = (await t.store.alerts.listDeliveries({ limit: 5000 })).filter((d) => d.channel === "stuck");
    assert.ok(pending.length >= 1 && pending.every((d) => d.state === "pending"));
  });
});
