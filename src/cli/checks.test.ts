import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CheckSummary, MonitorStats } from "../monitor/index.js";
import { renderChecks, renderHistory } from "./checks.js";

const now = Date.UTC(2026, 0, 1, 12);
const check = (name: string, state: "up" | "down" | "pending", overrides: Partial<CheckSummary> = {}): CheckSummary => ({
  name,
  type: "http",
  labels: {},
  derived: false,
  intervalMs: 10_000,
  timeoutMs: 5_000,
  failureThreshold: 3,
  recoveryThreshold: 2,
  state,
  since: now - 90_000,
  consecutiveFailures: state === "down" ? 3 : 0,
  consecutivePasses: state === "up" ? 5 : 0,
  degraded: false,
  lastResult: state === "pending" ? null : { check: name, ok: state === "up", startedAt: now, durationMs: 4.25, fields: {}, failed: [], ...(state === "down" ? { error: "status was 503" } : {}) },
  uptime: { "24h": state === "up" ? 1 : 0.9876, "7d": 0.99, "30d": null },
  runs24h: 100,
  latencyMs: { p50: 5, p95: 10, p99: 20 },
  ...overrides,
});
const stats: MonitorStats = { jobs: 3, runs: 300, skipped: 1, inFlight: 0, waiting: 0, lagMs: { count: 300, p50: 0.5, p99: 3.25, max: 4 }, states: { up: 1, down: 1, pending: 1 } };

describe("engineroom checks output", () => {
  it("prints one aligned row per check and the scheduler's figures", () => {
    const text = renderChecks([check("web.health.production", "up"), check("api", "down"), check("db", "pending")], stats, now);
    const lines = text.split("\n");
    assert.match(lines[0]!, /^check\s+type\s+state\s+since\s+up 24h\s+7d\s+30d\s+p50\/p95\/p99 24h\s+last result$/);
    const column = (line: string) => line.indexOf("http");
    assert.equal(new Set(lines.slice(1, 4).map(column)).size, 1, "the type column lines up");
    assert.match(lines[1]!, /web\.health\.production\s+http\s+up\s+1m30s ago\s+100%\s+99\.00%\s+-\s+5ms\/10ms\/20ms\s+ok 4\.3ms/);
    assert.match(lines[2]!, /api\s+http\s+down\s+.*98\.76%.*status was 503 \(4\.3ms\)/);
    assert.match(lines[3]!, /db\s+http\s+pending\s+.*not run yet/);
    assert.match(text, /3 checks: 1 up, 1 down, 1 pending; 300 runs, 1 skipped, 0 in flight; start lag p50 0\.5ms p99 3\.3ms/);
  });

  it("shows a degraded check as up (degraded), with the degraded conditions as its last result", () => {
    const last = { check: "slow", ok: true, degraded: true, startedAt: now, durationMs: 512, fields: {}, failed: [], error: "degraded: response_time < 300ms (response_time was 512ms)" };
    const text = renderChecks([check("slow", "up", { degraded: true, lastResult: last })], stats, now);
    assert.match(text.split("\n")[1]!, /slow\s+http\s+up \(degraded\)\s+1m30s ago.*degraded: response_time < 300ms \(response_time was 512ms\) \(512ms\)/);
  });

  it("prints a check's history per bucket, or says there is none", () => {
    const text = renderHistory({ check: "web", resolution: "hour", since: now - 86_400_000, points: [{ start: now - 3_600_000, runs: 360, failures: 3, uptime: 357 / 360, avgMs: 4.5, maxMs: 40, p50: 5, p95: 10, p99: 20 }] });
    assert.match(text, /^web, per hour\n/);
    assert.match(text, /2026-01-01 11:00\s+360\s+3\s+99\.17%\s+4\.5ms\s+5ms\s+10ms\s+20ms\s+40ms/);
    assert.match(renderHistory({ check: "web", resolution: "minute", since: now, points: [] }), /no results for web since 2026-01-01T12:00:00\.000Z/);
  });
});
