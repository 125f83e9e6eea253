import type { Command } from "commander";
import { formatDuration } from "../core/index.js";
import type { DrillView } from "../engine/index.js";
import type { DrillRunRecord } from "../store/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { operatorName, wantsJson } from "./group-support.js";
import { bold, dim, green, out, red, table } from "./render.js";

type Json = { json?: boolean };

/**
 * `engineroom drill list` (the declared drills, their last result, timings and next run) and
 * `engineroom drill run <name>` (runs it now and waits for its result: exit 0 passed, 1 failed).
 */
export function registerDrillCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const list = async (options: Json, command: Command) => {
    const api = await connect(globals(command));
    const { drills } = await api.get<{ drills: DrillView[] }>("/v1/drills");
    out(wantsJson(options, command) ? JSON.stringify({ drills }, null, 2) : renderDrills(drills));
  };
  const drill = program.command("drill").description("drills: list (last result, timings, next run), run <name>").option("--json", "print JSON").action(list);
  drill.command("list").description("every declared drill: its last result and timings, its next run").option("--json", "print JSON").action(list);
  drill
    .command("run <name>")
    .description("run a drill now and wait for its result (exit 1 when it failed its pass rule)")
    .option("--json", "print JSON")
    .action(async (name: string, options: Json, command: Command) => {
      const api = await connect(globals(command));
      const quiet = wantsJson(options, command);
      const say = (line: string) => void (quiet || process.stderr.write(`${line}\n`));
      const { drills } = await api.get<{ drills: DrillView[] }>("/v1/drills");
      const drill = drills.find((d) => d.name === name);
      say(`running drill ${name}…`);
      // The engine runs every drill but a restart, which the CLI runs around it.
      const run =
        drill?.type === "restart"
          ? await (await import("./drill-restart.js")).runRestartDrill(drill, globals(command), say)
          : (await api.post<{ run: DrillRunRecord }>(`/v1/drills/${encodeURIComponent(name)}/run`, { by: operatorName() })).run;
      out(wantsJson(options, command) ? JSON.stringify({ run }, null, 2) : renderRun(run));
      if (run.state !== "passed") process.exitCode = 1;
    });
}

const ms = (value: number | null) => (value === null ? "–" : formatDuration(value));

export function renderDrills(drills: readonly DrillView[]): string {
  if (drills.length === 0) return dim("no drills declared (drills: in engineroom.yaml)");
  const rows = drills.map((d) => [
    bold(d.name),
    d.type,
    `${d.service} / ${d.environment}`,
    d.running ? "running" : d.last ? (d.last.state === "passed" ? green("passed") : red(d.last.state)) : dim("never run"),
    d.last ? new Date(d.last.startedAt).toISOString() : "–",
    d.last ? `${ms(d.last.timings.detectedAfterMs)} / ${ms(d.last.timings.rolledBackAfterMs)} / ${ms(d.last.timings.healthyAfterMs)}` : "–",
    d.last ? `${d.last.requests.failedInsideFault} / ${d.last.requests.failedOutsideFault} of ${d.last.requests.sent}` : "–",
    d.nextRun === null ? (d.schedule ? "–" : dim("by hand")) : `${new Date(d.nextRun).toISOString()} (${d.schedule})`,
  ]);
  return table(["drill", "type", "service / env", "last", "started", "detected / rolled back / healthy", "failed in / out of fault", "next run"], rows);
}

export function renderRun(run: DrillRunRecord): string {
  const head = `${run.state === "passed" ? green("passed") : red(run.state)} ${bold(run.drill)} (${run.type}, ${run.service} in ${run.environment}): ${run.reason}`;
  const timings = `detected after ${ms(run.timings.detectedAfterMs)}, rolled back after ${ms(run.timings.rolledBackAfterMs)}, healthy after ${ms(run.timings.healthyAfterMs)}`;
  const requests = `${run.requests.sent} requests: ${run.requests.failedInsideFault} failed inside the fault, ${run.requests.failedOutsideFault} outside it`;
  const rules = run.rules.map((r) => `  ${r.passed ? green("✓") : red("✗")} ${r.rule} — ${r.detail}`);
  return [head, `  ${timings}`, `  ${requests}`, ...rules, dim(`  run ${run.id}${run.releaseId ? `, release ${run.releaseId}` : ""}`)].join("\n");
}
