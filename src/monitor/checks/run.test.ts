import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/index.js";
import { parseCondition } from "./conditions.js";
import { checkTypes } from "./registry.js";
import { runCheck } from "./run.js";
import type { CheckDefinition, Probe, ProbeOutcome } from "./types.js";

/** A definition around a probe written here: the runner's contract holds for any probe. */
function around(probe: Probe, timeoutMs = 200): CheckDefinition {
  return {
    name: "t",
    type: "tcp",
    intervalMs: 1000,
    timeoutMs,
    failureThreshold: 3,
    recoveryThreshold: 2,
    labels: {},
    conditions: [parseCondition("connected == true", checkTypes.tcp.fields), parseCondition("response_time < 1s", checkTypes.tcp.fields)],
    probe,
    derived: false,
  };
}

const answering = (outcome: ProbeOutcome): Probe => ({ target: "x:1", run: async () => outcome });

describe("runCheck", () => {
  it("stamps the start on the given clock and judges every condition, response_time included", async () => {
    const clock = new ManualClock(1_000_000);
    const result = await runCheck(around(answering({ fields: { connected: true } })), { now: () => clock.now() });
    assert.equal(result.startedAt, 1_000_000);
    assert.equal(result.ok, true);
    assert.equal(result.fields.response_time, result.durationMs);
    assert.equal(result.error, undefined);
  });

  it("shows a long duration field in days and hours, a short one in ms", async () => {
    const tls = (left: number): CheckDefinition => ({
      ...around(answering({ fields: { cert_valid: true, cert_expires: left } })),
      type: "tls",
      conditions: [parseCondition("cert_expires > 400d", checkTypes.tls.fields), parseCondition("response_time > 5s", checkTypes.tls.fields)],
    });
    const year = (await runCheck(tls(31_535_376_190), { now: () => 0 })).error!;
    assert.match(year, /^failed: cert_expires > 400d \(cert_expires was 364d23h\), response_time > 5s \(response_time was [0-9.]+ms\)$/);
    assert.match((await runCheck(tls(-(2 * 86_400_000 + 5 * 3_600_000 + 17_000)), { now: () => 0 })).error!, /cert_expires was -2d5h\)/);
    assert.match((await runCheck(tls(90 * 60_000), { now: () => 0 })).error!, /cert_expires was 1h30m\)/);
  });

  it("does not judge the conditions of a probe that reports an error", async () => {
    const result = await runCheck(around(answering({ fields: { connected: false }, error: "host not found: x:1" })), { now: Date.now });
    assert.equal(result.ok, false);
    assert.deepEqual(result.failed, []);
    assert.equal(result.error, "host not found: x:1");
  });

  it("resolves at the deadline even when a probe ignores its signal, and aborts the signal", async () => {
    let signalled: AbortSignal | undefined;
    const stuck: Probe = { target: "x:1", run: (signal) => ((signalled = signal), new Promise(() => {})) };
    const started = performance.now();
    const result = await runCheck(around(stuck, 150), { now: Date.now });
    const took = performance.now() - started;
    assert.equal(result.error, "timed out after 150ms");
    assert.ok(took >= 145 && took < 250, `took ${took}ms`);
    assert.equal(signalled?.aborted, true);
  });

  it("says cancelled for a run whose signal was aborted before or during it", async () => {
    const aborted = AbortSignal.abort();
    assert.equal((await runCheck(around(answering({ fields: { connected: true } })), { now: Date.now, signal: aborted })).error, "cancelled");
    const controller = new AbortController();
    const stuck: Probe = { target: "x:1", run: () => new Promise(() => {}) };
    setTimeout(() => controller.abort(), 20);
    assert.equal((await runCheck(around(stuck, 5000), { now: Date.now, signal: controller.signal })).error, "cancelled");
  });

  it("turns a probe that rejects into a failed run instead of rejecting", async () => {
    const throwing: Probe = { target: "x:1", run: () => Promise.reject(new TypeError("secret-looking detail")) };
    const result = await runCheck(around(throwing), { now: Date.now });
    assert.equal(result.ok, false);
    assert.equal(result.error, "probe failed: TypeError");
  });
});
