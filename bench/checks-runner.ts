/**
 * Our side of bench/checks.ts, in its own process: a Monitor with a real SQLite store (not the
 * whole engine: no proxy, no API) running N http checks every 10 s against the given upstream
 * ports. Driven over IPC by the orchestrator: "measure" starts the measured period (counters
 * reset), "report" answers the figures, "stop" stops and exits.
 *
 *   (spawned by bench/checks.ts) node --import tsx bench/checks-runner.ts <dir> <checks> <port,port,...>
 */
import { statSync } from "node:fs";
import { join } from "node:path";
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
await monitor.start(definitions);

/** The store's size with its WAL folded in, and how many minute buckets it holds. */
function storeFigures(): { bytes: number; minuteRows: number } {
  const db = new Database(file);
  try {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const minuteRows = (db.prepare("SELECT COUNT(*) AS n FROM check_minutes").get() as { n: number }).n;
    return { bytes: statSync(file).size, minuteRows };
  } finally {
    db.close();
  }
}

let atStart = { bytes: 0, minuteRows: 0 };
process.on("message", async (message: string) => {
  if (message === "figures") {
    process.send!(storeFigures());
  } else if (message === "measure") {
    atStart = storeFigures();
    monitor.resetStats();
    process.send!({ measuring: true });
  } else if (message === "report") {
    const stats = monitor.stats();
    const atEnd = storeFigures();
    const rss = Number(/VmRSS:\s+(\d+)/.exec(await import("node:fs").then((fs) => fs.readFileSync("/proc/self/status", "utf8")))?.[1] ?? 0) * 1024;
    process.send!({ stats, rss, store: { start: atStart, end: atEnd } });
  } else if (message === "stop") {
    await monitor.stop();
    await store.close();
    process.exit(0);
  }
});
process.send!({ ready: true });
