import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError, ManualClock } from "../core/index.js";
import { channelSecretRefs, channelTypes, checkChannelsConfig, createChannels, parseChannelsConfig } from "./registry.js";

function problems(section: unknown): string[] {
  const checked = checkChannelsConfig(section);
  return checked.problems;
}

describe("channel registry", () => {
  it("knows webhook, slack and email, each with its strict options", () => {
    assert.deepEqual(Object.keys(channelTypes), ["webhook", "slack", "email"]);
  });

  it("parses each type with its defaults", () => {
    const config = parseChannelsConfig({
      hook: { type: "webhook", url: "https://hooks.example.test/alerts" },
      chat: { type: "slack", url: { secret: "slack_url" }, timeout: "3s" },
      mail: { type: "email", host: "smtp.example.test", from: "a@example.test", to: ["b@example.test"] },
      mail465: { type: "email", host: "smtp.example.test", port: 465, from: "a@example.test", to: ["b@example.test"] },
    });
    assert.deepEqual(config.get("hook"), { type: "webhook", options: { url: "https://hooks.example.test/alerts", headers: {}, timeout: 10_000 } });
    assert.deepEqual(config.get("chat"), { type: "slack", options: { url: { secret: "slack_url" }, timeout: 3_000 } });
    assert.deepEqual(config.get("mail")!.options, { host: "smtp.example.test", port: 587, tls_verify: true, from: "a@example.test", to: ["b@example.test"], timeout: 30_000 });
    const channels = createChannels(config, { "channels.chat.url": "https://hooks.slack.test/services/T/B/x" }, { clock: new ManualClock() });
    assert.deepEqual(channels.map((c) => [c.name, c.type, c.timeoutMs]), [["hook", "webhook", 10_000], ["chat", "slack", 3_000], ["mail", "email", 30_000], ["mail465", "email", 30_000]]);
    void Promise.all(channels.map((c) => c.close?.()));
  });

  it("names every problem by its path, and lists the types for an unknown one", () => {
    assert.deepEqual(
      problems({
        pager: { type: "pagerduty", key: "x" },
        typo: { type: "webhok", url: "https://x.test" },
        untyped: { url: "https://x.test" },
        hook: { type: "webhook", url: "ftp://x.test/a", hmac_secret: "plain-text", timeot: "5s" },
        chat: { type: "slack", url: { secret: "a/b" }, timeout: "soon" },
        mail: { type: "email", host: "smtp.test", port: 465, starttls: "require", username: "u", from: "a@b.test", to: [] },
        Bad: { type: "slack", url: "https://x.test" },
      }),
      [
        'channels.pager.type: unknown channel type "pagerduty"; the types are webhook, slack, email',
        'channels.typo.type: unknown channel type "webhok" (did you mean webhook?); the types are webhook, slack, email',
        "channels.untyped.type: required; one of webhook, slack, email",
        "channels.hook.url: write an http:// or https:// URL, or { secret: name } for one that holds a token",
        "channels.hook.hmac_secret: write { secret: name }: this value is never written in engineroom.yaml (`engineroom secrets set <name>` stores it)",
        "channels.hook.timeot: unknown key for a webhook channel (did you mean timeout?) (its keys are type, url, hmac_secret, headers, timeout)",
        "channels.chat.url.secret: a secret name uses letters, digits, _, - and ., starts with a letter, digit or _, and holds no / or ..",
        'channels.chat.timeout: "soon" is not a duration; write it like 500ms, 10s or 1m',
        "channels.mail.to: Too small: expected array to have >=1 items",
        "channels.mail.password: set username and password together, or neither",
        "channels.mail.starttls: starttls applies to a plain connection; with implicit TLS (secure, or port 465) leave it out",
        "channels.Bad: use lowercase letters, digits and dashes, starting with a letter",
      ],
    );
  });

  it("checks the cross-key rules of email", () => {
    assert.deepEqual(problems({ mail: { type: "email", host: "smtp.test", port: 465, starttls: "require", username: "u", from: "a@b.test", to: ["c@d.test"] } }), [
      "channels.mail.password: set username and password together, or neither",
      "channels.mail.starttls: starttls applies to a plain connection; with implicit TLS (secure, or port 465) leave it out",
    ]);
  });

  it("throws CONFIG_INVALID listing the problems, and finds the secret references by path", () => {
    assert.throws(
      () => parseChannelsConfig({ x: { type: "nope" } }, "/p/engineroom.yaml"),
      (error) => isEngineError(error) && error.code === "CONFIG_INVALID" && error.message.includes("/p/engineroom.yaml is not valid:\n  - channels.x.type: unknown channel type"),
    );
    const config = parseChannelsConfig({
      hook: { type: "webhook", url: { secret: "hook_url" }, hmac_secret: { secret: "hook_key", provider: "vault" }, headers: { Authorization: { secret: "hook_auth" }, "X-A": "b" } },
      mail: { type: "email", host: "h", username: "u", password: { secret: "smtp" }, from: "a@b.c", to: ["d@e.f"] },
    });
    assert.deepEqual(channelSecretRefs(config), {
      "channels.hook.url": { secret: "hook_url" },
      "channels.hook.hmac_secret": { secret: "hook_key", provider: "vault" },
      "channels.hook.headers.Authorization": { secret: "hook_auth" },
      "channels.mail.password": { secret: "smtp" },
    });
  });

  it("refuses a secret URL that is not http(s) without showing it", () => {
    const config = parseChannelsConfig({ hook: { type: "webhook", url: { secret: "hook_url" } } });
    assert.throws(
      () => createChannels(config, { "channels.hook.url": "not a url but a s3cr3t-t0ken" }, { clock: new ManualClock() }),
      (error) => isEngineError(error) && error.code === "CONFIG_INVALID" && error.message.startsWith("channels.hook.url is not") && !error.message.includes("s3cr3t"),
    );
  });
});
