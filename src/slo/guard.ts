import { EngineError } from "../core/index.js";
import type { EventLog } from "../store/index.js";
import type { SloEvaluator } from "./evaluator.js";

/** A promotion's request to go ahead although the budget is spent: why, and who asks. */
export interface BudgetOverride {
  reason: string;
  actor?: string;
}

/**
 * The error-budget guardrail of a promotion into `environment`: refused with SLO_BUDGET_EXHAUSTED
 * while any SLO of the service there has its budget exhausted, unless `override` gives a reason,
 * which is recorded as a `slo.budget-overridden` event (reason, actor, budget left). Nothing is
 * changed when it refuses.
 */
export async function guardPromotion(evaluator: SloEvaluator, events: EventLog, service: string, environment: string, override?: BudgetOverride): Promise<void> {
  const spent = await evaluator.exhausted(service, environment);
  if (spent.length === 0) return;
  const list = spent.map((s) => `${s.slo} (budget left ${s.budgetLeft}% of ${s.window}, ${s.events.bad} bad of ${s.events.valid})`).join(", ");
  const budgets = spent.map((s) => ({ slo: s.slo, budgetLeft: s.budgetLeft, window: s.window, bad: s.events.bad, valid: s.events.valid }));
  const reason = override?.reason.trim();
  if (!reason) {
    throw new EngineError("SLO_BUDGET_EXHAUSTED", `${service} has spent its error budget in ${environment}: ${list}; the promotion was refused and nothing changed.`, {
      hint: `Wait for the budget to recover (\`engineroom slo\`), fix what burns it, or promote with --override-budget "<reason>" (recorded).`,
      details: { budgets },
    });
  }
  const actor = override?.actor ?? "unknown";
  await events.append({
    type: "slo.budget-overridden",
    service,
    environment,
    message: `promotion of ${service} into ${environment} despite a spent error budget (${list}), by ${actor}: ${reason}`,
    data: { reason, actor, budgets },
  });
}
