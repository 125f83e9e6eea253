import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { formatSpan } from "../core/index.js";
import type { DurationSummary, Figure, Report } from "../report/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { bold, dim, green, out, red, table } from "./render.js";

interface ReportOptions {
  since?: string;
  env?: string;
  json?: boolean;
  html?: boolean;
  out?: string;
}

/**
 * `engineroom report [--since 30d] [--env <environment>] [--json] [--html [--out file.html]]`: the
 * scorecard from the running engine — the operator's table against its targets, DORA's keys, and
 * (with --json) what each figure was computed from.
 */
export function registerReportCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  program
    .command("report")
    .description("the scorecard: uptime, deployment success, time to recovery, alert noise, cost, and DORA's four keys, against their targets")
    .option("--since <duration>", "the period, ending now (1h to 400d)", "30d")
    .option("--env <environment>", "only this environment (DORA's keys: of it, else of the last environment of the chain)")
    .option("--json", "print JSON, with the releases, incidents, alerts and event ids behind every figure")
    .option("--html", "print one self-contained HTML page (or write it with --out)")
    .option("--out <file>", "with --html: write the page to this file")
    .action(async (options: ReportOptions, command: Command) => {
      const api = await connect(globals(command));
      const query = new URLSearchParams({ since: options.since ?? "30d", ...(options.env && { env: options.env }) });
      if (options.html) {
        const page = await api.getText(`/v1/report.html?${query}`);
        if (options.out) {
          writeFileSync(resolve(options.out), page);
          out(`wrote ${resolve(options.out)} (${page.length} bytes)`);
        } else process.stdout.write(page);
        return;
      }
      const report = await api.get<Report>(`/v1/report?${query}`);
      out(options.json || (command.optsWithGlobals() as { json?: boolean }).json ? JSON.stringify(report, null, 2) : renderReport(report));
    });
}

function mark(figure: Figure): string {
  return figure.meets === null ? dim("–") : figure.meets ? green("met") : bold(red("missed"));
}

const pct = (v: number | null) => (v === null ? "–" : `${Math.round(v * 100_000) / 1000}%`);

const span = formatSpan;

/** The cost per service and environment, with its idle part and per 1,000 requests, when a price sheet prices it. */
function costLines(cost: Report["scorecard"]["cost"]): string[] {
  if (!cost.measured || cost.perService.length === 0) return [];
  return [
    bold(`cost (${cost.currency}, max(reserved, used) × time × price)`),
    table(
      ["service", "environment", "cost", "idle", "requests", "per 1,000 requests"],
      cost.perService.map((r) => [r.service, r.environment, r.total, r.idle, String(r.requests), r.per1kRequests ?? "–"]),
    ),
    "",
  ];
}

const phase = (s: DurationSummary | null, none: string) => (s === null ? none : `median ${span(s.medianMs)}, p90 ${span(s.p90Ms)}, mean ${span(s.meanMs)} (${s.count})`);

/** The scorecard as aligned tables: the operator's table, DORA's keys, then uptime per service and the recovery phases. */
export function renderReport(report: Report): string {
  const { scorecard: s, dora: d, period } = report;
  const day = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);
  const lines = [
    bold(`scorecard ${day(period.since)} → ${day(period.until)} UTC (${period.days} days, ${period.environment ?? "all environments"})`),
    "",
    table(
      ["figure", "measured", "target", ""],
      [
        ["uptime", s.uptime.text, `> ${pct(s.uptime.target)}`, mark(s.uptime)],
        ["deployment success rate", s.deploymentSuccess.text, `> ${pct(s.deploymentSuccess.target)}`, mark(s.deploymentSuccess)],
        ["mean time to recovery", s.recovery.text, `< ${span(s.recovery.targetMs)}`, mark(s.recovery)],
        ["alert noise", s.alertNoise.text, `< ${pct(s.alertNoise.target)}`, mark(s.alertNoise)],
        ["cost efficiency", s.cost.text, "per 1,000 requests", mark(s.cost)],
      ],
    ),
    "",
    bold(`DORA keys (${d.environment})`),
    table(
      ["key", "measured", "bucket", ""],
      [
        ["deployment frequency", d.deploymentFrequency.text, d.deploymentFrequency.bucket, mark(d.deploymentFrequency)],
        ["lead time for changes", d.leadTime.text, d.leadTime.bucket ?? "–", mark(d.leadTime)],
        ["change failure rate", d.changeFailureRate.text, d.changeFailureRate.bucket ?? "–", mark(d.changeFailureRate)],
        ["failed deployment recovery time", d.recoveryTime.text, d.recoveryTime.bucket ?? "–", mark(d.recoveryTime)],
      ],
    ),
    "",
    bold("uptime per service and environment"),
    s.uptime.rows.length === 0
      ? dim("no services")
      : table(
          ["service", "environment", "requests (good/valid)", "uptime", "health check (passes/runs)", "uptime"],
          s.uptime.rows.map((r) => [r.service, r.environment, `${r.requests.good}/${r.requests.valid}`, pct(r.requests.ratio), `${r.checks.check} ${r.checks.passes}/${r.checks.runs}`, pct(r.checks.ratio)]),
        ),
    "",
    bold("deployments"),
    `${s.deploymentSuccess.started} started: ${s.deploymentSuccess.succeeded} succeeded, ${s.deploymentSuccess.failed} failed, ${s.deploymentSuccess.rolledBack} rolled back, ${s.deploymentSuccess.inProgress} in progress`,
    "",
    bold(`incidents (${s.recovery.incidents}${s.recovery.open ? `, ${s.recovery.open} open` : ""}${s.recovery.cancelled ? `, ${s.recovery.cancelled} cancelled` : ""})`),
    table(
      ["phase", "figures"],
      [
        ["detect", phase(s.recovery.detect, "no incidents")],
        ["acknowledge", phase(s.recovery.acknowledge, "no incidents acknowledged")],
        ["mitigate", phase(s.recovery.mitigate, "no incidents mitigated")],
        ["resolve", phase(s.recovery.resolve, "no incidents resolved")],
        ["recover", phase(s.recovery.recovery, "no incidents")],
      ],
    ),
    "",
    bold(`drills (${report.drills.text})`),
    ...(report.drills.runs === 0
      ? []
      : [table(["drill", "service / env", "result", "detected / rolled back / healthy", "failed in / out of fault"], report.drills.rows.map((r) => [r.drill, `${r.service} / ${r.environment}`, r.passed ? "passed" : red("failed"), [r.detectedAfterMs, r.rolledBackAfterMs, r.healthyAfterMs].map((v) => (v === null ? "–" : span(v))).join(" / "), `${r.failedInsideFault} / ${r.failedOutsideFault} of ${r.requests}`]))]),
    "",
    ...costLines(s.cost),
    bold(`open action items (${report.actionItems.text})`),
    ...(report.actionItems.open === 0
      ? []
      : [table(["id", "incident", "type", "owner", "due", "age", "action"], report.actionItems.items.map((a) => [a.id, a.incidentId, a.type, a.owner, a.overdue ? red(`${a.due} (overdue)`) : a.due, span(a.ageMs), a.text]))]),
    "",
    dim("--json lists the releases, incidents, alerts and events behind every figure; --html --out report.html writes the page"),
  ];
  return lines.join("\n");
}
