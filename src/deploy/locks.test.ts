import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { Store } from "../store/index.js";
import { testStoreBackends } from "../store/test-support.js";
import { holderIsDead, processStartTime, thisHolder } from "./holder.js";
import { WriterLock, writerLockKey } from "./locks.js";
import { drive, rejection } from "./test-support.js";

const key = writerLockKey("production");
const children = new Set<ChildProcess>();

/** A real process that sleeps until killed. */
async function sleeper(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
  children.add(child);
  child.once("exit", () => children.delete(child));
  await new Promise((resolve) => child.once("spawn", resolve));
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

after(async () => {
  for (const child of children) await kill9(child);
  assert.equal(children.size, 0, "every process this test started has ended");
});

describe("lease holders", () => {
  it("reads a process's start time and tells a live holder from a dead one and from a reused pid", async () => {
    const child = await sleeper();
    const startTime = processStartTime(child.pid!);
    assert.equal(typeof startTime, "number");
    const holder = { pid: child.pid!, host: hostname(), startTime };
    assert.equal(holderIsDead(holder), false);
    assert.equal(holderIsDead({ ...holder, startTime: startTime! - 1 }), true, "the pid belongs to a process started at another time");
    assert.equal(holderIsDead({ ...holder, host: "another-host" }), false, "a holder elsewhere is never called dead");
    await kill9(child);
    assert.equal(holderIsDead(holder), true);
    assert.equal(holderIsDead({ pid: child.pid!, host: hostname() }), true, "without a start time, pid liveness decides");
    assert.deepEqual(thisHolder("deploy web"), { command: "deploy web", pid: process.pid, host: hostname(), startTime: processStartTime(process.pid) });
  });
});

for (const [name, open] of testStoreBackends()) {
  describe(`WriterLock over ${name}`, () => {
    let store: Store;
    let clock: ManualClock;
    let cleanup: () => Promise<void>;
    let lock: WriterLock;
    beforeEach(async () => {
      ({ store, clock, cleanup } = await open());
      lock = new WriterLock(store.locks, "production", { events: store.events, clock });
    });
    afterEach(() => cleanup());
    const events = async (type: string) => store.events.list({ types: [type] });

    it("keeps the holder's start time with the lease, and takes a lease over only from the holder it names", async () => {
      const first = await store.locks.acquire(key, { command: "deploy web", pid: 10, host: "h", startTime: 1234 }, 30_000);
      assert.ok(first.acquired);
      const seen = await store.locks.get(key);
      assert.equal(seen?.startTime, 1234);
      const stale = { ...seen!, acquiredAt: seen!.acquiredAt - 1 };
      const refused = await store.locks.takeOver(key, stale, { command: "restore web", pid: 11, host: "h" }, 30_000);
      assert.equal(refused.acquired, false, "the lease changed hands since: left alone");
      const taken = await store.locks.takeOver(key, seen!, { command: "restore web", pid: 11, host: "h" }, 30_000);
      assert.ok(taken.acquired);
      assert.equal(taken.lock.startTime, undefined);
      assert.equal(await store.locks.renew(key, first.lock.token, 30_000), false, "the old holder's token no longer holds it");
    });

    it("releases at once the lease of a killed process of this host, naming it in lock.released", async () => {
      const dead = await sleeper();
      const deadHolder = { command: "deploy web", pid: dead.pid!, host: hostname(), startTime: processStartTime(dead.pid!) };
      assert.ok((await store.locks.acquire(key, deadHolder, 30_000)).acquired);
      await kill9(dead);
      const ran = await lock.run("deploy web", async () => (await store.locks.get(key))?.pid);
      assert.equal(ran, process.pid, "this process held the lease while the work ran");
      const [released] = await events("lock.released");
      assert.match(released!.message, new RegExp(`^lease of "deploy web" \\(pid ${dead.pid} on ${hostname()}, since .*\\) released: that process no longer runs`));
      assert.equal((released!.data.holder as { pid: number }).pid, dead.pid);
      assert.equal(await store.locks.get(key), undefined, "released after the work");
    });

    it("refuses a user command on a live holder's lease, but lets a restore wait for it and take it over", async () => {
      const alive = { command: "deploy web", pid: 1, host: "another-host" };
      assert.ok((await store.locks.acquire(key, alive, 30_000)).acquired);
      const refused = await rejection(lock.run("deploy web", async () => "ran"));
      assert.equal((refused as { code?: string }).code, "LOCK_HELD");
      assert.match(refused.message, /locked by "deploy web" \(pid 1 on another-host/);

      // The other engine's lease (30 s) outlasts the restore's bound: it waits that out, then takes the lease over.
      const restored = await drive(clock, lock.run("restore web", async () => "restored", { restore: { waitMs: 5_000 } }), { stepMs: 500 });
      assert.equal(restored, "restored");
      assert.equal((await events("lock.waiting")).length, 1);
      const [taken] = await events("lock.taken-over");
      assert.match(taken!.message, /^"restore web" took over the lease of "deploy web" \(pid 1 on another-host.*after waiting 5000ms/);
    });

    it("lets a restore have the lease as soon as its live holder lets go", async () => {
      const alive = await store.locks.acquire(key, { command: "apply", pid: 1, host: "another-host" }, 30_000);
      assert.ok(alive.acquired);
      const restoring = lock.run("restore web", async () => "restored", { restore: {} });
      const deadline = Date.now() + 5_000;
      while ((await events("lock.waiting")).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await store.locks.release(key, alive.lock.token);
      assert.equal(await drive(clock, restoring), "restored");
      assert.equal((await events("lock.taken-over")).length, 0);
    });
  });
}
