import type { Command } from "commander";
import type { SloReport } from "../engine/index.js";
import type { SloStatus } from "../slo/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { bold, dim, green, out, red, yellow } from "./render.js";

/** `engineroom slo [name] [--env] [--json]`: every SLO (or one) in each of its environments, from the running engine. */
export function registerSloCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  program
    .command("slo [name]")
    .description("per SLO and environment: target, attained, error budget left, burn rate per window, time to exhaustion, alert state, the low-traffic policy")
    .option("--env <environment>", "only this environment")
    .option("--json", "print JSON")
    .action(async (name: string | undefined, options: { env?: string; json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const query = options.env ? `?${new URLSearchParams({ env: options.env })}` : "";
      const report = await api.get<SloReport>(`/v1/slos${name ? `/${encodeURIComponent(name)}` : ""}${query}`);
      out(options.json ? JSON.stringify(report, null, 2) : renderSlos(report));
    });
}

/** The report as an aligned table, each SLO followed by its burn rates and its alerting policy. */
export function renderSlos(report: SloReport, now = Date.now()): string {
  if (report.slos.length === 0) return "no SLOs declared (add them under `slos:` in engineroom.yaml)";
  const header = ["slo", "environment", "kind", "target", "window", "attained", "budget left", "exhausted in", "alerts"];
  const rows = report.slos.map((s) => [
    s.slo,
    s.environment,
    s.kind + (s.threshold ? ` ≤${s.threshold}` : s.check ? ` ${s.check}` : ""),
    `${s.target}%`,
    s.window,
    s.attained === null ? "–" : `${s.attained}%`,
    `${s.budgetLeft}%`,
    exhaustion(s),
    alerts(s, now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const lines = [dim(line(header))];
  report.slos.forEach((s, i) => {
    const text = line(rows[i]!);
    lines.push(s.exhausted ? red(text) : s.alerts.some((a) => a.active) ? yellow(text) : text);
    const burns = s.burnRates.map((b) => `${b.window} ${b.burnRate === null ? "–" : `${b.burnRate}×`}`).join(" · ");
    lines.push(`  ${dim("events")}   ${s.events.valid} valid, ${s.events.bad} bad (${s.allowedBad} allowed)${s.exhausted ? red("  budget exhausted: promotion here is refused") : ""}`);
    lines.push(`  ${dim("burn")}     ${burns}`);
    const held = s.alerts.flatMap((a) => a.heldByLowTraffic.map((p) => `${a.severity} ${p}`));
    if (held.length) lines.push(`  ${dim("held")}     ${yellow(`too few bad events (< ${s.policy.minBadEvents}) for ${held.join(", ")}`)}`);
    lines.push(`  ${dim("policy")}   ${s.policy.text}`);
  });
  lines.push(dim(`figures to ${new Date(report.recordedUntil).toISOString().replace("T", " ").slice(0, 16)} UTC (the last recorded minute)`));
  return lines.join("\n");
}

function exhaustion(s: SloStatus): string {
  const ms = s.exhaustion.ms;
  if (ms === null) return "never (no burn)";
  if (ms === 0) return "spent";
  return `${span(ms)} at ${s.exhaustion.window} burn`;
}

function alerts(s: SloStatus, now: number): string {
  return s.alerts.map((a) => (a.active ? bold(red(`${a.severity} firing ${span(Math.max(0, now - a.since!))}`)) : green(`${a.severity} ok`))).join(", ");
}

/** 3d4h, 5h20m, 12m. */
function span(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return `${d}d${h ? `${h}h` : ""}`;
  if (h > 0) return `${h}h${m ? `${m}m` : ""}`;
  return `${m}m`;
}
