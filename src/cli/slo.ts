import type { Command } from "commander";
import type { SloReport } from "../engine/index.js";
import { formatSpan } from "../core/index.js";
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
      out(options.json ? JSON.stringify(report, null, 2) : renderSlos(report, Date.now(), { name, environment: options.env }));
    });
}

/** The report as an aligned table, each SLO followed by its burn rates and its alerting policy. */
export function renderSlos(report: SloReport, now = Date.now(), asked: { name?: string; environment?: string } = {}): string {
  if (report.slos.length === 0) return nothingShown(asked);
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
  return `${formatSpan(ms)} at ${s.exhaustion.window} burn`;
}

function alerts(s: SloStatus, now: number): string {
  return s.alerts.map((a) => (a.active ? bold(red(`${a.severity} firing ${formatSpan(Math.max(0, now - a.since!))}`)) : green(`${a.severity} ok`))).join(", ");
}


/** Why nothing is shown: a declared SLO (the engine refuses a name not declared) or an environment may simply not keep one. */
function nothingShown({ name, environment }: { name?: string; environment?: string }): string {
  if (name !== undefined && environment !== undefined) return `SLO ${name} is not kept in ${environment} (see slos.${name}.environments in engineroom.yaml)`;
  if (environment !== undefined) return `no SLO is kept in ${environment}`;
  return "no SLOs declared (add them under `slos:` in engineroom.yaml)";
}
