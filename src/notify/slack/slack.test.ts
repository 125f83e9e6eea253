import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ManualClock, Redactor } from "../../core/index.js";
import { Notifier } from "../notifier.js";
import { createChannels, parseChannelsConfig } from "../registry.js";
import { eventually, sampleAlert, sampleNotification, startReceiver, t0, type Receiver } from "../test-support.js";
import type { Delivery } from "../types.js";

const hookPath = "/services/T0TEST/B0TEST/canary-webhook-token-7f3a";

describe("slack channel", () => {
  let receiver: Receiver | undefined;
  let notifier: Notifier | undefined;
  afterEach(async () => {
    await notifier?.close();
    await receiver?.close();
    notifier = receiver = undefined;
  });

  function setup(url: string, clock = new ManualClock(t0)) {
    const redactor = new Redactor();
    redactor.add("slack_url", url);
    const channels = createChannels(parseChannelsConfig({ chat: { type: "slack", url: { secret: "slack_url" } } }), { "channels.chat.url": url }, { clock });
    const deliveries: Delivery[] = [];
    notifier = new Notifier({ channels, clock, onDelivery: (d) => deliveries.push(d), redactor });
    return { notifier, deliveries, clock };
  }

  it("honours a 429's Retry-After exactly, then delivers a Block Kit message", async () => {
    receiver = await startReceiver((_req, res, i) => {
      if (i === 0) return res.writeHead(429, { "retry-after": "1" }).end("rate_limited");
      res.writeHead(200).end("ok");
    });
    const { notifier, deliveries, clock } = setup(`${receiver.url}${hookPath}`);
    const sent = notifier.send("chat", sampleNotification());
    await eventually("the 429", () => deliveries.some((d) => d.attempts === 1));
    const limited = deliveries.find((d) => d.attempts === 1)!;
    assert.equal(limited.state, "pending");
    assert.equal(limited.lastStatus, 429);
    assert.match(limited.lastError!, /HTTP 429: rate_limited \(retry after 1s\)/);

    await clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.requests.length, 1, "no second attempt before Retry-After has passed");
    await clock.advance(1);
    const delivery = await sent;
    assert.equal(delivery.state, "delivered");
    assert.equal(delivery.attempts, 2);
    assert.equal(receiver.requests.length, 2);

    const message = JSON.parse(receiver.requests[1]!.body.toString());
    assert.equal(message.text, "🔴 FIRING (2): [FIRING:2] check-down (production)");
    const [header, ...rest] = message.blocks;
    assert.deepEqual(header, { type: "header", text: { type: "plain_text", text: message.text, emoji: true } });
    const sections = rest.filter((b: { type: string }) => b.type === "section");
    assert.equal(sections.length, 2);
    assert.equal(sections[0].text.type, "mrkdwn");
    assert.match(sections[0].text.text, /^🔴 \*firing\* · \*web is down in production\*/);
    assert.match(sections[0].text.text, /`service=web`/);
    assert.match(sections[0].text.text, /id `alr_1`/);
    const context = rest.at(-1);
    assert.equal(context.type, "context");
    assert.match(context.elements[0].text, /^new · to ops · ntf_1 · <http:\/\/127\.0\.0\.1:7070\|Engineroom>$/);
  });

  it("gives up at once on a 400, and retries a 503", async () => {
    let flakyAnswers = 0;
    receiver = await startReceiver((req, res) => {
      if (req.path.startsWith("/bad")) return res.writeHead(400).end("invalid_payload");
      res.writeHead(++flakyAnswers <= 2 ? 503 : 200).end();
    });
    const bad = setup(`${receiver.url}/bad${hookPath}`);
    const failed = await bad.notifier.send("chat", sampleNotification());
    assert.equal(failed.state, "failed");
    assert.equal(failed.attempts, 1);
    assert.equal(failed.lastStatus, 400);
    assert.match(failed.lastError!, /refused the message: HTTP 400: invalid_payload/);
    assert.equal(receiver.requests.length, 1, "a permanent failure is not retried");
    assert.ok(!failed.lastError!.includes("secret") && !failed.lastError!.includes(receiver.url));
    await bad.notifier.close();

    const flaky = setup(`${receiver.url}${hookPath}`);
    const sent = flaky.notifier.send("chat", sampleNotification());
    await eventually("the 503", () => flaky.deliveries.some((d) => d.attempts === 1));
    await flaky.clock.advance(1_000); // attempt 2 after at most 1 s
    await eventually("the second 503", () => flaky.deliveries.some((d) => d.attempts === 2));
    await flaky.clock.advance(2_000); // attempt 3 after at most 2 s
    const delivery = await sent;
    assert.equal(delivery.state, "delivered");
    assert.equal(delivery.attempts, 3);
  });

  it("shows resolved at a glance, and at most five alerts with a count of the rest", async () => {
    receiver = await startReceiver((_req, res) => res.writeHead(200).end("ok"));
    const { notifier } = setup(`${receiver.url}${hookPath}`);
    const alerts = Array.from({ length: 8 }, (_, i) => sampleAlert({ id: `alr_${i}`, status: "resolved", endsAt: t0 + 60_000, annotations: { summary: `check ${i} <up> & well` } }));
    await notifier.send("chat", sampleNotification({ status: "resolved", alerts, truncatedAlerts: 2, title: "[RESOLVED] check-down" }));
    const message = JSON.parse(receiver.requests[0]!.body.toString());
    assert.equal(message.text, "✅ RESOLVED: [RESOLVED] check-down");
    const sections = message.blocks.filter((b: { type: string }) => b.type === "section");
    assert.equal(sections.length, 5);
    assert.match(sections[0].text.text, /^✅ \*resolved\* · \*check 0 &lt;up&gt; &amp; well\*/);
    const contexts = message.blocks.filter((b: { type: string }) => b.type === "context");
    assert.equal(contexts[0].elements[0].text, "and 5 more alerts");
  });
});
