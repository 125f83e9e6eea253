import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { after, test } from "node:test";
import { isEngineError, processAlive } from "../core/index.js";
import { workerExecArgv } from "./controller.js";
import { createProxy } from "./index.js";
import { eventually, route, send, startProxy, upstreamSet } from "./test-support.js";

const upstreams = upstreamSet();
after(() => upstreams.closeAll());

/** An upstream whose answers wait until `answer()` is called; `arrived` resolves on the first request. */
async function heldUpstream(name: string) {
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const waiting: (() => void)[] = [];
  const u = await upstreams.start(name, (_req, res) => {
    waiting.push(() => res.end(name));
    arrive();
    return true;
  });
  return { upstream: u, arrived, answer: () => waiting.splice(0).forEach((f) => f()) };
}

test("inFlight() counts a slow request, then drops to 0 when it finishes", async () => {
  const p = await startProxy();
  try {
    const held = await heldUpstream("held");
    await p.proxy.apply([route([held.upstream], { releaseId: "rel_held" })]);
    assert.equal(await p.proxy.inFlight("rel_held"), 0);
    const answer = send(p.port, "/");
    await held.arrived;
    assert.equal(await p.proxy.inFlight("rel_held"), 1);
    assert.equal(await p.proxy.inFlight("rel_other"), 0);
    held.answer();
    assert.equal((await answer).body, "held");
    await eventually(async () => (await p.proxy.inFlight("rel_held")) === 0, 2_000, "in flight back to 0");
  } finally {
    await p.proxy.stop(1_000);
  }
});

test("stop() stops accepting but lets an in-flight request finish", async () => {
  const p = await startProxy();
  const held = await heldUpstream("draining");
  await p.proxy.apply([route([held.upstream])]);
  const answer = send(p.port, "/");
  await held.arrived;
  let stopped = false;
  const stopping = p.proxy.stop(5_000).then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(stopped, false, "stop() waits for the request in flight");
  await assert.rejects(send(p.port, "/"), "new connections are refused while draining");
  held.answer();
  const done = await answer;
  assert.equal(done.status, 200);
  assert.equal(done.body, "draining");
  await stopping;
});

test("start() rejects with PROXY_LISTEN_FAILED naming the address when the port is taken", async () => {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
  const { port } = squatter.address() as { port: number };
  try {
    const proxy = createProxy({ listen: `127.0.0.1:${port}` });
    await assert.rejects(proxy.start(), (error) => {
      assert.ok(isEngineError(error) && error.code === "PROXY_LISTEN_FAILED");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
    await proxy.stop();
  } finally {
    squatter.close();
  }
});

test("workers exit when the engine process dies", async () => {
  // A separate engine process that starts a proxy, prints its workers' pids, and then gets killed.
  const code = `
    import { createProxy } from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)};
    const proxy = createProxy({ listen: "127.0.0.1:0", workers: 2 });
    await proxy.start();
    console.log("pids " + proxy.workerPids().join(","));
    setInterval(() => {}, 1000);
  `;
  const engine = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith("--test")), "--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = "";
      engine.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const match = /pids ([\d,]+)/.exec(out);
        if (match) resolve(match[1]!.split(",").map(Number));
      });
      engine.once("exit", (c) => reject(new Error(`engine exited early (${c}): ${out}`)));
      setTimeout(() => reject(new Error("engine did not start")), 20_000).unref();
    });
    assert.equal(pids.length, 2);
    engine.kill("SIGKILL");
    await eventually(() => pids.every((pid) => !processAlive(pid)), 5_000, "workers to exit");
  } finally {
    engine.kill("SIGKILL");
  }
});

