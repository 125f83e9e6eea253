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
