import type { ApplyStep, Change, Plan, PlanSummary } from "./types.js";
import { formatValue, lastKey } from "./values.js";

export interface RenderOptions {
  /** ANSI colours: green +, yellow ~, red -. Default false. */
  color?: boolean;
}

/** The attributes that change what a service costs. */
const costPaths = /^(instances$|resources(\.|$))/;

const marks = { create: "+", update: "~", delete: "-", "no-op": " " } as const;
const colours = { create: "32", update: "33", delete: "31", "no-op": "0" } as const;

/**
 * A plan as people read it, Terraform-like: one block per change (no-ops left out), its attribute
 * changes and drift indented under it, then the summary line. Secret references show as
 * `(secret name)`; nothing is looked up.
 *
 * @example
 *   ~ web (production) v3
 *       instances: 2 → 3
 *       env.DB_PASSWORD: "literal" → (secret db_password)
 *       drift: 2 of 3 instances running
 *       apply: new release of sha256:3f2a9c1d0b7e with this config
 *
 *   Plan: 0 to create, 1 to change, 0 to destroy.
 */
export function renderPlan(plan: Plan, options: RenderOptions = {}): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const lines: string[] = [];
  for (const change of plan.changes) {
    if (change.action === "no-op") continue;
    const release = change.live ? ` v${change.live.number}` : "";
    lines.push(paint(colours[change.action], `  ${marks[change.action]} ${change.service} (${change.environment})${release}`));
    // The cost change goes on the one attribute that made it, when one did; else on a line of its own.
    const costly = change.cost && change.cost.delta !== "0" ? change.diffs.filter((d) => costPaths.test(d.path)) : [];
    for (const diff of change.diffs) {
      const key = lastKey(diff.path);
      const cost = costly.length === 1 && costly[0] === diff ? `  ${paint("36", change.cost!.deltaText)}` : "";
      lines.push(`      ${diff.path}: ${formatValue(diff.before, key)} → ${formatValue(diff.after, key)}${cost}`);
    }
    if (change.cost && change.cost.delta !== "0" && costly.length !== 1) lines.push(paint("36", `      cost: ${change.cost.text} (${change.cost.deltaText})`));
    if (change.recordedConfigMissing) lines.push(`      config changed (the recorded config of v${change.live?.number} is missing, so its attributes cannot be compared)`);
    for (const note of change.drift) lines.push(paint("35", `      drift: ${note.message}`));
    if (change.action === "delete") lines.push(`      ${change.reason}`);
    if (change.blockedBy !== undefined) lines.push(paint("1;31", `      blocked: ${change.blockedBy}`));
    else if (change.step) lines.push(paint("2", `      apply: ${describeStep(change.step)}`));
    lines.push("");
  }
  if (plan.configFile.changed) {
    lines.push(`  engineroom.yaml changed since the last apply (${short(plan.configFile.applied!)} → ${short(plan.configFile.current!)}).`, "");
  }
  lines.push(summaryLine(plan.summary));
  if (plan.cost) lines.push(plan.cost.text);
  if (plan.cost?.budget?.exceeded) lines.push(paint("1;31", plan.cost.budget.text));
  if (plan.summary.blocked > 0) lines.push(`${plan.summary.blocked} of these ${plan.summary.blocked === 1 ? "changes is" : "changes are"} blocked; see "blocked:" above.`);
  return lines.join("\n") + "\n";
}

/**
 * `Plan: 1 to create, 2 to change, 0 to destroy.`, or `No changes. …` when there is nothing to do.
 */
export function summaryLine(summary: PlanSummary): string {
  if (summary.create + summary.update + summary.delete === 0) return "No changes. What runs matches engineroom.yaml.";
  return `Plan: ${summary.create} to create, ${summary.update} to change, ${summary.delete} to destroy.`;
}

function describeStep(step: ApplyStep): string {
  switch (step.kind) {
    case "deploy":
      return `deploy ${step.artifact}`;
    case "promote":
      return `promote ${step.from} v${step.number} (${short(step.artifactDigest)})${step.initial ? " as the first release here" : ""}`;
    case "redeploy":
      return `new release of ${short(step.artifactDigest)} with this config, zero-downtime switch`;
    case "stop":
      return "drain and stop the live release";
  }
}

/** `sha256:` and the first 12 hex digits: enough to tell digests apart on screen. */
function short(digest: string): string {
  return digest.slice(0, "sha256:".length + 12);
}
