import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { SqliteStore, type Store } from "../store/index.js";
import { defineCheck, type CheckDefinition } from "./checks/index.js";
import { Monitor, type CheckTransition } from "./monitor.js";

/** A real HTTP server on loopback whose answer the test sets. */
let server: Server;
let status = 200;
let url = "";
const root = await mkdtemp(join(tmpdir(), "engineroom-monitor-"));

before(async () => {
  server = createServer((_req, res) => {
    res.statusCode = status;
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

let files = 0;
async function fileStore(clock: ManualClock, path = join(root, `monitor-${++files}.db`)): Promise<{ store: Store; path: string }> {
  const store = new SqliteStore({ path, clock });
  await store.migrate();
  return { store, path };
}

function webCheck(): CheckDefinition {
  return defineCheck("web", { type: "http", url, interval: "10s", timeout: "2s" }, { path: ["checks", "web"], labels: { service: "web", environment: "production" } });
}

/** Moves the clock to the check's next slot and waits (in real time) until that run was counted. */
async function runOnce(monitor: Monitor, clock: ManualClock): Promise<void> {
  const before = monitor.stats().runs;
  await clock.advance(10_000);
  const deadline = Date.now() + 5_000;
  while (monitor.stats().runs === before) {
    if (Date.now() > deadline) assert.fail("the check did not run");
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function runTimes(monitor: Monitor, clock: ManualClock, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runOnce(monitor, clock);
}

describe("Monitor", () => {
  it("is pending, then up after 2 passes, down after 3 failures in a row, up again after 2 passes; events on down and recovery", async () => {
    status = 200;
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const { store } = await fileStore(clock);
    const monitor = new Monitor({ store, clock });
    const transitions: CheckTransition[] = [];
    monitor.onTransition((t) => transitions.push(t));
    await monitor.start([webCheck()]);
    assert.equal(monitor.status("web")?.state, "pending");
    await runTimes(monitor, clock, 2);
    assert.equal(monitor.status("web")?.state, "up");
    status = 503;
    await runTimes(monitor, clock, 2);
    assert.equal(monitor.status("web")?.state, "up", "two failures are not enough");
    await runOnce(monitor, clock);
    const down = monitor.status("web")!;
    assert.equal(down.state, "down");
    assert.equal(down.consecutiveFailures, 3);
    assert.match(down.lastResult?.error ?? "", /status/);
    status = 200;
    await runOnce(monitor, clock);
    assert.equal(monitor.status("web")?.state, "down");
    await runOnce(monitor, clock);
    assert.equal(monitor.status("web")?.state, "up");
    assert.deepEqual(transitions.map((t) => `${t.from}→${t.to}`), ["pending→up", "up→down", "down→up"]);
    assert.deepEqual(transitions[1]!.labels, { service: "web", environment: "production", severity: "page" });
    await monitor.settled();
    const events = await store.events.list({ types: ["check."] });
    assert.deepEqual(events.map((e) => e.type), ["check.down", "check.up"]);
    assert.equal(events[0]!.service, "web");
    assert.equal(events[0]!.environment, "production");
    assert.equal(events[0]!.data.consecutiveFailures, 3);
    assert.match(String(events[0]!.data.error), /status/);
    await monitor.stop();
    await store.close();
  });

  it("keeps every check on its schedule while a transition listener hangs or throws", async () => {
    status = 503;
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const { store } = await fileStore(clock);
    const monitor = new Monitor({ store, clock });
    let hanging = 0;
    monitor.onTransition(() => {
      hanging++;
      return new Promise(() => {}); // never settles
    });
    monitor.onTransition(() => {
      throw new Error("a listener's bug");
    });
    const seen: string[] = [];
    monitor.onTransition((t) => seen.push(t.to));
    await monitor.start([webCheck()]);
    await runTimes(monitor, clock, 3);
    status = 200;
    await runTimes(monitor, clock, 2);
    status = 503;
    await runTimes(monitor, clock, 3);
    assert.deepEqual(seen, ["down", "up", "down"]);
    assert.equal(hanging, 3);
    const stats = monitor.stats();
    assert.equal(stats.runs, 8);
    assert.equal(stats.skipped, 0);
    assert.equal(stats.lagMs.max, 0, "every run started on its slot");
    await monitor.stop();
    await store.close();
  });

  it("resumes each check's state after a restart on the same store, and does not announce a down check again", async () => {
    status = 503;
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 5));
    const { store, path } = await fileStore(clock);
    const first = new Monitor({ store, clock });
    await first.start([webCheck()]);
    await runTimes(first, clock, 4);
    const wasDown = first.status("web")!;
    assert.equal(wasDown.state, "down");
    await first.stop();
    await store.close();

    const reopened = (await fileStore(clock, path)).store;
    const second = new Monitor({ store: reopened, clock });
    await second.start([webCheck()]);
    const resumed = second.status("web")!;
    assert.equal(resumed.state, "down");
    assert.equal(resumed.since, wasDown.since);
    assert.equal(resumed.consecutiveFailures, 4);
    assert.equal(resumed.lastResult?.ok, false);
    await runTimes(second, clock, 2);
    await second.settled();
    assert.deepEqual((await reopened.events.list({ types: ["check."] })).map((e) => e.type), ["check.down"]);
    status = 200;
    await runTimes(second, clock, 2);
    await second.settled();
    assert.deepEqual((await reopened.events.list({ types: ["check."] })).map((e) => e.type), ["check.down", "check.up"]);
    // 8 runs over both lives, 6 of them failures: the minute saved at stop was counted on.
    const [summary] = await second.summaries();
    assert.equal(summary!.runs24h, 8);
    assert.equal(summary!.uptime["24h"], 2 / 8);
    assert.ok(summary!.latencyMs.p99! > 0);
    const history = await second.history("web", { resolution: "minute", sinceMs: 3_600_000 });
    assert.equal(history.reduce((n, p) => n + p.runs, 0), 8);
    await second.stop();
    await reopened.close();
  });
});
