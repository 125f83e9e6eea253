import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { Agent } from "node:http";
import { after, before, test } from "node:test";
import { isEngineError } from "../core/index.js";
import { eventually, route, send, startProxy, startUpstream, type StartedProxy, type TestUpstream } from "./test-support.js";

let p: StartedProxy;
let blue: TestUpstream;
let green: TestUpstream;

const workerPids = () => p.proxy.workerPids();

before(async () => {
  blue = await startUpstream("blue");
  green = await startUpstream("green");
  // Two workers behind the controller's one listening socket.
  p = await startProxy({ workers: 2, switchTimeoutMs: 1_000 });
});

after(async () => {
  const pids = p.proxy.workerPids();
  await p.proxy.stop(1_000);
  // No worker is left behind, the re-forked one included.
  const alive = (pid: number) => {
    try {
      return process.kill(pid, 0);
    } catch {
      return false;
    }
  };
  assert.deepEqual(pids.filter(alive), []);
  await blue.close();
  await green.close();
});

test("two workers behind one port both serve, connections round robin", async () => {
  assert.equal(workerPids().length, 2);
  await p.proxy.apply([route([blue])]);
  for (let i = 0; i < 4; i++) assert.equal((await send(p.port, "/")).body, "blue");
  // Each connection (agent: false) goes to the next worker, and each worker keeps its own
  // keep-alive connection to the upstream: sequential requests arrive from exactly two sockets.
  const before = blue.seen.length;
  for (let i = 0; i < 6; i++) await send(p.port, "/");
  const fromPorts = new Set(blue.seen.slice(before).map((req) => req.socket.remotePort));
  assert.equal(fromPorts.size, 2);
});

test("switch under load: no failed request, and none reaches the old table after apply() resolves", async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const targets = [blue, green];
  let resolved = 0; // applies that have resolved; apply k sends to targets[k % 2]
  let started = 0; // applies that have been called
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const wrong: string[] = [];

  const loop = async () => {
    // Bounded: at most 2,500 requests per loop even if the applies stall.
    for (let i = 0; running && i < 2_500; i++) {
      const sentAfter = resolved;
      sent++;
      const answer = await send(p.port, "/", { agent }).catch((e: Error) => ({ status: 0, body: e.message }));
      if (answer.status !== 200) failures.push(`${answer.status} ${answer.body}`);
      // No apply began since this request was sent: only the table of the last resolved apply may answer.
      else if (started === sentAfter && answer.body !== targets[sentAfter % 2]!.name) wrong.push(`after apply ${sentAfter}: ${answer.body}`);
    }
  };

  const flip = async (k: number) => {
    started = k;
    const target = targets[k % 2]!;
    const result = await p.proxy.apply([route([target], { releaseId: `rel_${target.name}` })]);
    assert.ok(result.ackMs >= 0);
    resolved = k;
  };
  await flip(1);
  const loops = Array.from({ length: 8 }, loop);
  for (let k = 2; k <= 21; k++) {
    await new Promise((r) => setTimeout(r, 25));
    await flip(k);
  }
  await new Promise((r) => setTimeout(r, 25));
  running = false;
  await Promise.all(loops);
  agent.destroy();
  assert.deepEqual(failures, []);
  assert.deepEqual(wrong, []);
  assert.ok(sent > 100, `only ${sent} requests were sent`);
});

test("apply() rejects with DEPLOY_SWITCH_FAILED when a worker does not acknowledge", async () => {
  const [stuck] = workerPids();
  process.kill(stuck!, "SIGSTOP");
  try {
    // kill() returns before every thread of the worker has stopped: wait until all have.
    const states = () => readdirSync(`/proc/${stuck}/task`).map((task) => readFileSync(`/proc/${stuck}/task/${task}/stat`, "utf8").split(") ")[1]![0]);
    await eventually(() => states().every((state) => state === "T"), 5_000, "the worker to stop");
    await assert.rejects(p.proxy.apply([route([green])]), (error) => isEngineError(error) && error.code === "DEPLOY_SWITCH_FAILED");
    // The stuck worker is out of rotation: new connections go to the other one, which has the table.
    assert.deepEqual(p.proxy.workerPids("serving"), workerPids().filter((pid) => pid !== stuck));
    for (let i = 0; i < 4; i++) assert.equal((await send(p.port, "/")).body, "green");
  } finally {
    process.kill(stuck!, "SIGCONT");
  }
  const next = await p.proxy.apply([route([blue])]);
  assert.ok(next.version > 1);
  // Resumed, it caught up with the table and serves again.
  await eventually(() => p.proxy.workerPids("serving").includes(stuck!), 5_000, "the resumed worker to serve");
});

