import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { processAlive } from "../core/index.js";
import { requestTimeoutMs } from "./client.js";
import { DataPlane } from "./index.js";
import { ScriptedDataPlane } from "./test-support.js";

describe("the data-plane client's request bounds", { timeout: 120_000 }, () => {
  let dir: string;
  let server: ScriptedDataPlane;
  const clients: DataPlane[] = [];
  const attach = async (options: { quickRequestMs?: number; reconnectMs?: number } = {}) => {
    const plane = await DataPlane.attach({ stateDir: join(dir, "state"), socket: server.path, start: false, quickRequestMs: 300, reconnectMs: 500, ...options });
    clients.push(plane);
    return plane;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-client-"));
    server = new ScriptedDataPlane(dir);
    await server.listen();
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails a request that gets no answer with DATAPLANE_UNAVAILABLE, drops the connection and reconnects for the next one", async () => {
    const plane = await attach();
    const before = server.accepted;
    await assert.rejects(plane.request("instance.list"), (error: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(error.code, "DATAPLANE_UNAVAILABLE");
      assert.match(error.message, /no answer to instance\.list within 300 ms/);
      assert.deepEqual(error.details, { op: "instance.list", timeoutMs: 300 });
      return true;
    });
    await waitUntil("the client closed the silent connection", () => server.closedByClient >= 1);
    server.answer("instance.list");
    assert.deepEqual(await plane.request("instance.list"), { answered: "instance.list" });
    assert.equal(server.accepted, before + 1, "the next request went over a new connection");
  });

  it("fails the requests that wait on the same silent connection, not only the first", async () => {
    const plane = await attach();
    const waiting = ["instance.usage", "host.facts", "instance.logs"].map((op) => plane.request(op).then(() => "answered", (e: { code?: string }) => e.code));
    assert.deepEqual(await Promise.all(waiting), ["DATAPLANE_UNAVAILABLE", "DATAPLANE_UNAVAILABLE", "DATAPLANE_UNAVAILABLE"]);
  });

  it("takes a bound given by the caller, and answers in time clear their timers", async () => {
    const plane = await attach();
    server.answer("proxy.inflight");
    for (let i = 0; i < 20; i++) assert.deepEqual(await plane.request("proxy.inflight", {}, { timeoutMs: 60_000 }), { answered: "proxy.inflight" });
    await assert.rejects(plane.request("drift.scan", {}, { timeoutMs: 100 }), /no answer to drift\.scan within 100 ms/);
  });

  it("fails a request to a data plane that went silent altogether (hello unanswered on reconnection) within its bounds", async () => {
    for (const client of clients.splice(0)) client.close(); // the connections counted below are this test's
    const plane = await attach();
    server.answerHello = false;
    try {
      await assert.rejects(plane.request("instance.port"), { code: "DATAPLANE_UNAVAILABLE" });
      // The next one waits for a reconnection whose hello gets no answer either: it fails too, bounded.
      await assert.rejects(plane.request("instance.port"), { code: "DATAPLANE_UNAVAILABLE" });
      await assert.rejects(DataPlane.attach({ stateDir: join(dir, "state"), socket: server.path, start: false, quickRequestMs: 300 }), { code: "DATAPLANE_UNAVAILABLE" });
      await waitUntil("no connection left open by the failed attach and reconnections", () => server.connections.size === 0);
    } finally {
      server.answerHello = true;
    }
    server.answer("instance.port");
    assert.deepEqual(await plane.request("instance.port"), { answered: "instance.port" }, "back once the data plane answers again");
  });

  it("finds a silent data plane under a long request by its pings, before the request's own bound", async () => {
    const plane = await attach();
    server.answerHello = false; // the pings get no answer
    try {
      await assert.rejects(plane.request("instance.start", { spec: {} }), (error: Error & { code?: string }) => {
        assert.equal(error.code, "DATAPLANE_UNAVAILABLE");
        assert.match(error.message, /no answer to hello within 300 ms/, "the ping's bound, not instance.start's 1800 ms");
        return true;
      });
    } finally {
      server.answerHello = true;
    }
  });

  it("waits past the quick bound for a long request while the data plane answers its pings", async () => {
    const plane = await attach();
    server.slow.set("artifact.ensure", 1_500);
    assert.deepEqual(await plane.request("artifact.ensure", { digest: "sha256:x" }), { answered: "artifact.ensure" });
  });

  it("bounds each op by its kind of work", () => {
    assert.equal(requestTimeoutMs("hello", {}), 5_000);
    assert.equal(requestTimeoutMs("host.facts", {}), 5_000);
    assert.equal(requestTimeoutMs("instance.port", {}), 5_000);
    assert.equal(requestTimeoutMs("proxy.apply", {}), 10_000);
    assert.equal(requestTimeoutMs("instance.start", {}), 30_000);
    assert.equal(requestTimeoutMs("instance.stop", { graceMs: 3_000 }), 13_000);
    assert.equal(requestTimeoutMs("instance.stop", {}), 20_000);
    assert.equal(requestTimeoutMs("proxy.remove", { graceMs: 1_000 }), 11_000);
    assert.equal(requestTimeoutMs("artifact.ensure", {}), 600_000);
    assert.equal(requestTimeoutMs("proxy.apply", {}, 1_000), 2_000, "a configured quick bound scales the others");
  });
});

describe("the data-plane client and a real data plane that is SIGSTOPped", { timeout: 120_000 }, () => {
  let dir: string;
  let pid: number | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-client-stop-"));
  });
  after(async () => {
    if (pid && processAlive(pid)) process.kill(pid, "SIGCONT");
    const plane = await DataPlane.attach({ stateDir: dir, start: false }).catch(() => undefined);
    await plane?.shutdown(1_000).catch(() => {});
    if (pid) await waitUntil("the data plane gone", () => !processAlive(pid!));
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails requests while the data plane is stopped and answers again after SIGCONT, with the same process", async () => {
    const plane = await DataPlane.attach({ stateDir: dir, quickRequestMs: 2_000, reconnectMs: 1_000 });
    try {
      pid = plane.info.pid;
      const proxy = plane.proxy({ environment: "production", listen: "127.0.0.1:0", workers: 1, upstreamTimeoutMs: 10_000 });
      await proxy.start();
      process.kill(pid, "SIGSTOP");
      await assert.rejects(proxy.inFlight(""), { code: "DATAPLANE_UNAVAILABLE" });
      await assert.rejects(proxy.apply([]), { code: "DATAPLANE_UNAVAILABLE" });
      process.kill(pid, "SIGCONT");
      await waitUntil("the data plane answers again", () => proxy.inFlight("").then(() => true, () => false));
      assert.equal(plane.info.pid, pid, "no second data plane was started while the first was stopped");
      assert.deepEqual(await proxy.apply([]).then((r) => typeof r.version), "number");
    } finally {
      plane.close();
    }
  });
});

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
