import { stableStringify } from "../config/index.js";
import type { Plan } from "./types.js";
import { isRecord } from "./values.js";

const actions = new Set(["create", "update", "delete", "no-op"]);

/**
 * A plan as JSON for machines and for `plan --out plan.json`: keys sorted at every level and
 * indented, so the same plan always gives the same bytes. It holds secret references, never values.
 */
export function planToJson(plan: Plan): string {
  return JSON.stringify(JSON.parse(stableStringify(plan)), null, 2) + "\n";
}

/**
 * Reads a saved plan back. Returns the problem instead of throwing, so that the caller raises it with
 * its own error code. Checks the shape, not the hash: compare `plan.hash` with a fresh plan's
 * (see `staleReason`).
 */
export function parsePlan(text: string): { ok: true; plan: Plan } | { ok: false; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${(error as Error).message}` };
  }
  if (!isRecord(value)) return { ok: false, problem: "not a plan: expected a JSON object" };
  if (value.version !== 1) return { ok: false, problem: `unknown plan version ${JSON.stringify(value.version)}; make a new plan with this version of engineroom` };
  if (typeof value.hash !== "string" || !value.hash.startsWith("sha256:")) return { ok: false, problem: "the plan has no hash" };
  if (!isRecord(value.summary) || !isRecord(value.configFile) || !Array.isArray(value.changes)) {
    return { ok: false, problem: "the plan lacks its summary, configFile or changes" };
  }
  for (const [i, change] of value.changes.entries()) {
    const ok =
      isRecord(change) &&
      typeof change.environment === "string" &&
      typeof change.service === "string" &&
      actions.has(change.action as string) &&
      Array.isArray(change.diffs) &&
      Array.isArray(change.drift);
    if (!ok) return { ok: false, problem: `changes[${i}] is not a change (environment, service, action, diffs, drift)` };
  }
  return { ok: true, plan: value as unknown as Plan };
}

/**
 * Why a saved plan may not be applied any more, or undefined when it still may: `fresh` is a plan
 * made now from the current state, and the two were made from the same state only if their hashes match.
 */
export function staleReason(saved: Plan, fresh: Plan): string | undefined {
  if (saved.hash === fresh.hash) return undefined;
  return `the config or what runs changed since this plan was made (plan ${saved.hash.slice(0, 19)}, now ${fresh.hash.slice(0, 19)}); make a new plan and review it`;
}
