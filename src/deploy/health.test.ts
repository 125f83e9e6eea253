import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { describeProbe, probePassed, waitHealthy, type HealthTarget } from "./health.js";
import { closedPort, drive, rejection, startServer, testService, until, type TestServer } from "./test-support.js";

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** A server answering its health probes with `statuses` in turn (the last one repeats), or never when `hang`. */
async function healthServer(statuses: number[], hang = false): Promise<HealthTarget & { server: TestServer }> {
  let n = 0;
  const server = await startServer((res) => {
    if (hang) return;
    res.writeHead(statuses[Math.min(n++, statuses.length - 1)]!, { location: "/elsewhere" });
    res.end();
  });
  servers.push(server);
  return { id: "web-v1-1", host: server.host, port: server.port, server };
}

const health = (overrides: Partial<ReturnType<typeof testService>["health"]> = {}) => testService({ health: overrides }).health;

describe("waitHealthy", () => {
  it("passes once the instance answered healthy_threshold times in a row, probing every interval", async () => {
    const clock = new ManualClock();
    const target = await healthServer([200]);
    const started = clock.now();
    const outcome = await drive(clock, waitHealthy(target, health({ healthy_threshold: 3, interval: 100 }), clock, new AbortController().signal), { stepMs: 10 });
    assert.equal(outcome.healthy, true);
    assert.equal(outcome.probes, 3);
    assert.equal(target.server.seen.length, 3);
    assert.ok(target.server.seen.every((r) => r.method === "GET" && r.url === "/health"));
    assert.ok(clock.now() - started >= 200, "two intervals between three probes");
  });

  it("never reaches the threshold when answers alternate 200 and 500, and gives up at start_timeout", async () => {
    const clock = new ManualClock();
    const target = await healthServer(Array.from({ length: 100 }, (_, i) => (i % 2 ? 500 : 200)));
    const started = clock.now();
    const outcome = await drive(clock, waitHealthy(target, health({ healthy_threshold: 3, interval: 100, start_timeout: 2_000 }), clock, new AbortController().signal));
    assert.equal(outcome.healthy, false);
    assert.ok(!outcome.healthy && outcome.probes >= 10, "it had many chances");
    assert.ok(!outcome.healthy && /web-v1-1 did not pass GET \/health 3 times in a row within 2000ms/.test(outcome.reason));
    assert.ok(clock.now() - started <= 2_000 + 50, "it does not sleep past start_timeout");
  });

  it("counts a pass after failures from zero again", async () => {
    const clock = new ManualClock();
    const target = await healthServer([200, 500, 200, 200]);
    const outcome = await drive(clock, waitHealthy(target, health({ healthy_threshold: 2 }), clock, new AbortController().signal));
    assert.deepEqual({ healthy: outcome.healthy, probes: outcome.probes }, { healthy: true, probes: 4 });
  });

  it("reports the last probe when the instance stays unhealthy", async () => {
    const clock = new ManualClock();
    const target = await healthServer([503]);
    const outcome = await drive(clock, waitHealthy(target, health({ start_timeout: 1_000 }), clock, new AbortController().signal));
    assert.equal(outcome.healthy, false);
    assert.match(!outcome.healthy ? (outcome.lastProbe ?? "") : "", /^503 in \d+ms$/);
  });

  it("fails a probe the instance never answers after the probe timeout", async () => {
    const clock = new ManualClock();
    const target = await healthServer([200], true);
    const outcome = await drive(clock, waitHealthy(target, health({ timeout: 100, interval: 100, start_timeout: 150, healthy_threshold: 1 }), clock, new AbortController().signal));
    assert.equal(outcome.healthy, false);
    assert.equal(!outcome.healthy && outcome.lastProbe, "no answer within 100ms");
    assert.equal(target.server.seen.length, 2, "one probe at start, one after the interval, then start_timeout is up");
  });

  it("reports a refused connection", async () => {
    const clock = new ManualClock();
    const target = { id: "web-v1-1", host: "127.0.0.1", port: await closedPort() };
    const outcome = await drive(clock, waitHealthy(target, health({ start_timeout: 300 }), clock, new AbortController().signal));
    assert.equal(outcome.healthy, false);
    assert.match(!outcome.healthy ? (outcome.lastProbe ?? "") : "", /ECONNREFUSED/);
  });

  it("passes on a 3xx answer", async () => {
    const clock = new ManualClock();
    const target = await healthServer([302]);
    const outcome = await drive(clock, waitHealthy(target, health({ healthy_threshold: 1 }), clock, new AbortController().signal));
    assert.equal(outcome.healthy, true);
  });

  it("rejects with the signal's reason when aborted while waiting, and probes no more", async () => {
    const clock = new ManualClock();
    const target = await healthServer([500]);
    const controller = new AbortController();
    const waiting = waitHealthy(target, health(), clock, controller.signal);
    await until(() => clock.pendingSleepers > 0, "the first interval");
    const reason = new Error("deploy cancelled");
    controller.abort(reason);
    assert.equal(await rejection(waiting), reason);
    await clock.advance(1_000);
    assert.equal(target.server.seen.length, 1);
  });

  it("does not probe at all with a signal that is already aborted", async () => {
    const target = await healthServer([200]);
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    assert.equal((await rejection(waitHealthy(target, health(), new ManualClock(), controller.signal))).message, "gone");
    assert.equal(target.server.seen.length, 0);
  });
});

describe("probePassed and describeProbe", () => {
  it("passes 2xx and 3xx only", () => {
    const answer = (status: number) => ({ ok: true as const, status, headers: {}, body: "", ms: 3 });
    assert.deepEqual([199, 200, 204, 301, 399, 400, 500].map((s) => probePassed(answer(s))), [false, true, true, true, true, false, false]);
    assert.equal(probePassed({ ok: false, error: "ECONNRESET", ms: 1 }), false);
  });

  it("reads as the operator wants it", () => {
    assert.equal(describeProbe({ ok: true, status: 200, headers: {}, body: "", ms: 3 }), "200 in 3ms");
    assert.equal(describeProbe({ ok: false, error: "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1", ms: 1 }), "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1");
  });
});
