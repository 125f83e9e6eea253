/**
 * The plan domain: what apply would change, environment × service, between what engineroom.yaml
 * declares and what runs and was recorded. Pure: the engine gathers the CurrentState (store, runtime,
 * proxy, config snapshots) and applies the steps; this only compares, renders and hashes.
 */
export type {
  ApplyStep,
  AttributeDiff,
  Change,
  ChangeAction,
  ChangeCost,
  CurrentEnvironment,
  CurrentService,
  CurrentState,
  DesiredEnvironment,
  DesiredState,
  DriftNote,
  LiveRelease,
  Plan,
  PlanCost,
  PlanOptions,
  PlanSummary,
} from "./types.js";
export { desiredState, plan, summarize } from "./plan.js";
export { diffServiceConfigs } from "./diff.js";
export { planHash } from "./hash.js";
export { renderPlan, summaryLine, type RenderOptions } from "./render.js";
export { planToJson, parsePlan, staleReason } from "./json.js";
export { formatValue, isSecretReference, type SecretReference } from "./values.js";
