/**
 * SLOs: the request history the proxies' counters fill (RequestRecorder), error budgets and burn
 * rates computed exactly from bucketed counts, the SRE workbook's multi-window multi-burn-rate
 * alerts with a low-traffic guard, and the budget guardrail of promotions.
 */
export { parseSlos, sloSchema, slosSectionSchema, type SloDefinition, type SloParse, type SloProject } from "./config.js";
export { RequestRecorder, type RecorderOptions } from "./recorder.js";
export { SloEvaluator, burnRule, burnSignal, type EvaluatorOptions } from "./evaluator.js";
export { evaluateSlo, latencyEvents, type AlertState, type CheckCounts, type EventCounts, type SloSources, type SloStatus, type WindowBurn } from "./status.js";
export { burnRules, defaultMinBadEvents, describePolicy, type BurnRule, type BurnSeverity, type WindowPair } from "./policy.js";
export { Objective, decimalFraction, toDecimal, type Fraction } from "./ratio.js";
export { guardPromotion, type BudgetOverride } from "./guard.js";
