/**
 * Our side of bench/checks.ts, in its own process: a Monitor with a real SQLite store (not the
 * whole engine: no proxy, no API) running N http checks every 10 s against the given upstream
 * ports. Driven over IPC by the orchestrator: "measure" starts the measured period (counters
 * reset), "report" stops the monitor and answers the figures, "stop" exits.
 *
 *   (spawned by bench/checks.ts) node --import tsx bench/checks-runner.ts <dir> <checks> <port,port,...>
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import Database from "better-sqlite3";
import { systemClock } from "../src/core/index.js";
import { defineCheck, Monitor } from "../src/monitor/index.js";
import { SqliteStore } from "../src/store/index.js";

const [dir, countText, portsText] = process.argv.slice(2);
const count = Number(countText);
const ports = portsText!.split(",").map(Number);
const file = join(dir!, "engineroom.db");
const store = new SqliteStore({ path: file, clock: systemClock });
await store.migrate();

const definitions = Array.from({ length: count }, (_, i) =>
  defineCheck(`t${i}`, { type: "http", url: `http://127.0.0.1:${ports[i % ports.length]}/t/${i}`, interval: "10s", timeout: "5s" }, { path: ["checks", `t${i}`] }),
);
const monitor = new Monitor({ store, clock: systemClock });
/** How late the event loop runs timers, whatever the reason (our own work, or the CPU taken by others). */
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
await monitor.start(definitions);

/**
 * What the minute buckets take in the store: its size (WAL folded in), then again with them deleted
 * and the file vacuumed. Read once the monitor has stopped, so that this second connection never
 * waits on the monitor's own (they share this thread).
 */
function minuteBucketBytes(): { bytes: number; minuteRows: number } {
  const db = new Database(file);
  try {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const before = statSync(file).size;
    const minuteRows = (db.prepare("SELECT COUNT(*) AS n FROM check_minutes").get() as { n: number }).n;
    db.exec("DELETE FROM check_minutes; VACUUM;");
    db.pragma("wal_checkpoint(TRUNCATE)");
    return { bytes: before - statSync(file).size, minuteRows };
  } finally {
    db.close();
  }
}

process.on("message", async (message: string) => {
  if (message === "measure") {
    monitor.resetStats();
    loop.reset();
    process.send!({ measuring: true });
  } else if (message === "report") {
    const stats = monitor.stats();
    const eventLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024;
    await monitor.stop();
    await store.close();
    process.send!({ stats, rss, eventLoop, store: minuteBucketBytes() });
  } else if (message === "stop") {
    process.exit(0);
  }
});
process.send!({ ready: true });
