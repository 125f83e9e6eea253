import type { Command } from "commander";
import { formatDuration } from "../core/index.js";
import type { CheckHistory, CheckSummary, MonitorStats } from "../monitor/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { wantsJson } from "./group-support.js";
import { dim, green, out, red, table, yellow } from "./render.js";

/**
 * `engineroom checks [--json]` and `engineroom checks history <name>`: every check's state, last
 * result, uptime and latency, and one check's results per minute, hour or day, from the running
 * engine's API.
 */
export function registerCheckCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const checks = program
    .command("checks")
    .description("every check (declared, and each service's own): state, last result, uptime over 24h / 7d / 30d, latency p50/p95/p99 over 24h")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const answer = await api.get<{ checks: CheckSummary[]; scheduler: MonitorStats }>("/v1/checks");
      out(options.json ? JSON.stringify(answer, null, 2) : renderChecks(answer.checks, answer.scheduler, Date.now()));
    });

  checks
    .command("history <name>")
    .description("a check's results per minute (kept 24h), hour (35d) or day (400d)")
    .option("--resolution <resolution>", "minute, hour or day", "minute")
    .option("--since <duration>", "how far back, e.g. 90m, 24h, 7d", "24h")
    .option("--json", "print JSON")
    .action(async (name: string, options: { resolution: string; since: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const query = new URLSearchParams({ resolution: options.resolution, since: options.since });
      const history = await api.get<CheckHistory>(`/v1/checks/${encodeURIComponent(name)}/history?${query}`);
      out(wantsJson(options, command) ? JSON.stringify(history, null, 2) : renderHistory(history));
    });
}

const percent = (value: number | null): string => (value === null ? "-" : `${(value * 100).toFixed(value === 1 ? 0 : 2)}%`);
const ms = (value: number | null): string => (value === null ? "-" : `${value}ms`);
const state = (s: string): string => (s === "up" ? green(s) : s === "down" ? red(s) : yellow(s));

function lastResult(check: CheckSummary): string {
  const last = check.lastResult;
  if (!last) return dim("not run yet");
  const took = `${Math.round(last.durationMs * 10) / 10}ms`;
  return last.ok && !last.degraded ? `ok ${took}` : `${last.error ?? "failed"} (${took})`;
}

export function renderChecks(checks: CheckSummary[], scheduler: MonitorStats, now: number): string {
  if (checks.length === 0) return "no checks: declare some under `checks:`, or deploy a service (each gets its own)";
  const rows = checks.map((c) => [
    c.name,
    c.type,
    c.degraded ? `${state(c.state)} ${yellow("(degraded)")}` : state(c.state),
    `${formatDuration(Math.max(0, now - c.since))} ago`,
    percent(c.uptime["24h"]),
    percent(c.uptime["7d"]),
    percent(c.uptime["30d"]),
    `${ms(c.latencyMs.p50)}/${ms(c.latencyMs.p95)}/${ms(c.latencyMs.p99)}`,
    lastResult(c),
  ]);
  const { states, lagMs } = scheduler;
  const summary = dim(
    `${checks.length} checks: ${states.up} up, ${states.down} down, ${states.pending} pending; ${scheduler.runs} runs, ${scheduler.skipped} skipped, ${scheduler.inFlight} in flight; start lag p50 ${lagMs.p50.toFixed(1)}ms p99 ${lagMs.p99.toFixed(1)}ms`,
  );
  return [table(["check", "type", "state", "since", "up 24h", "7d", "30d", "p50/p95/p99 24h", "last result"], rows), "", summary].join("\n");
}

export function renderHistory(history: CheckHistory): string {
  if (history.points.length === 0) return `no results for ${history.check} since ${new Date(history.since).toISOString()}`;
  const at = (t: number) => new Date(t).toISOString().replace("T", " ").slice(0, history.resolution === "day" ? 10 : 16);
  const rows = history.points.map((p) => [at(p.start), String(p.runs), String(p.failures), percent(p.uptime), ms(p.avgMs), ms(p.p50), ms(p.p95), ms(p.p99), ms(p.maxMs)]);
  return [`${history.check}, per ${history.resolution}`, table(["start (UTC)", "runs", "failures", "uptime", "avg", "p50", "p95", "p99", "max"], rows)].join("\n");
}
