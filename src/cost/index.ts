/**
 * Cost: the price sheet (`cost:`, OpenCost's keys), what instances reserve (`resources:`) and use
 * (measured by the runtime), and cost = max(reserved, used) × time × price per resource, exactly —
 * per service, environment, release and 1,000 requests, with idle cost apart; the monthly cost change
 * of a plan and its budget guardrail.
 */
export { PriceSheet, hoursPerMonth, priceSheetOf, reservationColumns, reservationOf, type Prices, type Reservation } from "./sheet.js";
export { addParts, bucketCost, meanUse, money, monthlyCost, noCost, type CostParts, type MeasuredUse } from "./math.js";
export { withCost, type PlanCostInput } from "./plan-cost.js";
export { costDefinition, costFigure, unpricedCost, type CostAmounts, type CostFigure, type CostRow, type ReleaseCostRow } from "./report-cost.js";