test("a crashed worker is re-forked and gets the current table before it serves", async () => {
  await p.proxy.apply([route([green], { releaseId: "rel_green" })]);
  const before = workerPids();
  process.kill(before[0]!, "SIGKILL");
  await eventually(() => {
    const now = p.proxy.workerPids("serving");
    return now.length === 2 && !now.includes(before[0]!);
  }, 10_000, "a new worker serving");
  // The new worker gets connections only once it has the current table: every answer is green,
  // from both workers (two upstream connections, one per worker).
  const seen = green.seen.length;
  for (let i = 0; i < 6; i++) assert.equal((await send(p.port, "/")).body, "green");
  assert.equal(new Set(green.seen.slice(seen).map((req) => req.socket.remotePort)).size, 2);
});

test("under concurrent load, a request sent right after apply() resolves reaches the new table, every time", async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 6 });
  let running = true;
  let background = 0;
  const failures: string[] = [];
  // Bounded background load on keep-alive connections: it keeps both workers' request threads busy.
  const loop = async () => {
    for (let i = 0; running && i < 5_000; i++) {
      background++;
      const answer = await send(p.port, "/", { agent }).catch((e: Error) => ({ status: 0, body: e.message }));
      if (answer.status !== 200) failures.push(`${answer.status} ${answer.body}`);
    }
  };
  const loops = Array.from({ length: 6 }, loop);
  const probe = new Agent({ keepAlive: true, maxSockets: 2 });
  const wrong: string[] = [];
  try {
    for (let k = 0; k < 60; k++) {
      const target = k % 2 === 0 ? green : blue;
      await p.proxy.apply([route([target], { releaseId: `rel_${target.name}` })]);
      // On an already open keep-alive connection (whichever worker holds it) and on a new one.
      const [kept, fresh] = await Promise.all([send(p.port, "/", { agent: probe }), send(p.port, "/")]);
      if (kept.body !== target.name) wrong.push(`apply ${k} (kept connection): ${kept.body}`);
      if (fresh.body !== target.name) wrong.push(`apply ${k} (new connection): ${fresh.body}`);
    }
  } finally {
    running = false;
    await Promise.all(loops);
    agent.destroy();
    probe.destroy();
  }
  assert.deepEqual(wrong, []);
  assert.deepEqual(failures, []);
  assert.ok(background > 60, `only ${background} background requests were sent`);
});

test("a table bigger than the shared buffer still switches, and so does a small one after it", async () => {
  const small = await startProxy({ workers: 1, tableBufferBytes: 512 });
  try {
    // 200 routes of other hosts make the table ~60 KB, far past the 512-byte buffer.
    const filler = Array.from({ length: 200 }, (_, i) => route([blue], { host: `filler-${i}.test`, releaseId: `rel_filler_${i}` }));
    const big = [...filler, route([green], { releaseId: "rel_green" })];
    assert.ok(JSON.stringify(big).length > 512 * 50);
    await small.proxy.apply(big);
    assert.equal((await send(small.port, "/")).body, "green");
    assert.equal((await send(small.port, "/", { host: "filler-7.test" })).body, "blue");
    await small.proxy.apply([route([blue])]); // fits: back to the shared buffer
    assert.equal((await send(small.port, "/")).body, "blue");
    assert.equal((await send(small.port, "/", { host: "filler-7.test" })).body, "blue");
    await small.proxy.apply(big); // and over the port again
    assert.equal((await send(small.port, "/")).body, "green");
  } finally {
    await small.proxy.stop(1_000);
  }
});

test("with the control thread off, tables go over IPC and still switch (the benchmark's baseline)", async () => {
  const ipc = await startProxy({ workers: 1, controlThread: false });
  try {
    await ipc.proxy.apply([route([blue])]);
    assert.equal((await send(ipc.port, "/")).body, "blue");
    await ipc.proxy.apply([route([green])]);
    assert.equal((await send(ipc.port, "/")).body, "green");
  } finally {
    await ipc.proxy.stop(1_000);
  }
});
