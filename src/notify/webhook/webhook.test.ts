import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { ManualClock, Redactor } from "../../core/index.js";
import { Notifier } from "../notifier.js";
import { createChannels, parseChannelsConfig } from "../registry.js";
import { eventually, sampleAlert, sampleNotification, startReceiver, t0, type ReceivedRequest, type Receiver } from "../test-support.js";
import type { Delivery } from "../types.js";

const hmacSecret = "whsec-9f8e7d6c5b4a39281706";
const urlToken = "T0KEN-b7c1e2d9f00a4471";

/** What a receiver does to check a signature, written from the documented rule, not from our code. */
function verify(request: ReceivedRequest, secret: string, nowSeconds: number): boolean {
  const timestamp = String(request.headers["x-engineroom-timestamp"]);
  const signature = String(request.headers["x-engineroom-signature"]);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${timestamp}.${request.body.toString("utf8")}`).digest("hex")}`);
  return expected.length === signature.length && timingSafeEqual(expected, Buffer.from(signature));
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

describe("webhook channel", () => {
  let receiver: Receiver | undefined;
  let notifier: Notifier | undefined;
  afterEach(async () => {
    await notifier?.close();
    await receiver?.close();
    notifier = receiver = undefined;
  });

  function setup(url: string, clock = new ManualClock(t0), options: Record<string, unknown> = {}, redactor = new Redactor()) {
    const config = parseChannelsConfig({ hook: { type: "webhook", url: { secret: "hook_url" }, hmac_secret: { secret: "hook_hmac" }, headers: { "X-Team": "ops" }, ...options } });
    const channels = createChannels(config, { "channels.hook.url": url, "channels.hook.hmac_secret": hmacSecret }, { clock });
    const deliveries: Delivery[] = [];
    notifier = new Notifier({ channels, clock, onDelivery: (d) => deliveries.push(d), redactor, random: () => 0.5 });
    return { notifier, deliveries, clock };
  }

  it("posts Alertmanager's webhook v4 body, field by field, signed over timestamp.body", async () => {
    receiver = await startReceiver((_req, res) => res.writeHead(200).end("ok"));
    const { notifier } = setup(`${receiver.url}/hooks/${urlToken}`);
    const firing = sampleNotification();
    const delivery = await notifier.send("hook", firing);
    assert.equal(delivery.state, "delivered");
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.lastStatus, 200);

    const [request] = receiver.requests;
    assert.ok(request);
    assert.equal(request.method, "POST");
    assert.equal(request.path, `/hooks/${urlToken}`);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["x-team"], "ops");
    assert.equal(request.headers["x-engineroom-timestamp"], String(t0 / 1000));
    assert.ok(verify(request, hmacSecret, t0 / 1000), "the signature verifies with the documented rule");
    assert.ok(!verify(request, "another-secret-value", t0 / 1000), "and not with another secret");
    const tampered = { ...request, body: Buffer.from(request.body.toString().replace('"firing"', '"resolved"')) };
    assert.ok(!verify(tampered, hmacSecret, t0 / 1000), "a changed body fails verification");

    const body = JSON.parse(request.body.toString("utf8"));
    assert.deepEqual(Object.keys(body).sort(), [
      "alerts", "commonAnnotations", "commonLabels", "engineroom", "externalURL", "groupKey", "groupLabels", "receiver", "status", "truncatedAlerts", "version",
    ]);
    assert.equal(body.version, "4");
    assert.equal(body.groupKey, firing.groupKey);
    assert.equal(body.truncatedAlerts, 0);
    assert.equal(body.status, "firing");
    assert.equal(body.receiver, "ops");
    assert.deepEqual(body.groupLabels, { alertname: "check-down" });
    assert.deepEqual(body.commonLabels, firing.commonLabels);
    assert.deepEqual(body.commonAnnotations, {});
    assert.equal(body.externalURL, "http://127.0.0.1:7070");
    assert.equal(body.alerts.length, 2);
    for (const [i, alert] of body.alerts.entries()) {
      assert.deepEqual(Object.keys(alert).sort(), ["annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"]);
      assert.equal(alert.status, "firing");
      assert.deepEqual(alert.labels, firing.alerts[i]!.labels);
      assert.deepEqual(alert.annotations, firing.alerts[i]!.annotations);
      assert.match(alert.startsAt, rfc3339);
      assert.equal(Date.parse(alert.startsAt), t0);
      assert.equal(alert.endsAt, "0001-01-01T00:00:00Z", "Go's zero time while firing, as Alertmanager sends");
      assert.equal(typeof alert.generatorURL, "string");
      assert.equal(alert.fingerprint, firing.alerts[i]!.fingerprint);
    }
    assert.deepEqual(body.engineroom, { notificationId: "ntf_1", kind: "alerts", reason: "new", title: firing.title, text: null, alertIds: ["alr_1", "alr_2"] });
  });

  it("sends resolved alerts with their end time, and a notice as a v4 body with no alerts", async () => {
    receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    const { notifier } = setup(`${receiver.url}/hooks/${urlToken}`);
    const resolved = sampleNotification({ status: "resolved", reason: "resolved", alerts: [sampleAlert({ status: "resolved", endsAt: t0 + 90_000 })] });
    assert.equal((await notifier.send("hook", resolved)).state, "delivered");
    const notice = sampleNotification({ id: "ntf_2", kind: "notice", alerts: [], reason: "silence.created", title: "Silence created by ana", text: "matchers: service=web; until 14:00; reason: deploy" });
    assert.equal((await notifier.send("hook", notice)).state, "delivered");

    const [first, second] = receiver.requests.map((r) => JSON.parse(r.body.toString()));
    assert.equal(first.status, "resolved");
    assert.equal(first.alerts[0].status, "resolved");
    assert.equal(Date.parse(first.alerts[0].endsAt), t0 + 90_000);
    assert.match(first.alerts[0].endsAt, rfc3339);
    assert.equal(second.version, "4");
    assert.deepEqual(second.alerts, []);
    assert.equal(second.engineroom.kind, "notice");
    assert.equal(second.engineroom.reason, "silence.created");
    assert.equal(second.engineroom.text, notice.text);
  });

  it("retries a 500, gives up at once on a 404, and never names the URL (its token) in an error", async () => {
    receiver = await startReceiver((req, res, i) => {
      if (req.path.startsWith("/gone")) return res.writeHead(404).end("no such hook");
      res.writeHead(i === 0 ? 500 : 200).end(i === 0 ? "boom" : "ok");
    });
    const redactor = new Redactor();
    redactor.add("hook_hmac", hmacSecret);
    const { notifier, deliveries, clock } = setup(`${receiver.url}/hooks/${urlToken}`, new ManualClock(t0), {}, redactor);
    const retried = notifier.send("hook", sampleNotification());
    await eventually("the first failure", () => deliveries.some((d) => d.attempts === 1));
    const pending = deliveries.find((d) => d.attempts === 1)!;
    assert.equal(pending.state, "pending");
    assert.equal(pending.lastStatus, 500);
    assert.match(pending.lastError!, /HTTP 500: boom/);
    await clock.advance(1_000);
    const done = await retried;
    assert.equal(done.state, "delivered");
    assert.equal(done.attempts, 2);
    await notifier.close();

    const gone = setup(`${receiver.url}/gone/${urlToken}`);
    const failed = await gone.notifier.send("hook", sampleNotification());
    assert.equal(failed.state, "failed");
    assert.equal(failed.attempts, 1);
    assert.equal(failed.lastStatus, 404);
    assert.match(failed.lastError!, /refused the message: HTTP 404: no such hook/);
    for (const d of [...deliveries, ...gone.deliveries, failed]) {
      assert.ok(!JSON.stringify(d).includes(urlToken), "no delivery holds the URL's token");
      assert.ok(!JSON.stringify(d).includes(hmacSecret));
    }
  });

  it("sends a URL's user and password as Basic authorization, not in the URL", async () => {
    receiver = await startReceiver((_req, res) => res.writeHead(200).end());
    const { notifier } = setup(receiver.url.replace("http://", "http://alert%40ops:p%3Ass-w0rd@") + "/in");
    assert.equal((await notifier.send("hook", sampleNotification())).state, "delivered");
    const [request] = receiver.requests;
    assert.equal(request!.path, "/in");
    assert.equal(request!.headers.authorization, `Basic ${Buffer.from("alert@ops:p:ss-w0rd").toString("base64")}`);
  });

  it("reports a refused connection by its code, without the URL", async () => {
    receiver = await startReceiver((_req, res) => res.end());
    const closedUrl = receiver.url;
    await receiver.close();
    receiver = undefined;
    const { notifier, deliveries } = setup(`${closedUrl}/hooks/${urlToken}`);
    void notifier.send("hook", sampleNotification());
    await eventually("a failed attempt", () => deliveries.some((d) => d.attempts === 1));
    const pending = deliveries.find((d) => d.attempts === 1)!;
    assert.equal(pending.state, "pending");
    assert.match(pending.lastError!, /POST to channel hook failed: ECONNREFUSED/);
    assert.ok(!pending.lastError!.includes(urlToken) && !pending.lastError!.includes(closedUrl));
  });
});
