import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HealthTarget } from "./health.js";
import { runSmokeTests, smokeTestName } from "./smoke.js";
import { closedPort, rejection, startServer, testService, type TestServer } from "./test-support.js";

/** Smoke tests as the config declares them, defaults filled in by the real schema. */
const smoke = (...tests: unknown[]) => testService({ smoke: tests }).smoke;

describe("runSmokeTests", () => {
  let good: TestServer;
  let bad: TestServer;
  let silent: TestServer;
  const target = (server: TestServer, id = "web-v1-1"): HealthTarget => ({ id, host: server.host, port: server.port });
  const run = (targets: HealthTarget[], tests: unknown[]) => runSmokeTests(targets, smoke(...tests), new AbortController().signal);

  before(async () => {
    good = await startServer((res, req) => {
      res.writeHead(req.url === "/missing" ? 404 : 200, { "x-version": "v7-abc", "content-type": "text/plain; charset=utf-8" });
      res.end(`hello from ${req.method} ${req.url}`);
    });
    bad = await startServer((res) => {
      res.writeHead(500);
      res.end("boom");
    });
    silent = await startServer(() => {});
  });
  after(() => Promise.all([good, bad, silent].map((s) => s.close())));

  it("passes when status, body and headers match, on every instance", async () => {
    const tests = [{ path: "/", expect: { status: 200, body_contains: "hello", headers: { "X-Version": "v7", "content-type": "text/plain" } } }];
    const before = good.seen.length;
    assert.equal(await run([target(good, "a"), target(good, "b")], tests), undefined);
    assert.equal(good.seen.length - before, 2, "each instance got the test");
  });

  it("sends the declared method, path, headers and body, straight to the instance", async () => {
    const tests = [{ method: "POST", path: "/orders?dry=1", headers: { "x-smoke": "yes", "content-type": "application/json" }, body: '{"n":1}' }];
    assert.equal(await run([target(good)], tests), undefined);
    const seen = good.seen.at(-1)!;
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/orders?dry=1");
    assert.equal(seen.headers["x-smoke"], "yes");
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.body, '{"n":1}');
  });

  it("fails on a status other than the expected one", async () => {
    const failure = await run([target(good), target(bad, "web-v1-2")], [{ path: "/" }]);
    assert.deepEqual(failure, { test: "GET /", instanceId: "web-v1-2", problem: "expected status 200, got 500" });
    assert.deepEqual(await run([target(good)], [{ name: "not found is fine", path: "/missing", expect: { status: 404 } }]), undefined);
  });

  it("fails when the body lacks the expected text, quoting how it starts", async () => {
    const failure = await run([target(good)], [{ name: "greets", path: "/", expect: { body_contains: "goodbye" } }]);
    assert.equal(failure?.test, "greets");
    assert.equal(failure?.problem, 'expected the body to contain "goodbye"; it starts "hello from GET /"');
  });

  it("fails when a header does not contain the expected value", async () => {
    const failure = await run([target(good)], [{ path: "/", expect: { headers: { "x-version": "v8" } } }]);
    assert.equal(failure?.problem, 'expected header x-version to contain "v8", got "v7-abc"');
  });

  it("fails when an expected header is missing", async () => {
    const failure = await run([target(good)], [{ path: "/", expect: { headers: { "X-Request-Id": "" } } }]);
    assert.equal(failure?.problem, "expected header X-Request-Id, it is missing");
  });

  it("fails when the request fails: refused, or no answer within the test's timeout", async () => {
    const refused = await run([{ id: "gone", host: "127.0.0.1", port: await closedPort() }], [{ path: "/" }]);
    assert.match(refused?.problem ?? "", /^request failed: ECONNREFUSED/);
    const slow = await run([target(silent)], [{ path: "/", timeout: 100 }]);
    assert.equal(slow?.problem, "request failed: no answer within 100ms");
  });

  it("stops at the first failure", async () => {
    const before = good.seen.length;
    const failure = await run([target(bad), target(good)], [{ path: "/first" }, { path: "/second" }]);
    assert.equal(failure?.test, "GET /first");
    assert.equal(good.seen.length, before, "nothing more was sent after the failure");
  });

  it("rejects with the signal's reason once aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("cancelled"));
    assert.equal((await rejection(runSmokeTests([target(good)], smoke({ path: "/" }), controller.signal))).message, "cancelled");
  });
});

describe("smokeTestName", () => {
  it("is the test's name, or its method and path", () => {
    const [named, unnamed] = smoke({ name: "home page", path: "/" }, { method: "DELETE", path: "/cache" });
    assert.equal(smokeTestName(named!), "home page");
    assert.equal(smokeTestName(unnamed!), "DELETE /cache");
  });
});
