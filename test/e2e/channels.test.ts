import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadProject } from "../../src/config/index.js";
import { isEngineError, silentLogger } from "../../src/core/index.js";
import { Engine } from "../../src/engine/index.js";
import { startReceiver, type Receiver } from "../../src/notify/test-support.js";
import { run } from "../helpers/cli.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";

const prefix = "ER_CHANNELS_E2E_";
const hookToken = "hooktoken-5d1e0f7a9c3b";
const chatToken = "chattoken-8a2b4c6d0e1f";
const hmacKey = "hmac-key-0c9b8a7f6e5d4c3b";

const channelsConfig = `secrets:
  providers:
    env: { type: env, prefix: ${prefix} }
channels:
  hook:
    type: webhook
    url: { secret: hook_url }
    hmac_secret: { secret: hook_key }
  chat:
    type: slack
    url: { secret: chat_url }
`;

describe("channels, end to end: config, secrets, `engineroom channels test`", () => {
  let hook: Receiver;
  let chat: Receiver;
  let p: TestProject;
  const seen: string[] = [];
  const cli = async (...args: string[]) => {
    const result = await run(p.dir, args);
    seen.push(result.out);
    return result;
  };

  before(async () => {
    hook = await startReceiver((_req, res) => res.writeHead(200).end("ok"));
    chat = await startReceiver((_req, res) => res.writeHead(404).end("no_service"));
    process.env[`${prefix}HOOK_URL`] = `${hook.url}/hooks/${hookToken}`;
    process.env[`${prefix}HOOK_KEY`] = hmacKey;
    process.env[`${prefix}CHAT_URL`] = `${chat.url}/services/${chatToken}`;
    p = await startProject(testConfig("", channelsConfig));
  });
  after(async () => {
    await p?.cleanup();
    await Promise.all([hook?.close(), chat?.close()]);
    for (const name of ["HOOK_URL", "HOOK_KEY", "CHAT_URL"]) delete process.env[`${prefix}${name}`];
  });

  it("lists the channels by name and type, and never their options", async () => {
    const listed = await cli("channels", "--json");
    assert.equal(listed.code, 0, listed.out);
    assert.deepEqual(JSON.parse(listed.out), { channels: [{ name: "hook", type: "webhook" }, { name: "chat", type: "slack" }] });
    const table = await cli("channels");
    assert.match(table.out, /name\s+type\n.*hook\s+webhook\n.*chat\s+slack/s);
  });

  it("sends a signed test notice to a webhook and answers its delivery, recorded in the delivery log", async () => {
    const tested = await cli("channels", "test", "hook", "--json");
    assert.equal(tested.code, 0, tested.out);
    const delivery = JSON.parse(tested.out);
    assert.equal(delivery.state, "delivered");
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.lastStatus, 200);
    const [request] = hook.requests;
    assert.ok(request);
    assert.equal(request.path, `/hooks/${hookToken}`);
    const body = JSON.parse(request.body.toString());
    assert.equal(body.version, "4");
    assert.deepEqual(body.alerts, []);
    assert.equal(body.engineroom.kind, "notice");
    assert.equal(body.engineroom.reason, "test");
    assert.equal(body.engineroom.notificationId, delivery.notificationId);
    const timestamp = String(request.headers["x-engineroom-timestamp"]);
    const expected = `sha256=${createHmac("sha256", hmacKey).update(`${timestamp}.${request.body.toString()}`).digest("hex")}`;
    assert.equal(request.headers["x-engineroom-signature"], expected);

    const human = await cli("channels", "test", "hook");
    assert.equal(human.code, 0, human.out);
    assert.match(human.out, /delivered a test notification to channel hook \(ntf_\S+, status 200, \d+ ms\)/);

    const events = await p.api.get<{ events: { type: string; message: string }[] }>("/v1/events?limit=1000");
    assert.ok(events.events.some((e) => e.type === "channel.tested" && e.message.includes("channel hook")), JSON.stringify(events));
    const log = await cli("alerts", "deliveries", "--json");
    assert.equal(log.code, 0, log.out);
    const rows = JSON.parse(log.out).deliveries as { notificationId: string; channel: string; state: string }[];
    assert.ok(rows.some((d) => d.notificationId === delivery.notificationId && d.channel === "hook" && d.state === "delivered"), log.out);
  });

  it("answers CHANNEL_TEST_FAILED for a channel that refuses, without its URL; CHANNEL_UNKNOWN for one not declared", async () => {
    const refused = await cli("channels", "test", "chat");
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /CHANNEL_TEST_FAILED/);
    assert.match(refused.out, /HTTP 404: no_service/);
    assert.equal(chat.requests.length, 1, "tried once");
    const unknown = await cli("channels", "test", "pager");
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.out, /CHANNEL_UNKNOWN/);
    assert.match(unknown.out, /the channels are: hook, chat/);
  });

  it("no output holds a channel's secret", () => {
    const text = seen.join("\n");
    for (const secret of [hookToken, chatToken, hmacKey]) assert.ok(!text.includes(secret), `output holds ${secret}`);
  });
});

describe("channels: a bad section or a missing secret stops the engine from starting", () => {
  async function start(top: string): Promise<unknown> {
    const dir = mkdtempSync(join(tmpdir(), "engineroom-channels-"));
    const file = join(dir, "engineroom.yaml");
    writeFileSync(file, testConfig("", top));
    try {
      const engine = await Engine.start({ project: loadProject(file), logger: silentLogger });
      await engine.stop();
      return undefined;
    } catch (error) {
      return error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("CONFIG_INVALID names each problem by its path", async () => {
    const error = await start(`channels:
  pager: { type: pagerduty }
  hook: { type: webhook, url: "https://x.test/a", timeout: soon, retries: 3 }
`);
    assert.ok(isEngineError(error) && error.code === "CONFIG_INVALID", String(error));
    assert.deepEqual(error.details?.problems, [
      'channels.pager.type: unknown channel type "pagerduty"; the types are webhook, slack, email',
      'channels.hook.timeout: "soon" is not a duration; write it like 500ms, 10s or 1m',
      "channels.hook.retries: unknown key for a webhook channel (its keys are type, url, hmac_secret, headers, timeout)",
    ]);
  });

  it("SECRET_NOT_FOUND names the secret and where the channel uses it", async () => {
    const error = await start(`secrets:
  providers:
    env: { type: env, prefix: ${prefix}MISSING_ }
channels:
  hook: { type: webhook, url: { secret: hook_url } }
`);
    assert.ok(isEngineError(error) && error.code === "SECRET_NOT_FOUND", String(error));
    assert.match(error.message, /"hook_url" in provider "env" \(for channels\.hook\.url\)/);
  });
});
