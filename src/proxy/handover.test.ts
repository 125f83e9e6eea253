import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { after, before, test } from "node:test";
import { startLoad } from "../../test/helpers/load.js";
import { processAlive } from "../core/index.js";
import { createProxy } from "./index.js";
import { eventually, route, send, startProxy, startUpstream, type TestUpstream } from "./test-support.js";

let blue: TestUpstream;
let green: TestUpstream;

before(async () => {
  blue = await startUpstream("blue");
  green = await startUpstream("green");
});

after(async () => {
  await blue.close();
  await green.close();
});

test("a second controller in this process takes the listener over; the first drains with no failed request", async () => {
  const first = await startProxy({ workers: 1 });
  await first.proxy.apply([route([blue])]);
  const load = startLoad(`http://127.0.0.1:${first.port}`, { connections: 8, maxRequests: 20_000, maxMs: 30_000 });
  const firstPids = first.proxy.workerPids();
  const second = createProxy({ listen: "127.0.0.1:0", workers: 1, listener: first.proxy.listener() });
  try {
    await eventually(() => load.result.requests > 100, 10_000, "load to run");
    const address = await second.start();
    assert.equal(address.port, first.port, "the successor serves the same address");
    await second.apply([route([green])]);
    await first.proxy.stop(5_000);
    assert.deepEqual(firstPids.filter(processAlive), [], "the first controller's workers are gone");
    // The socket stays open for the successor: new connections get the successor's table.
    assert.equal((await send(first.port, "/")).body, "green");
    const before = load.result.requests;
    await eventually(() => load.result.requests > before + 100, 10_000, "load to go on against the successor");
  } finally {
    const result = await load.stop();
    await second.stop(1_000);
    assert.deepEqual(result.problems, {});
    assert.equal(result.failures, 0);
    assert.ok((result.versions.none ?? 0) > 200, `only ${result.requests} requests`);
  }
  assert.equal(second.listener()?.listening, false, "the last owner closes the socket");
});

test("the listener handed to another process with child.send: the child serves on it and the parent drains with no failed request", async () => {
  const first = await startProxy({ workers: 1 });
  await first.proxy.apply([route([blue])]);
  const load = startLoad(`http://127.0.0.1:${first.port}`, { connections: 8, maxRequests: 20_000, maxMs: 30_000 });
  // The successor process: takes the server it is sent, starts a proxy on it, routes to green.
  const code = `
    import { createProxy } from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)};
    let proxy;
    process.on("message", async (message, server) => {
      if (message === "listener") {
        proxy = createProxy({ listen: "127.0.0.1:0", workers: 1, listener: server });
        const address = await proxy.start();
        await proxy.apply([{ host: "*", pathPrefix: "/", service: "web", environment: "test", releaseId: "rel_green",
          upstreams: [{ host: "127.0.0.1", port: ${green.port}, instanceId: "green" }] }]);
        process.send({ ready: address.port, pids: proxy.workerPids() });
      } else if (message === "stop") {
        await proxy?.stop(2_000);
        process.exit(0);
      }
    });
  `;
  const child = fork("-", [], {
    execArgv: [...process.execArgv.filter((a) => !a.startsWith("--test")), "--input-type=module", "-e", code],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let childPids: number[] = [];
  try {
    await eventually(() => load.result.requests > 100, 10_000, "load to run");
    const ready = new Promise<{ ready: number; pids: number[] }>((resolve, reject) => {
      child.once("message", (message) => resolve(message as { ready: number; pids: number[] }));
      child.once("exit", (c) => reject(new Error(`the successor exited early (${c})`)));
    });
    child.send("listener", first.proxy.listener());
    const answer = await ready;
    childPids = answer.pids;
    assert.equal(answer.ready, first.port);
    const firstPids = first.proxy.workerPids();
    await first.proxy.stop(5_000);
    assert.deepEqual(firstPids.filter(processAlive), []);
    // Only the child's workers are left on the socket: everything new is green.
    for (let i = 0; i < 4; i++) assert.equal((await send(first.port, "/")).body, "green");
    const before = load.result.requests;
    await eventually(() => load.result.requests > before + 100, 10_000, "load to go on against the successor");
  } finally {
    const result = await load.stop();
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
    if (child.connected) child.send("stop");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    assert.deepEqual(result.problems, {});
    assert.equal(result.failures, 0);
  }
  await eventually(() => childPids.every((pid) => !processAlive(pid)), 5_000, "the successor's workers to exit");
});
