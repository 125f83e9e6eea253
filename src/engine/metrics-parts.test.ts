import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AlertView } from "../alert/index.js";
import type { CheckStatus, MonitorStats } from "../monitor/index.js";
import type { SloStatus } from "../slo/index.js";
import { SqliteStore } from "../store/index.js";
import { MetricsExport } from "./metrics-export.js";
import { addMonitoringMetrics, NotificationCounts } from "./metrics-parts.js";

const status = (name: string, state: CheckStatus["state"], ok: boolean | null, labels: Record<string, string> = {}): CheckStatus => ({
  name,
  type: "http",
  labels,
  derived: false,
  intervalMs: 30_000,
  timeoutMs: 10_000,
  failureThreshold: 3,
  recoveryThreshold: 2,
  state,
  since: 0,
  consecutiveFailures: 0,
  consecutivePasses: 0,
  degraded: false,
  lastResult: ok === null ? null : { check: name, ok, startedAt: 0, durationMs: 250, fields: {}, failed: [] },
});

describe("the monitoring parts in /metrics", () => {
  it("exports nothing of a part that does not run, and its samples once it does", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    await store.migrate();
    const metrics = new MetricsExport();
    let running = false;
    const stats: MonitorStats = { jobs: 2, runs: 40, skipped: 1, inFlight: 0, waiting: 0, lagMs: { count: 40, p50: 2, p99: 30, max: 45 }, states: { pending: 1, up: 1, down: 1 } };
    const slo = { slo: "web-availability", service: "web", environment: "production", target: 99.9, attained: 99.5, budgetLeft: -400, burnRates: [{ window: "1h", burnRate: 5 }, { window: "5m", burnRate: null }] } as unknown as SloStatus;
    const alerts = [
      { severity: "page", silencedBy: null, inhibitedBy: null, acknowledged: false },
      { severity: "page", silencedBy: null, inhibitedBy: null, acknowledged: true },
      { severity: "ticket", silencedBy: "sil_1", inhibitedBy: null, acknowledged: false },
    ] as unknown as AlertView[];
    addMonitoringMetrics(metrics, {
      checks: () => (running ? { statuses: () => [status("api", "up", true, { service: "api", environment: "production" }), status("db", "down", false, { component: "db" }), status("new", "pending", null)], stats: () => stats } : undefined),
      slos: () => (running ? { statuses: async () => [slo] } : undefined),
      alerts: () => (running ? { list: async () => alerts } : undefined),
      store,
    });
    const notifications = new NotificationCounts();
    notifications.register(metrics);
    assert.doesNotMatch((await metrics.render()).text, /^engineroom_(check|slo|alerts|notifications)[a-z_]*\{/m, "no samples while nothing runs");

    running = true;
    const release = () => store.releases.create({ service: "web", environment: "production", artifactDigest: `sha256:${"b".repeat(64)}`, configHash: "c", reason: "test" });
    const [v1, v2] = [await release(), await release()];
    await store.live.set("web", "production", v2.id, v1.id);
    for (const state of ["pending", "delivered", "pending", "failed", "delivered"] as const) notifications.record({ channel: "ops", state });
    const text = (await metrics.render()).text;
    const lines = [
      'engineroom_check_up{check="api",type="http",service="api",environment="production"} 1',
      'engineroom_check_up{check="db",type="http",component="db"} 0',
      'engineroom_check_duration_seconds{check="api",type="http",service="api",environment="production"} 0.25',
      'engineroom_check_runs_total{result="run"} 40',
      'engineroom_check_runs_total{result="skipped"} 1',
      'engineroom_check_scheduler_lag_seconds{quantile="0.99"} 0.03',
      'engineroom_checks{state="down"} 1',
      'engineroom_slo_budget_remaining_ratio{slo="web-availability",service="web",environment="production"} -4',
      'engineroom_slo_attained_ratio{slo="web-availability",service="web",environment="production"} 0.995',
      'engineroom_slo_target_ratio{slo="web-availability",service="web",environment="production"} 0.999',
      'engineroom_slo_burn_rate{slo="web-availability",service="web",environment="production",window="1h"} 5',
      'engineroom_alerts{state="firing",severity="page"} 1',
      'engineroom_alerts{state="acknowledged",severity="page"} 1',
      'engineroom_alerts{state="silenced",severity="ticket"} 1',
      'engineroom_notifications_total{channel="ops",state="delivered"} 2',
      'engineroom_notifications_total{channel="ops",state="failed"} 1',
      `engineroom_release_info{service="web",environment="production",release="${v2.id}",version="v2",role="live"} 1`,
      `engineroom_release_info{service="web",environment="production",release="${v1.id}",version="v1",role="previous"} 1`,
    ];
    for (const line of lines) assert.ok(text.includes(`${line}\n`), `${line} in:\n${text}`);
    assert.doesNotMatch(text, /check="new"/, "a pending check has no up sample");
    assert.doesNotMatch(text, /window="5m"/, "no burn rate without events");
    await store.close();
  });
});
