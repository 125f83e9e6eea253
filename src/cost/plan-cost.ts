import { decimal, type Exact } from "../core/index.js";
import type { Change, ChangeCost, CurrentState, DesiredState, Plan, PlanCost } from "../plan/index.js";
import { money, monthlyCost, type MeasuredUse } from "./math.js";
import { hoursPerMonth, reservationOf, type PriceSheet } from "./sheet.js";

const { add, subtract, compare, decimalText, zero } = decimal;

export interface PlanCostInput {
  desired: DesiredState;
  current: CurrentState;
  sheet: PriceSheet;
  /** The measured mean use per instance of each live release, by `${environment}\0${service}`: a reservation below it costs what is used. */
  measured?: ReadonlyMap<string, MeasuredUse>;
}

/**
 * The plan with what each change does to the monthly cost (730 h), from the price sheet: the
 * running service's cost (its recorded config's instances × max(reserved, measured) × price) against
 * the declared one's, and the total; with the budget's verdict when `cost.budget` is set.
 *
 * @example withCost(plan, { desired, current, sheet }).cost?.text // "Cost: $28.40 → $42.60 per month (+$14.20/month; …)"
 */
export function withCost(plan: Plan, input: PlanCostInput): Plan {
  const { sheet } = input;
  let before = zero;
  let after = zero;
  const changes = plan.changes.map((change) => {
    const cost = changeCost(change, input);
    before = add(before, cost.before ?? zero);
    after = add(after, cost.after);
    return { ...change, cost: texts(cost, sheet.currency) };
  });
  const delta = subtract(after, before);
  const currency = sheet.currency;
  const total: PlanCost = {
    currency,
    hoursPerMonth,
    before: decimalText(before),
    after: decimalText(after),
    delta: decimalText(delta),
    text: `Cost: ${money(before, currency)} → ${money(after, currency)} per month (${money(delta, currency, { signed: true })}/month; a month is ${hoursPerMonth} h, prices in ${currency} from cost.prices).`,
  };
  const max = sheet.maxMonthlyIncrease;
  if (max !== undefined) {
    const exceeded = compare(delta, max) > 0;
    const limit = `${money(max, currency, { signed: true })}/month`;
    const text = exceeded
      ? `Over the cost budget: ${money(delta, currency, { signed: true })}/month is more than cost.budget.max_monthly_increase (${limit}); apply refuses it (COST_BUDGET_EXCEEDED) unless run with --approve-cost.`
      : `Within the cost budget of ${limit}.`;
    return { ...plan, changes, cost: { ...total, budget: { maxMonthlyIncrease: decimalText(max), exceeded, text } } };
  }
  return { ...plan, changes, cost: total };
}

function changeCost(change: Change, input: PlanCostInput): { before: Exact | null; after: Exact } {
  const prices = input.sheet.prices(change.environment);
  const key = `${change.environment}\0${change.service}`;
  const measured = input.measured?.get(key);
  const running = input.current.environments[change.environment]?.services[change.service];
  const declared = input.desired.environments.find((e) => e.name === change.environment)?.services[change.service];
  // What runs costs what its recorded config reserves (or, without the record, what is declared, at the instances running).
  const before = running ? monthlyCost(reservationOf(running.config ?? declared ?? {}), running.config?.instances ?? running.runningInstances, prices, measured) : null;
  const after = change.action === "delete" || !declared ? zero : monthlyCost(reservationOf(declared), declared.instances, prices, running ? measured : undefined);
  return { before, after };
}

function texts(cost: { before: Exact | null; after: Exact }, currency: string): ChangeCost {
  const delta = subtract(cost.after, cost.before ?? zero);
  return {
    before: cost.before === null ? null : decimalText(cost.before),
    after: decimalText(cost.after),
    delta: decimalText(delta),
    deltaText: `${money(delta, currency, { signed: true })}/month`,
    text: `${cost.before === null ? "nothing" : money(cost.before, currency)} → ${money(cost.after, currency)}/month`,
  };
}
