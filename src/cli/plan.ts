import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { EngineError } from "../core/index.js";
import type { Drift } from "../engine/index.js";
import { parsePlan, planToJson, renderPlan, type Plan } from "../plan/index.js";
import type { ApiClient } from "./client.js";
import { learnedBefore } from "./postmortems.js";
import { bold, green, out, progressPrinter, yellow } from "./render.js";

/**
 * Plan exit codes, as Terraform's `-detailed-exitcode`: 0 no changes, 2 changes. An error exits
 * with its own code from the catalogue (2 for bad input such as CONFIG_INVALID, 1 for a failure).
 */
const planExit = { noChanges: 0, changes: 2 } as const;

function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== "no-op" || c.drift.length > 0);
}

const color = () => Boolean(process.stdout.isTTY && !process.env.NO_COLOR);

/** `engineroom plan`: prints what apply would change; answers the exit code. */
export async function plan(api: ApiClient, options: { out?: string; refreshOnly?: boolean; json?: boolean }): Promise<number> {
  const { plan, drift } = await api.post<{ plan: Plan; drift: Drift[] }>("/v1/plan", { refreshOnly: options.refreshOnly === true });
  if (options.out) writeFileSync(options.out, planToJson(plan) + "\n");
  if (options.refreshOnly) {
    const drifted = plan.changes.filter((c) => c.drift.length > 0);
    if (options.json) out(JSON.stringify({ drift, changes: drifted }, null, 2));
    else if (drift.length === 0 && drifted.length === 0) out(green("No drift: what runs is what the engine started and applied."));
    else for (const line of [...drift.map((d) => d.message), ...drifted.flatMap((c) => c.drift.map((d) => `${c.service} (${c.environment}): ${d.message}`))]) out(`${yellow("!")} ${line}`);
    return drift.length + drifted.length > 0 ? planExit.changes : planExit.noChanges;
  }
  out(options.json ? planToJson(plan) : renderPlan(plan, { color: color() }));
  if (!options.json) {
    const learned = await learnedBefore(api, plan.changes.filter((c) => c.action !== "no-op").map((c) => c.service));
    if (learned) out(learned);
  }
  if (options.out && !options.json) out(`saved to ${options.out}; apply exactly this plan with: engineroom apply ${options.out}`);
  return hasChanges(plan) ? planExit.changes : planExit.noChanges;
}

/** `engineroom apply [plan]`: applies a saved plan, or plans now and applies after confirmation. */
export async function apply(api: ApiClient, file: string | undefined, options: { yes?: boolean; json?: boolean; overrideBudget?: string; approveCost?: boolean }): Promise<void> {
  let saved: Plan | undefined;
  if (file) {
    const parsed = parsePlan(readFileSync(file, "utf8"));
    if (!parsed.ok) throw new EngineError("PLAN_INVALID", `${file} is not a plan: ${parsed.problem}.`);
    saved = parsed.plan;
  } else {
    const { plan } = await api.post<{ plan: Plan }>("/v1/plan", {});
    out(renderPlan(plan, { color: color() }));
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
  const result = await api.stream<{ done: string[]; revision: { fileHash: string; gitCommit: string | null } }>("POST", "/v1/apply", { plan: saved, overrideBudget: options.overrideBudget, approveCost: options.approveCost === true }, {
    operation: "apply",
    subject: "the project",
    onProgress: options.json ? () => {} : progressPrinter(),
  });
  if (options.json) return out(JSON.stringify(result, null, 2));
  out(`${green("applied")} ${result.done.length} change(s); config ${result.revision.fileHash.slice(0, 12)}${result.revision.gitCommit ? ` at ${result.revision.gitCommit}` : ""}`);
}
