/**
 * Runbooks: named steps declared as code (`runbooks:` and `runbooks_from:` of engineroom.yaml) —
 * rollback, restart, scale, run, wait_for, notify, approve — each with `when`, `abort_if` and
 * `on_failure`; dry runs that resolve every step; real runs recorded step by step in the store and
 * the event log, attached to their incident, ended by an independent verification; and automatic
 * mitigation from firing alerts, within guardrails.
 */
export { runbookSchema, runbooksSchema, stepSchema, changingSteps, fill, stepName, type RunbookConfig, type RunbookDefinition, type StepConfig, type StepType, type TemplateValues } from "./config.js";
export { conditionSchema, judge, judgeMetric, parseMetricExpression, formatMetricValue, type Condition, type Judgement, type MetricExpression, type MetricName, type Situation } from "./conditions.js";
export type { LiveView, RunbookActions } from "./actions.js";
export { loadRunbooks, type Declared, type LoadResult } from "./load.js";
export { productionGuard, resolveStep, type ResolvedStep } from "./plan.js";
export { RunbookRunner, type Decision, type RunRequest, type RunbookDryRun, type RunbookRunnerOptions } from "./runner.js";
export { alertFeed, runbooksFor, startForAlert, type AlertFeedOptions, type AutoStart, type FiringAlert } from "./automatic.js";
export { runbookNotice, runLabels } from "./steps.js";
export { runCommand, outputCap, type CommandResult } from "./command.js";
