import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { EngineError, errorCatalogue, formatDuration, ManualClock, parseDuration, Redactor, toEngineError } from "./index.js";

describe("durations", () => {
  it("parses and formats", () => {
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(parseDuration("5"), undefined);
    assert.equal(formatDuration(850), "850ms");
    assert.equal(formatDuration(4200), "4.2s");
    assert.equal(formatDuration(300_000), "5m");
  });
});

describe("ManualClock", () => {
  it("wakes sleepers in time order only when advanced", async () => {
    const clock = new ManualClock(0);
    const woke: number[] = [];
    void clock.sleep(300).then(() => woke.push(300));
    void clock.sleep(100).then(() => woke.push(100));
    await clock.advance(50);
    assert.deepEqual(woke, []);
    await clock.advance(300);
    assert.deepEqual(woke, [100, 300]);
    assert.equal(clock.now(), 350);
  });

  it("rejects a sleep whose signal aborts", async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(sleeping, /stop/);
    assert.equal(clock.pendingSleepers, 0);
  });
});

describe("Redactor", () => {
  it("replaces every registered value, longest first, in text and in JSON values", () => {
    const redactor = new Redactor();
    redactor.add("DB_PASSWORD", "hunter2-secret");
    redactor.add("TOKEN", "hunter2-secret-token-xyz");
    assert.equal(redactor.redact("pw=hunter2-secret tok=hunter2-secret-token-xyz"), "pw=[REDACTED:DB_PASSWORD] tok=[REDACTED:TOKEN]");
    assert.deepEqual(redactor.redactDeep({ a: ["x hunter2-secret y"] }), { a: ["x [REDACTED:DB_PASSWORD] y"] });
  });

  it("escapes values that look like regular expressions", () => {
    const redactor = new Redactor();
    redactor.add("S", "a.b*c(d)");
    assert.equal(redactor.redact("axb a.b*c(d)"), "axb [REDACTED:S]");
  });
});

describe("Redactor: every form a value takes in output", () => {
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----";

  it("a value of several lines: whole, line by line, and JSON-escaped", () => {
    const redactor = new Redactor();
    redactor.add("TLS_KEY", pem);
    assert.equal(redactor.redact(`key: ${pem} end`), "key: [REDACTED:TLS_KEY] end");
    assert.equal(redactor.redact("line 2 is MIIEvQIBADANBgkqhkiG9w0BAQEFAASC here"), "line 2 is [REDACTED:TLS_KEY] here");
    const json = redactor.redact(JSON.stringify({ key: pem }));
    assert.equal(json, '{"key":"[REDACTED:TLS_KEY]"}');
    for (const line of pem.split("\n")) assert.ok(!json.includes(line.slice(0, 8)), line);
  });

  it("a value with quotes and backslashes, JSON-escaped once or as it is", () => {
    const redactor = new Redactor();
    const value = 'pa"ss\\word\\x';
    redactor.add("PW", value);
    assert.equal(redactor.redact(JSON.stringify({ message: `it is ${value}` })), '{"message":"it is [REDACTED:PW]"}');
    assert.equal(redactor.redact(`it is ${value}`), "it is [REDACTED:PW]");
  });

  it("a prefix cut at a truncation point: the smoke-failure quote of 120 characters", () => {
    const redactor = new Redactor();
    const secret = "sk_live_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c";
    redactor.add("STRIPE_KEY", secret);
    const body = "x".repeat(100) + secret + " and more";
    const message = `expected the body to contain "ok"; it starts ${JSON.stringify(body.slice(0, 120))}`;
    const redacted = redactor.redact(message);
    assert.equal(redacted, `expected the body to contain "ok"; it starts "${"x".repeat(100)}[REDACTED:STRIPE_KEY]"`);
    assert.equal(redactor.redact(JSON.stringify({ message })).includes(secret.slice(0, Redactor.minPrefix)), false);
    // A prefix that ends the text (a log line cut at its maximum length), or is followed by an ellipsis.
    assert.equal(redactor.redact(`token=${secret.slice(0, 11)}`), "token=[REDACTED:STRIPE_KEY]");
    assert.equal(redactor.redact(`token=${secret.slice(0, 6)}… (cut)`), "token=[REDACTED:STRIPE_KEY]… (cut)");
    // Text that only starts like the secret, with more text after it, is left alone.
    assert.equal(redactor.redact("sk_live_ mode is on"), "sk_live_ mode is on");
    assert.equal(redactor.redact(`the ${secret.slice(0, 5)}"`), `the ${secret.slice(0, 5)}"`, "shorter than Redactor.minPrefix");
  });

  it("refuses values too short to redact safely, and redacts keys of JSON values", () => {
    const redactor = new Redactor();
    assert.equal(redactor.add("PIN", "123"), false);
    assert.equal(redactor.size, 0);
    assert.equal(redactor.add("TOKEN", "t0k3n-value"), true);
    assert.equal(redactor.redact("123 t0k3n-value"), "123 [REDACTED:TOKEN]");
    redactor.add("CODE", "q7z2");
    assert.equal(redactor.redact("q7z2"), "[REDACTED:CODE]", "a text as short as the shortest value");
    redactor.add("SHORT", "abcdef");
    redactor.add("LONG", "abcdefghijkl");
    assert.equal(redactor.redact("cut: abcdefghi"), "cut: [REDACTED:LONG]", "a longer value cut short wins over a shorter one it starts with");
    const deep = redactor.redactDeep(JSON.parse('{"t0k3n-value": 1, "__proto__": {"a": "t0k3n-value"}, "list": ["x t0k3n-value"]}') as object);
    assert.equal(JSON.stringify(deep), '{"[REDACTED:TOKEN]":1,"__proto__":{"a":"[REDACTED:TOKEN]"},"list":["x [REDACTED:TOKEN]"]}');
    assert.equal(Object.getPrototypeOf(deep), Object.prototype);
    redactor.add("ODD", 'x1","y2');
    assert.deepEqual(redactor.redactDeep(["x1", "y2", 'is x1","y2']), ["x1", "y2", "is [REDACTED:ODD]"], "string by string, never across two");
  });
});

describe("errors", () => {
  it("carry a code, a hint and the catalogue's status", () => {
    const error = new EngineError("DEPLOY_IN_PROGRESS", "busy");
    assert.equal(error.status, 409);
    assert.equal(error.hint, errorCatalogue.DEPLOY_IN_PROGRESS.hint);
    assert.deepEqual(Object.keys(error.toJSON()), ["code", "message", "hint"]);
    assert.equal(toEngineError(new Error("boom")).code, "INTERNAL");
  });

  it("every code is documented in the README", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const missing = Object.keys(errorCatalogue).filter((code) => !readme.includes(`\`${code}\``));
    assert.deepEqual(missing, [], `codes missing from the README's error table: ${missing.join(", ")}`);
  });
});
