/**
 * The conditions of runbook steps (`when`, `abort_if`) and `wait_for`'s metric condition, and their
 * evaluation against what the engine can tell now (a `Situation`). A condition holds when every key
 * it gives holds; each key says why it held or not, for the run's record and the dry run.
 */
import { z } from "zod";
import { durationSchema } from "../config/index.js";
import { formatDuration, parseDuration } from "../core/index.js";

export type MetricName = "error_rate" | "p95" | "p99" | "rps";

/** `error_rate < 1%` parsed: the value is a ratio for error_rate, ms for p95/p99, requests per second for rps. */
export interface MetricExpression {
  metric: MetricName;
  op: "<" | "<=" | ">" | ">=";
  value: number;
  /** As written, for people. */
  text: string;
}

/** Parses `error_rate < 1%`, `p99 <= 500ms`, `rps > 2`; undefined with the problem in `problem`. */
export function parseMetricExpression(text: string): MetricExpression | { problem: string } {
  const m = /^\s*(error_rate|p95|p99|rps)\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(text);
  if (!m) return { problem: `"${text}" is not a metric condition; write it like "error_rate < 1%", "p99 < 500ms" or "rps > 1"` };
  const [, metric, op, raw] = m as unknown as [string, MetricName, MetricExpression["op"], string];
  let value: number | undefined;
  if (metric === "error_rate") value = raw.endsWith("%") ? Number(raw.slice(0, -1)) / 100 : Number(raw);
  else if (metric === "rps") value = Number(raw);
  else value = parseDuration(raw);
  if (value === undefined || !Number.isFinite(value) || value < 0 || (metric === "error_rate" && value > 1)) {
    const expected = metric === "error_rate" ? "a percentage (1%) or a ratio from 0 to 1" : metric === "rps" ? "a number of requests per second" : "a duration such as 500ms";
    return { problem: `"${raw}" in "${text}" is not ${expected}` };
  }
  return { metric, op, value, text: text.trim() };
}

export const metricExpressionSchema = z.string().transform((text, ctx): MetricExpression => {
  const parsed = parseMetricExpression(text);
  if ("problem" in parsed) {
    ctx.addIssue({ code: "custom", message: parsed.problem });
    return z.NEVER;
  }
  return parsed;
});

const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (typeof v === "string" ? [v] : v));

export const conditionSchema = z
  .strictObject({
    environment: names.optional().meta({ description: "The run's environment is this one (or one of these)." }),
    service: names.optional().meta({ description: "The run's service is this one (or one of these)." }),
    automatic: z.boolean().optional().meta({ description: "true: only in a run an alert started; false: only in a run a person started." }),
    alert_firing: z.string().min(1).optional().meta({ description: "An alert of this rule (or `any`) fires for the run's service and environment." }),
    check_down: z.string().min(1).optional().meta({ description: "This check is down." }),
    check_up: z.string().min(1).optional().meta({ description: "This check is up." }),
    metric: metricExpressionSchema.optional().meta({ description: "The service's traffic in the environment meets this over `over`, e.g. `error_rate > 5%`." }),
    over: durationSchema({ min: 1000, max: 900_000, examples: "30s or 1m" }).default(60_000).meta({ description: "The window of `metric` (default 1m)." }),
  })
  .refine((c) => Object.keys(c).some((k) => k !== "over"), { message: "a condition needs at least one of environment, service, automatic, alert_firing, check_down, check_up, metric" })
  .meta({ description: "Holds when every key given holds." });

export type Condition = z.output<typeof conditionSchema>;

/** What a condition reads: the run's target, and the engine's checks, alerts and traffic now. */
export interface Situation {
  service: string;
  environment: string;
  automatic: boolean;
  /** The check's state (`up`, `down`, `unknown`…), or undefined when there is no such check. */
  checkState(name: string): string | undefined;
  /** The rules of the alerts firing now for the service in the environment. */
  firingRules(): readonly string[];
  /** The metric over the last `windowMs` of the service's traffic there: its value (null without requests, for a percentile) and the requests counted. */
  metric(metric: MetricName, windowMs: number): { value: number | null; requests: number };
}

/** A condition judged: whether it holds, and why, one reason per key. */
export interface Judgement {
  holds: boolean;
  reasons: string[];
}

/** `value` against the expression, as people read it (`error rate 0.4% < 1%`). */
export function judgeMetric(expression: MetricExpression, reading: { value: number | null; requests: number }, windowMs: number): Judgement {
  const { value, requests } = reading;
  if (value === null) return { holds: false, reasons: [`${expression.metric}: no requests over ${formatDuration(windowMs)}`] };
  const holds = expression.op === "<" ? value < expression.value : expression.op === "<=" ? value <= expression.value : expression.op === ">" ? value > expression.value : value >= expression.value;
  return { holds, reasons: [`${expression.metric} ${formatMetricValue(expression.metric, value)} over ${formatDuration(windowMs)} (${requests} requests): "${expression.text}" ${holds ? "holds" : "does not hold"}`] };
}

export function formatMetricValue(metric: MetricName, value: number): string {
  if (metric === "error_rate") return `${(Math.round(value * 10_000) / 100).toString()}%`;
  if (metric === "rps") return `${Math.round(value * 100) / 100}/s`;
  return formatDuration(Math.round(value));
}

/** Judges every key of the condition against the situation now. */
export function judge(condition: Condition, s: Situation): Judgement {
  const parts: Judgement[] = [];
  const among = (what: string, list: string[] | undefined, value: string) => {
    if (list) parts.push({ holds: list.includes(value), reasons: [`${what} is ${value}${list.includes(value) ? "" : `, not ${list.join(" or ")}`}`] });
  };
  among("environment", condition.environment, s.environment);
  among("service", condition.service, s.service);
  if (condition.automatic !== undefined) parts.push({ holds: condition.automatic === s.automatic, reasons: [`the run was started ${s.automatic ? "by an alert" : "by hand"}`] });
  if (condition.alert_firing !== undefined) {
    const rules = s.firingRules();
    const holds = condition.alert_firing === "any" ? rules.length > 0 : rules.includes(condition.alert_firing);
    parts.push({ holds, reasons: [`alert ${condition.alert_firing} ${holds ? "fires" : "does not fire"} for ${s.service} in ${s.environment}${rules.length ? ` (firing: ${rules.join(", ")})` : ""}`] });
  }
  for (const [key, wanted] of [["check_down", "down"], ["check_up", "up"]] as const) {
    const check = condition[key];
    if (check === undefined) continue;
    const state = s.checkState(check);
    parts.push({ holds: state === wanted, reasons: [state === undefined ? `no check named ${check}` : `check ${check} is ${state}`] });
  }
  if (condition.metric) parts.push(judgeMetric(condition.metric, s.metric(condition.metric.metric, condition.over), condition.over));
  return { holds: parts.every((p) => p.holds), reasons: parts.flatMap((p) => p.reasons) };
}
