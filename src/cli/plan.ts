import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { EngineError } from "../core/index.js";
import type { Drift } from "../engine/index.js";
import { parsePlan, planToJson, renderPlan, type Plan } from "../plan/index.js";
import { client, type GlobalOptions } from "./context.js";
import { bold, green, progressPrinter, yellow } from "./render.js";

const out = (text: string): void => {
  process.stdout.write(text + "\n");
};

/** Plan exit codes, as Terraform's `-detailed-exitcode`: 0 no changes, 2 changes, 1 error (set by main). */
const planExit = { noChanges: 0, changes: 2 } as const;

function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== "no-op" || c.drift.length > 0);
}

/** `engineroom plan` and `engineroom apply`. */
export function registerPlanCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  program
    .command("plan")
    .description("what apply would change between engineroom.yaml and what runs (exit 0: none, 2: changes, 1: error)")
    .option("--out <file>", "save the plan, for `engineroom apply <file>`")
    .option("--refresh-only", "only look for drift: changes made outside the engine")
    .option("--json", "print JSON")
    .action(async (options: { out?: string; refreshOnly?: boolean; json?: boolean }, command: Command) => {
      const { plan, drift } = await client(globals(command)).post<{ plan: Plan; drift: Drift[] }>("/v1/plan", { refreshOnly: options.refreshOnly === true });
      if (options.out) writeFileSync(options.out, planToJson(plan) + "\n");
      if (options.refreshOnly) {
        const drifted = plan.changes.filter((c) => c.drift.length > 0);
        if (options.json) out(JSON.stringify({ drift, changes: drifted }, null, 2));
        else if (drift.length === 0 && drifted.length === 0) out(green("No drift: what runs is what the engine started and applied."));
        else for (const line of [...drift.map((d) => d.message), ...drifted.flatMap((c) => c.drift.map((d) => `${c.service} (${c.environment}): ${d.message}`))]) out(`${yellow("!")} ${line}`);
        process.exitCode = drift.length + drifted.length > 0 ? planExit.changes : planExit.noChanges;
        return;
      }
      out(options.json ? planToJson(plan) : renderPlan(plan, { color: process.stdout.isTTY && !process.env.NO_COLOR }));
      if (options.out && !options.json) out(`saved to ${options.out}; apply exactly this plan with: engineroom apply ${options.out}`);
      process.exitCode = hasChanges(plan) ? planExit.changes : planExit.noChanges;
    });

  program
    .command("apply [plan]")
    .description("apply a saved plan (refused if what runs changed since), or plan now and apply after confirmation")
    .option("--yes", "apply without asking")
    .option("--json", "print the result as JSON")
    .action(async (file: string | undefined, options: { yes?: boolean; json?: boolean }, command: Command) => {
      const api = client(globals(command));
      let saved: Plan | undefined;
      if (file) {
        const parsed = parsePlan(readFileSync(file, "utf8"));
        if (!parsed.ok) throw new EngineError("PLAN_INVALID", `${file} is not a plan: ${parsed.problem}.`);
        saved = parsed.plan;
      } else {
        const { plan } = await api.post<{ plan: Plan }>("/v1/plan", {});
        out(renderPlan(plan, { color: process.stdout.isTTY && !process.env.NO_COLOR }));
        if (!hasChanges(plan)) return;
        if (!options.yes) {
          if (!process.stdin.isTTY) throw new EngineError("PLAN_INVALID", "apply needs a confirmation.", { hint: "Pass --yes, or run it in a terminal." });
          const prompt = createInterface({ input: process.stdin, output: process.stdout });
          const answer = await prompt.question(`${bold("Apply these changes?")} Only 'yes' is accepted: `);
          prompt.close();
          if (answer.trim() !== "yes") return out("apply cancelled; nothing was changed");
        }
        saved = plan; // apply exactly what was shown
      }
      const result = await api.stream<{ done: string[]; revision: { fileHash: string; gitCommit: string | null } }>(
        "/v1/apply",
        { plan: saved },
        options.json ? () => {} : progressPrinter(),
      );
      if (options.json) return out(JSON.stringify(result, null, 2));
      out(`${green("applied")} ${result.done.length} change(s); config ${result.revision.fileHash.slice(0, 12)}${result.revision.gitCommit ? ` at ${result.revision.gitCommit}` : ""}`);
    });
}
