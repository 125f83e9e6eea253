import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { isEngineError, ManualClock, Redactor } from "../core/index.js";
import { Notifier } from "./notifier.js";
import { createChannels, parseChannelsConfig } from "./registry.js";
import { eventually, sampleNotification, startReceiver, t0, type Receiver } from "./test-support.js";
import type { Delivery } from "./types.js";

const token = "hook-token-3b9d0c61a2";

describe("notifier", () => {
  const receivers: Receiver[] = [];
  const notifiers: Notifier[] = [];
  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.close()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function receiver(answer: Parameters<typeof startReceiver>[0]) {
    const started = await startReceiver(answer);
    receivers.push(started);
    return started;
  }

  function notifier(channels: Record<string, unknown>, urls: Record<string, string>, options: { retry?: { attempts?: number; initialBackoffMs?: number; maxBackoffMs?: number }; random?: () => number } = {}) {
    const clock = new ManualClock(t0);
    const redactor = new Redactor();
    for (const [key, value] of Object.entries(urls)) redactor.add(key, value);
    const deliveries: Delivery[] = [];
    const built = new Notifier({
      channels: createChannels(parseChannelsConfig(channels), urls, { clock }),
      clock,
      onDelivery: (d) => deliveries.push(d),
      redactor,
      ...options,
    });
    notifiers.push(built);
    return { notifier: built, deliveries, clock };
  }

  it("a channel that hangs delays no other channel, and its attempt ends at the channel's timeout", async () => {
    const hanging = await receiver(() => {}); // never answers
    const good = await receiver((_req, res) => res.writeHead(200).end());
    const { notifier: n, deliveries, clock } = notifier(
      { stuck: { type: "webhook", url: { secret: "stuck_url" }, timeout: "5s" }, chat: { type: "slack", url: { secret: "chat_url" } } },
      { "channels.stuck.url": `${hanging.url}/${token}`, "channels.chat.url": `${good.url}/${token}` },
      { retry: { attempts: 2 } },
    );
    const stuck = n.send("stuck", sampleNotification());
    await eventually("the stuck request", () => hanging.requests.length === 1);
    const chat = await Promise.all([n.send("chat", sampleNotification({ id: "ntf_a" })), n.send("chat", sampleNotification({ id: "ntf_b" }))]);
    assert.deepEqual(chat.map((d) => [d.notificationId, d.state]), [["ntf_a", "delivered"], ["ntf_b", "delivered"]]);
    assert.deepEqual(good.requests.map((r) => JSON.parse(r.body.toString()).blocks.at(-1).elements[0].text.split(" · ")[2]), ["ntf_a", "ntf_b"], "in order");

    await clock.advance(4_999);
    assert.equal(deliveries.filter((d) => d.channel === "stuck").length, 1, "still the first attempt");
    await clock.advance(1);
    await eventually("the timeout", () => deliveries.some((d) => d.channel === "stuck" && d.attempts === 1));
    const timedOut = deliveries.find((d) => d.channel === "stuck" && d.attempts === 1)!;
    assert.equal(timedOut.state, "pending");
    assert.equal(timedOut.lastError, "channel stuck did not answer within 5000 ms");
    await clock.advance(1_000);
    await eventually("the second attempt", () => hanging.requests.length === 2);
    await clock.advance(5_000);
    const final = await stuck;
    assert.equal(final.state, "failed");
    assert.equal(final.attempts, 2);
    assert.match(final.lastError!, /did not answer within 5000 ms \(gave up after 2 attempts\)/);
  });

  it("backs off exponentially with jitter up to the maximum, then fails; every state change is reported", async () => {
    const failing = await receiver((_req, res) => res.writeHead(502).end("bad gateway"));
    const { notifier: n, deliveries, clock } = notifier(
      { hook: { type: "webhook", url: { secret: "hook_url" } } },
      { "channels.hook.url": `${failing.url}/${token}` },
      { retry: { attempts: 5, initialBackoffMs: 1_000, maxBackoffMs: 4_000 }, random: () => 0.5 },
    );
    const sent = n.send("hook", sampleNotification());
    // Waits with random 0.5: ¾ of 1 s, 2 s, 4 s, 4 s (capped).
    const expected = [750, 1_500, 3_000, 3_000];
    for (const [i, wait] of expected.entries()) {
      await eventually(`failure ${i + 1}`, () => deliveries.some((d) => d.attempts === i + 1));
      await clock.advance(wait - 1);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(failing.requests.length, i + 1, `no attempt ${i + 2} before ${wait} ms`);
      await clock.advance(1);
      await eventually(`attempt ${i + 2}`, () => failing.requests.length === i + 2);
    }
    const final = await sent;
    assert.equal(final.state, "failed");
    assert.equal(final.attempts, 5);
    assert.equal(final.lastStatus, 502);
    assert.equal(final.createdAt, t0);
    assert.equal(final.updatedAt, t0 + 750 + 1_500 + 3_000 + 3_000);
    assert.deepEqual(
      deliveries.map((d) => [d.state, d.attempts]),
      [["pending", 0], ["pending", 1], ["pending", 2], ["pending", 3], ["pending", 4], ["failed", 5]],
    );
    for (const d of deliveries) assert.ok(!JSON.stringify(d).includes(token));
  });

  it("close() ends pending deliveries as failed, reported, and sends nothing after", async () => {
    const failing = await receiver((_req, res) => res.writeHead(500).end());
    const { notifier: n, deliveries } = notifier({ hook: { type: "webhook", url: { secret: "hook_url" } } }, { "channels.hook.url": `${failing.url}/${token}` });
    const first = n.send("hook", sampleNotification({ id: "ntf_1" }));
    const second = n.send("hook", sampleNotification({ id: "ntf_2" }));
    await eventually("the first failure", () => deliveries.some((d) => d.attempts === 1));
    await n.close();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.state, "failed");
    assert.match(a.lastError!, /closed while waiting to retry/);
    assert.equal(b.state, "failed");
    assert.equal(b.attempts, 0);
    assert.equal(deliveries.at(-1)!.state, "failed");
    const late = await n.send("hook", sampleNotification({ id: "ntf_3" }));
    assert.equal(late.state, "failed");
    assert.equal(failing.requests.length, 1);
  });

  it("refuses an unknown channel with CHANNEL_UNKNOWN", async () => {
    const { notifier: n } = notifier({}, {});
    await assert.rejects(n.send("nope", sampleNotification()), (error) => isEngineError(error) && error.code === "CHANNEL_UNKNOWN");
  });
});
