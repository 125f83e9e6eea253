import assert from "node:assert/strict";
import cluster from "node:cluster";
import { Agent } from "node:http";
import { after, before, test } from "node:test";
import { isEngineError } from "../core/index.js";
import { eventually, route, send, startProxy, startUpstream, type StartedProxy, type TestUpstream } from "./test-support.js";

let p: StartedProxy;
let blue: TestUpstream;
let green: TestUpstream;

const workerPids = () => Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!);

before(async () => {
  blue = await startUpstream("blue");
  green = await startUpstream("green");
  // Two workers on port 0: the primary picks one port and both share it.
  p = await startProxy({ workers: 2, switchTimeoutMs: 1_000 });
});

after(async () => {
  await p.proxy.stop(1_000);
  await blue.close();
  await green.close();
});

test("two workers share one port and both serve", async () => {
  assert.equal(workerPids().length, 2);
  await p.proxy.apply([route([blue])]);
  for (let i = 0; i < 4; i++) assert.equal((await send(p.port, "/")).body, "blue");
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
    await assert.rejects(p.proxy.apply([route([green])]), (error) => isEngineError(error) && error.code === "DEPLOY_SWITCH_FAILED");
  } finally {
    process.kill(stuck!, "SIGCONT");
  }
  const next = await p.proxy.apply([route([blue])]);
  assert.ok(next.version > 1);
});

test("a crashed worker is re-forked and gets the current table before it serves", async () => {
  await p.proxy.apply([route([green], { releaseId: "rel_green" })]);
  const before = workerPids();
  process.kill(before[0]!, "SIGKILL");
  await eventually(() => {
    const now = workerPids();
    return now.length === 2 && !now.includes(before[0]!);
  }, 10_000, "a new worker");
  // The new worker listens only after it has the table; with both serving, every answer is green.
  await eventually(async () => (await p.proxy.inFlight("rel_green")) === 0, 10_000, "both workers answer");
  for (let i = 0; i < 6; i++) assert.equal((await send(p.port, "/")).body, "green");
});
