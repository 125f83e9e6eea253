import type { Command } from "commander";
import { formatDuration } from "../core/index.js";
import type { RunbookSummary } from "../engine/index.js";
import type { RunbookDryRun } from "../runbook/index.js";
import type { RunbookRunRecord } from "../store/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { operatorName, wantsJson } from "./group-support.js";
import { bold, dim, green, out, red, table, yellow } from "./render.js";

type Json = { json?: boolean };

/**
 * `engineroom runbook`: list, run (--dry-run), show, approve, deny. Everything goes through the
 * running engine's API; who acts is the OS user name. `run` waits until the run ends or pauses for
 * an approval, and exits 1 when it failed or was aborted.
 */
export function registerRunbookCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const runbook = program.command("runbook").description("runbooks: list, run <name> [--dry-run], show <run-id>, approve <run-id>, deny <run-id>").option("--json", "print JSON");

  runbook
    .command("list")
    .description("the declared runbooks: steps, automatic triggers and guardrails, latest runs")
    .option("--json", "print JSON")
    .action(async (options: Json, command: Command) => {
      const { runbooks } = await (await connect(globals(command))).get<{ runbooks: RunbookSummary[] }>("/v1/runbooks");
      out(wantsJson(options, command) ? JSON.stringify({ runbooks }, null, 2) : renderRunbooks(runbooks));
    });

  runbook
    .command("run <name>")
    .description("run a runbook (--dry-run: say exactly what would happen, change nothing)")
    .option("--service <service>", "the service (default: the runbook's)")
    .option("--env <environment>", "the environment (default: the runbook's, else the last of the chain)")
    .option("--incident <id>", "the incident it serves (default: the open one of the service there)")
    .option("--dry-run", "resolve every step now and change nothing")
    .option("--json", "print JSON")
    .action(async (name: string, options: Json & { service?: string; env?: string; incident?: string; dryRun?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const body = { service: options.service, environment: options.env, incident: options.incident, dry_run: options.dryRun === true, wait: true, by: operatorName() };
      const result = await api.post<RunbookDryRun | RunbookRunRecord>(`/v1/runbooks/${encodeURIComponent(name)}/run`, body);
      if (options.dryRun) return out(wantsJson(options, command) ? JSON.stringify(result, null, 2) : renderDryRun(result as RunbookDryRun));
      const run = result as RunbookRunRecord;
      out(wantsJson(options, command) ? JSON.stringify(run, null, 2) : renderRun(run));
      if (run.state === "failed" || run.state === "aborted") process.exitCode = 1;
    });

  runbook
    .command("show <run-id>")
    .description("one run: each step's plan, conditions, result and output; the approval; the verification")
    .option("--json", "print JSON")
    .action(async (id: string, options: Json, command: Command) => {
      const run = await (await connect(globals(command))).get<RunbookRunRecord>(`/v1/runbook-runs/${encodeURIComponent(id)}`);
      out(wantsJson(options, command) ? JSON.stringify(run, null, 2) : renderRun(run));
    });

  for (const decision of ["approve", "deny"] as const) {
    runbook
      .command(`${decision} <run-id>`)
      .description(decision === "approve" ? "approve a run paused at its approve step (it goes on)" : "deny a run paused at its approve step (it aborts)")
      .option("--reason <text>", "why")
      .option("--json", "print JSON")
      .action(async (id: string, options: Json & { reason?: string }, command: Command) => {
        const run = await (await connect(globals(command))).post<RunbookRunRecord>(`/v1/runbook-runs/${encodeURIComponent(id)}/${decision}`, { by: operatorName(), reason: options.reason });
        out(wantsJson(options, command) ? JSON.stringify(run, null, 2) : renderRun(run));
      });
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const stateColour = (s: string) => (s === "succeeded" || s === "verified" ? green(s) : s === "failed" || s === "aborted" || s === "not-recovered" ? red(s) : s === "skipped" || s === "pending" ? dim(s) : yellow(s));

export function renderRunbooks(runbooks: RunbookSummary[]): string {
  if (runbooks.length === 0) return "no runbook is declared (runbooks: in engineroom.yaml)";
  const rows = runbooks.map((r) => [
    r.name,
    `${r.service ?? "-"} / ${r.environment ?? "-"}`,
    r.steps.map((s) => s.type).join(" → "),
    r.triggers.length ? `${r.triggers.join(", ")} (≤${r.maxAutoRunsPerHour}/h${r.allowAutoInProduction ? "" : ", not in production"})` : "-",
    r.runs[0] ? `${r.runs[0].id} ${stateColour(r.runs[0].state)} ${iso(r.runs[0].startedAt)}` : "-",
  ]);
  return table(["runbook", "service / env", "steps", "automatic on", "last run"], rows);
}

export function renderDryRun(d: RunbookDryRun): string {
  return [
    `${bold(`dry run of runbook ${d.runbook}`)} for ${d.service} in ${d.environment}${d.incidentId ? ` (incident ${d.incidentId})` : ""}; nothing changes`,
    ...d.summary,
    d.verification,
  ].join("\n");
}

export function renderRun(run: RunbookRunRecord): string {
  const how = run.trigger.kind === "alert" ? `automatically for alert ${run.trigger.rule} (${run.trigger.alertId})` : `by ${run.trigger.by}`;
  const took = run.endedAt ? ` in ${formatDuration(run.endedAt - run.startedAt)}` : "";
  const lines = [
    `${bold(run.id)}  runbook ${run.runbook}  ${run.service} / ${run.environment}  ${stateColour(run.state)}${took}`,
    `started ${how} at ${iso(run.startedAt)}${run.incidentId ? `; incident ${run.incidentId}` : ""}${run.reason ? `; ${run.reason}` : ""}`,
  ];
  for (const s of run.steps) {
    lines.push(`  ${String(s.index + 1).padStart(2)}. ${s.name.padEnd(16)} ${stateColour(s.state).padEnd(10)} ${s.plan}`);
    for (const c of s.conditions) lines.push(dim(`        ${c}`));
    if (s.result) lines.push(`        → ${s.result}`);
    if (s.output) lines.push(...s.output.trimEnd().split("\n").slice(-20).map((l) => dim(`        | ${l}`)));
  }
  if (run.approval) {
    const a = run.approval;
    lines.push(a.decision ? `approval: ${a.decision}${a.by ? ` by ${a.by}` : ""} at ${iso(a.at!)}` : yellow(`waiting for an approval until ${iso(a.expiresAt)}: engineroom runbook approve ${run.id}`));
  }
  if (run.verification) lines.push(`verification: ${stateColour(run.verification.outcome)}`, ...run.verification.evidence.map((e) => `  ${e}`));
  return lines.join("\n");
}
