import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { after, before, describe, it } from "node:test";
import { runCheck } from "../run.js";
import { check, closed, freePort, listening, selfSignedCertificate } from "../test-support.js";
import { closeHttpDispatchers } from "./index.js";

const now = Date.now;
const secret = "sk-live-0123456789abcdef";

describe("http checks", () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const seen: IncomingMessage[] = [];

  before(async () => {
    server = createServer((request, response) => {
      seen.push(request);
      const url = new URL(request.url ?? "/", "http://x");
      if (url.pathname === "/json") {
        response.setHeader("content-type", "application/json");
        response.setHeader("X-Version", "1.2");
        response.setHeader("Set-Cookie", ["a=1", "b=2"]);
        response.end(JSON.stringify({ status: "ok", items: [{ id: 7 }, { id: 8 }] }));
      } else if (url.pathname === "/down") {
        response.statusCode = 503;
        response.end("maintenance");
      } else if (url.pathname === "/big") {
        response.end("x".repeat(200_000));
      } else if (url.pathname === "/hang") {
        // Never answers.
      } else response.end("hello world");
    });
    server.keepAliveTimeout = 30_000;
    server.on("connection", () => connections++);
    base = `http://127.0.0.1:${await listening(server)}`;
  });
  after(async () => {
    await closeHttpDispatchers();
    await closed(server);
  });

  it("passes a 200 with the default conditions and reports its status and response time", async () => {
    const result = await runCheck(check({ type: "http", url: `${base}/` }), { now });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fields.status, 200);
    assert.equal(typeof result.fields.response_time, "number");
    assert.equal(result.durationMs, result.fields.response_time);
    assert.deepEqual(result.failed, []);
    assert.equal(result.fields.body, undefined, "the body is not kept when no condition reads it");
  });

  it("reads the body, a JSON path and a header for the conditions that name them", async () => {
    const definition = check({
      type: "http",
      url: `${base}/json`,
      conditions: ['body contains "items"', 'body.json.status == "ok"', "body.json.items[1].id == 8", 'header.x-version == "1.2"', 'header.X-Version == "1.2"', 'header.content-type contains "json"', 'header.set-cookie == "a=1, b=2"'],
    });
    const result = await runCheck(definition, { now });
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fields["body.json.items[1].id"], 8);
    assert.equal(result.fields["header.x-version"], "1.2");

    const failing = await runCheck(check({ type: "http", url: `${base}/json`, conditions: ['body.json.status == "down"', "body.json.missing == null", 'body !contains "ok"'] }), { now });
    assert.equal(failing.ok, false);
    assert.deepEqual(failing.failed, ['body.json.status == "down"', 'body !contains "ok"']);
    assert.match(failing.error ?? "", /body\.json\.status == "down" \(body\.json\.status was "ok"\)/);
  });

  it("fails a 503 on the default conditions, saying which and why", async () => {
    const result = await runCheck(check({ type: "http", url: `${base}/down` }), { now });
    assert.equal(result.ok, false);
    assert.equal(result.fields.status, 503);
    assert.deepEqual(result.failed, ["status < 400"]);
    assert.equal(result.error, "failed: status < 400 (status was 503)");
  });

  it("sends its method, headers and body, and reuses its connection between runs", async () => {
    const definition = check({ type: "http", url: `${base}/`, method: "POST", headers: { "x-probe": "yes" }, body: "ping" });
    const before = connections;
    for (let i = 0; i < 3; i++) assert.equal((await runCheck(definition, { now })).ok, true);
    assert.ok(connections - before <= 1, `three runs opened ${connections - before} connections`);
    const last = seen.at(-1)!;
    assert.equal(last.method, "POST");
    assert.equal(last.headers["x-probe"], "yes");
  });

  it("reads at most max_body_bytes of a body", async () => {
    const result = await runCheck(check({ type: "http", url: `${base}/big`, max_body_bytes: 1000, conditions: ['body contains "x"'] }), { now });
    assert.equal(result.ok, true, result.error);
    assert.equal((result.fields.body as string).length, 1000);
    assert.equal((await runCheck(check({ type: "http", url: `${base}/big` }), { now })).ok, true, "an unread big body is discarded");
  });

  it("reports a refused connection as an error, without judging the conditions", async () => {
    const port = await freePort();
    const result = await runCheck(check({ type: "http", url: `http://127.0.0.1:${port}/` }), { now });
    assert.equal(result.ok, false);
    assert.deepEqual(result.failed, []);
    assert.equal(result.error, `connection refused by 127.0.0.1:${port}`);
  });

  it("notices at the next run that a server whose connection it kept is gone", async () => {
    const own = createServer((_, response) => response.end("ok"));
    const port = await listening(own);
    const definition = check({ type: "http", url: `http://127.0.0.1:${port}/` });
    assert.equal((await runCheck(definition, { now })).ok, true);
    await closed(own);
    const result = await runCheck(definition, { now });
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /refused|closed/);
  });

  it("times out a server that never answers within the deadline", async () => {
    const definition = check({ type: "http", url: `${base}/hang`, interval: "1s", timeout: "300ms" });
    const started = performance.now();
    const result = await runCheck(definition, { now });
    const took = performance.now() - started;
    assert.equal(result.ok, false);
    assert.equal(result.error, "timed out after 300ms");
    assert.ok(took >= 295 && took < 400, `took ${took}ms`);
  });

  it("ends a run cancelled by its signal", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const result = await runCheck(check({ type: "http", url: `${base}/hang` }), { now, signal: controller.signal });
    assert.equal(result.error, "cancelled");
    assert.ok(result.durationMs < 1000);
  });

  it("never shows a header's or the URL's secret in an error", async () => {
    const port = await freePort();
    const urls = [`http://user:${secret}@127.0.0.1:${port}/?token=${secret}`, `${base}/down?token=${secret}`, `${base}/hang?token=${secret}`];
    for (const url of urls) {
      const result = await runCheck(check({ type: "http", url, timeout: "200ms", headers: { authorization: `Bearer ${secret}` } }), { now });
      assert.equal(result.ok, false);
      assert.ok(result.error && !result.error.includes(secret), result.error);
      assert.ok(!JSON.stringify(result).includes(secret));
    }
    const sent = await runCheck(check({ type: "http", url: `http://user:${secret}@${base.slice(7)}/` }), { now });
    assert.equal(sent.ok, true);
    assert.equal(seen.at(-1)!.headers.authorization, `Basic ${Buffer.from(`user:${secret}`).toString("base64")}`);
  });
});