test("a request routed before a switch finishes on its old release", async () => {
  const p = await startProxy();
  try {
    const old = await heldUpstream("old");
    const next = await upstreams.start("next");
    await p.proxy.apply([route([old.upstream], { releaseId: "rel_old" })]);
    const answer = new Promise<string>((resolve, reject) => {
      request({ host: "127.0.0.1", port: p.port, path: "/", headers: { host: "app.test" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    });
    await old.arrived;
    await p.proxy.apply([route([next], { releaseId: "rel_next" })]);
    assert.equal((await send(p.port, "/")).body, "next");
    assert.equal(await p.proxy.inFlight("rel_old"), 1);
    old.answer();
    assert.equal(await answer, "old");
    await eventually(async () => (await p.proxy.inFlight("rel_old")) === 0, 2_000, "old release drained");
  } finally {
    await p.proxy.stop(1_000);
  }
});

test("workers inherit the engine's loaders but not its script, test runner or inspector flags", () => {
  assert.deepEqual(
    workerExecArgv(["--import", "tsx", "--input-type=module", "-e", "code", "--test-reporter=spec", "--inspect=9229", "--max-old-space-size=512"]),
    ["--import", "tsx", "--max-old-space-size=512"],
  );
});

test("a connection that arrives while no worker is ready waits for the re-forked one instead of failing", async () => {
  const p = await startProxy({ workers: 1 });
  try {
    const up = await upstreams.start("queued");
    await p.proxy.apply([route([up])]);
    const [pid] = p.proxy.workerPids();
    process.kill(pid!, "SIGKILL");
    await eventually(() => p.proxy.workerPids("serving").length === 0, 5_000, "the worker to be gone");
    // Accepted by the controller, held until the new worker has the table.
    const answer = await send(p.port, "/");
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "queued");
    assert.notEqual(p.proxy.workerPids()[0], pid);
  } finally {
    await p.proxy.stop(1_000);
  }
});

test("start() rejects with PROXY_LISTEN_FAILED when the handed-over listener is closed, and CONFIG_INVALID for a bad address", async () => {
  const closed = createServer();
  const proxy = createProxy({ listen: "127.0.0.1:0", listener: closed });
  await assert.rejects(proxy.start(), (error) => isEngineError(error) && error.code === "PROXY_LISTEN_FAILED" && /not listening/.test(error.message));
  await assert.rejects(createProxy({ listen: "nowhere" }).start(), (error) => isEngineError(error) && error.code === "CONFIG_INVALID");
});

test("listens on IPv6 [::1]:0 and answers there", async (t) => {
  const probe = createServer();
  const ipv6 = await new Promise<boolean>((resolve) => probe.once("error", () => resolve(false)).listen(0, "::1", () => probe.close(() => resolve(true))));
  if (!ipv6) return t.skip("no IPv6 loopback here");
  const proxy = createProxy({ listen: "[::1]:0" });
  const address = await proxy.start();
  try {
    assert.equal(address.host, "::1");
    assert.ok(address.port > 0);
    const up = await upstreams.start("six");
    await proxy.apply([route([up])]);
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: "::1", port: address.port, path: "/", headers: { host: "app.test" } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(text));
      })
        .on("error", reject)
        .end();
    });
    assert.equal(body, "six");
  } finally {
    await proxy.stop(1_000);
  }
});

test("stop() ends every worker process and closes the listener", async () => {
  const p = await startProxy({ workers: 2 });
  const pids = p.proxy.workerPids();
  assert.equal(pids.length, 2);
  await p.proxy.stop(1_000);
  assert.equal(p.proxy.listener()?.listening, false);
  assert.deepEqual(pids.filter(processAlive), []);
  assert.deepEqual(p.proxy.workerPids(), []);
});

test("a worker ignores SIGINT and SIGTERM sent to it: the controller decides when it stops", async () => {
  const p = await startProxy({ workers: 1 });
  try {
    const up = await upstreams.start("steady");
    await p.proxy.apply([route([up])]);
    const [pid] = p.proxy.workerPids();
    process.kill(pid!, "SIGINT");
    process.kill(pid!, "SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(processAlive(pid!));
    assert.equal((await send(p.port, "/")).body, "steady");
    assert.deepEqual(p.proxy.workerPids(), [pid]);
  } finally {
    await p.proxy.stop(1_000);
  }
});

test("while draining, a request on a kept-alive connection is answered with Connection: close", async () => {
  const p = await startProxy({ workers: 1 });
  const up = await upstreams.start("closing");
  await p.proxy.apply([route([up])]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await send(p.port, "/", { agent });
    assert.equal(first.headers.connection, "keep-alive");
    const stopping = p.proxy.stop(3_000);
    await new Promise((r) => setTimeout(r, 50)); // the worker has the stop; its idle window is 300 ms
    const during = await send(p.port, "/", { agent });
    assert.equal(during.status, 200);
    assert.equal(during.body, "closing");
    assert.equal(during.headers.connection, "close");
    await stopping;
  } finally {
    agent.destroy();
    await p.proxy.stop(1_000);
  }
});
