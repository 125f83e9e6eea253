/**
 * The cost of one `GET /metrics` render (MetricsExport, what the route serves) as the checks grow:
 * 1,000 and 10,000 checks (statuses as the Monitor gives them, all up, each with a last result),
 * beside 20 services × 3 releases of request counters and histograms and 4 SLOs. The render runs
 * on the engine's event loop, so its time is how long a scrape holds everything else (checks'
 * timers included) back.
 *
 *   node --import tsx bench/metrics-scrape.ts [--rounds 9]
 *
 * Prints per size the median and max render time over rounds (after a warm-up), and the size of
 * the exposition.
 */
import { parseArgs } from "node:util";
import { MetricsExport } from "../src/engine/metrics-export.js";
import { addMonitoringMetrics } from "../src/engine/metrics-parts.js";
import { latencyBoundsMs, type MetricsBucket } from "../src/metrics/index.js";
import type { CheckStatus, MonitorStats } from "../src/monitor/index.js";
import type { SloStatus } from "../src/slo/index.js";
import { SqliteStore } from "../src/store/index.js";
import { median } from "./stats.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "9" } } });
const rounds = Number(values.rounds);

function statuses(n: number): CheckStatus[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `check-${String(i).padStart(5, "0")}`,
    type: "http",
    labels: { service: `svc-${i % 20}`, environment: "production", severity: "page" },
    derived: false,
    intervalMs: 10_000,
    timeoutMs: 5_000,
    failureThreshold: 3,
    recoveryThreshold: 2,
    state: "up",
    since: 0,
    consecutiveFailures: 0,
    consecutivePasses: 12,
    degraded: false,
    lastResult: { check: `check-${i}`, ok: true, startedAt: 0, durationMs: 1.5 + (i % 7), fields: {}, failed: [] },
  }));
}

const stats = (n: number): MonitorStats => ({ jobs: n, runs: n * 60, skipped: 0, inFlight: 3, waiting: 0, lagMs: { count: n * 60, p50: 1, p99: 12, max: 40 }, states: { pending: 0, up: n, down: 0 } });

const store = new SqliteStore({ path: ":memory:" });
await store.migrate();
const slos = Array.from({ length: 4 }, (_, i) => ({ slo: `slo-${i}`, service: `svc-${i}`, environment: "production", target: 99.9, attained: 99.95, budgetLeft: 50, burnRates: ["5m", "30m", "1h", "6h", "3d"].map((window) => ({ window, burnRate: 0.5 })) })) as unknown as SloStatus[];

console.log("checks | render median | render max | exposition");
for (const n of [1_000, 10_000]) {
  const metrics = new MetricsExport();
  const checks = statuses(n);
  addMonitoringMetrics(metrics, {
    checks: () => ({ statuses: () => [...checks].sort((a, b) => a.name.localeCompare(b.name)), stats: () => stats(n) }),
    slos: () => ({ statuses: async () => slos }),
    alerts: () => ({ list: async () => [] }),
    store,
  });
  const buckets: MetricsBucket[] = [];
  for (let s = 0; s < 20; s++) {
    for (let r = 0; r < 3; r++) {
      const latency = latencyBoundsMs.map((_, i) => (i < 8 ? 100 * (i + 1) : 3)).concat([1]);
      buckets.push({ service: `svc-${s}`, environment: "production", releaseId: `rel_${s}_${r}`, time: 0, status: { "1xx": 0, "2xx": 5000, "3xx": 10, "4xx": 40, "5xx": 3 }, upstreamErrors: 1, clientAborts: 0, latency });
    }
  }
  metrics.requests.add(buckets);
  let bytes = 0;
  for (let i = 0; i < 3; i++) bytes = (await metrics.render()).text.length; // warm-up
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await metrics.render();
    times.push(performance.now() - started);
  }
  console.log(`${n} | ${median(times).toFixed(1)} ms | ${Math.max(...times).toFixed(1)} ms | ${(bytes / 1_048_576).toFixed(2)} MiB`);
}
await store.close();