describe("https checks", () => {
  let server: Server;
  let port: number;

  before(async () => {
    server = createHttpsServer(await selfSignedCertificate(30), (_, response) => response.end("secure"));
    port = await listening(server);
  });
  after(async () => {
    await closeHttpDispatchers();
    await closed(server);
  });

  it("fails a self-signed certificate when it verifies TLS", async () => {
    const result = await runCheck(check({ type: "http", url: `https://127.0.0.1:${port}/` }), { now });
    assert.equal(result.ok, false);
    assert.equal(result.error, `TLS certificate of 127.0.0.1:${port} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`);
  });

  it("passes with tls_verify false and reads the time left on the certificate", async () => {
    const result = await runCheck(check({ type: "http", url: `https://127.0.0.1:${port}/`, tls_verify: false, conditions: ["status == 200", "cert_expires > 29d"] }), { now });
    assert.equal(result.ok, true, result.error);
    const left = result.fields.cert_expires as number;
    assert.ok(left > 29 * 86_400_000 && left <= 30 * 86_400_000, `cert_expires ${left}`);
  });

  it("reads the certificate of an IPv6 origin too", async () => {
    const v6 = createHttpsServer(await selfSignedCertificate(10), (_, response) => response.end("secure"));
    await new Promise<void>((resolve) => v6.listen(0, "::1", () => resolve()));
    try {
      const result = await runCheck(check({ type: "http", url: `https://[::1]:${(v6.address() as { port: number }).port}/`, tls_verify: false, conditions: ["cert_expires > 9d"] }), { now });
      assert.equal(result.ok, true, result.error);
    } finally {
      await closeHttpDispatchers();
      await closed(v6);
    }
  });
});
