/**
 * Metric threshold rules over the proxies' request metrics, as `alerts.rules` declares them, and the
 * defaults every service gets without writing them (`high-latency`, `error-rate`).
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "../../core/index.js";
import type { Severity } from "../types.js";

/** What a rule measures over its window: the error rate (a ratio), a latency percentile, or requests per second. */
export type RuleMetric = "error_rate" | "p95" | "p99" | "rps";

/** A metric rule as the source evaluates it, with every default applied. */
export interface MetricRule {
  name: string;
  metric: RuleMetric;
  op: ">" | "<";
  /** A ratio for `error_rate` (0.05), milliseconds for `p95`/`p99`, requests per second for `rps`. */
  threshold: number;
  /** The window the metric is computed over, ms. */
  forMs: number;
  /** With fewer requests than this in the window the rule does not fire (it resolves if it was firing). */
  minRequests: number;
  /**
   * With fewer bad requests than this in the window the rule does not fire: errors for `error_rate`,
   * requests slower than the threshold for `p95`/`p99` with `>` (0 for the other rules). At 20
   * requests a p99 is the slowest one: without this guard one slow request would page.
   */
  minBad: number;
  severity: Severity;
  /** Only these services (undefined: all). */
  services?: readonly string[];
  /** Only these environments (undefined: all). */
  environments?: readonly string[];
  /** The runbook its firing starts (automatic mitigation), as the alert's `runbook` annotation. */
  runbook?: string;
}

/** The longest window a rule may have: the environments keep 15 minutes of per-second buckets in memory. */
export const maxRuleWindowMs = 15 * 60_000;
/** The shortest: one evaluation period. */
export const minRuleWindowMs = 15_000;
/** The guard of error-rate and latency rules unless a rule says otherwise: a quiet service's one slow request does not page. */
export const defaultMinRequests = 20;
/** The second guard of error-rate and latency (`>`) rules: that many bad requests at least, so that one slow request or one error among a few dozen never pages. */
export const defaultMinBad = 5;

/**
 * The rules every service gets. `high-latency`: more than 1% of the last 5 minutes' requests took
 * longer than 1 s (p99 > 1s) — the issue's "every service gets a default high-latency alert", a
 * page because a slow service is a down service to its users. `error-rate`: more than 5% of the
 * last 5 minutes' requests failed (5xx or no answer), a page. Both need 20 requests in the window,
 * and 5 bad ones (slower than 1 s; failed).
 */
export const defaultMetricRules: readonly MetricRule[] = Object.freeze([
  { name: "high-latency", metric: "p99", op: ">", threshold: 1000, forMs: 300_000, minRequests: defaultMinRequests, minBad: defaultMinBad, severity: "page" },
  { name: "error-rate", metric: "error_rate", op: ">", threshold: 0.05, forMs: 300_000, minRequests: defaultMinRequests, minBad: defaultMinBad, severity: "page" },
]);

const ruleName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes, starting with a letter");

const ruleDuration = z.union([z.string(), z.number().int().nonnegative()]).transform((value, ctx) => {
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration; write it like 30s, 5m or 15m` });
    return z.NEVER;
  }
  if (ms < minRuleWindowMs || ms > maxRuleWindowMs) {
    ctx.addIssue({ code: "custom", message: `a rule's window is from 15s to 15m (the metrics kept in memory), not ${formatDuration(ms)}` });
    return z.NEVER;
  }
  return ms;
});

/**
 * One entry of `alerts.rules`. A rule named like a default (`high-latency`, `error-rate`) overrides
 * it and needs only the keys it changes; any other rule needs `metric`, `op` and `threshold`.
 * `threshold` is a ratio from 0 to 1 for `error_rate` (0.05), a duration for `p95`/`p99` ("1s",
 * "300ms"), a number of requests per second for `rps`.
 */
export const metricRuleSchema = z
  .strictObject({
    name: ruleName,
    metric: z.enum(["error_rate", "p95", "p99", "rps"]).optional(),
    op: z.enum([">", "<"]).optional(),
    threshold: z.union([z.number(), z.string()]).optional(),
    for: ruleDuration.optional(),
    min_requests: z.number().int().nonnegative().optional(),
    min_bad_requests: z.number().int().nonnegative().optional(),
    severity: z.enum(["page", "ticket", "info"]).optional(),
    services: z.array(z.string().min(1)).min(1).optional(),
    environments: z.array(z.string().min(1)).min(1).optional(),
    runbook: z.string().min(1).optional().meta({ description: "A runbook (under runbooks:) its firing starts for the alert's service and environment, within the runbook's guardrails." }),
  })
  .superRefine((rule, ctx) => {
    const base = defaultMetricRules.find((d) => d.name === rule.name);
    for (const key of ["metric", "op", "threshold"] as const) {
      if (!base && rule[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `required (only the default rules ${defaultMetricRules.map((d) => d.name).join(", ")} may leave it out)` });
    }
    const metric = rule.metric ?? base?.metric;
    if (metric === undefined || rule.threshold === undefined) return;
    const problem = thresholdProblem(metric, rule.threshold);
    if (problem) ctx.addIssue({ code: "custom", path: ["threshold"], message: problem });
  })
  .meta({ description: "A threshold over a service's request metrics: `{ name, metric: error_rate | p95 | p99 | rps, op, threshold, for, min_requests, min_bad_requests, severity, services, environments, runbook }`." });

/** The keys of `alerts:` that belong to the metric rules; the alert manager's `alerts:` schema spreads `rulesConfigSchema.shape`. */
export const rulesConfigSchema = z.object({
  rules: z
    .array(metricRuleSchema)
    .default([])
    .superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((rule, i) => {
        if (seen.has(rule.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `a second rule named "${rule.name}"; rule names are unique` });
        seen.add(rule.name);
      });
    })
    .meta({ description: "Metric threshold rules; they add to the defaults (high-latency: p99 > 1s over 5m; error-rate: > 5% over 5m), or override one by its name." }),
  default_rules: z.boolean().default(true).meta({ description: "false: no default high-latency and error-rate rules for every service." }),
});

export type RulesConfig = z.output<typeof rulesConfigSchema>;
export type MetricRuleConfig = z.output<typeof metricRuleSchema>;

function thresholdProblem(metric: RuleMetric, threshold: number | string): string | undefined {
  if (metric === "p95" || metric === "p99") {
    if (typeof threshold === "string" && parseDuration(threshold) !== undefined) return undefined;
    return `a latency threshold is a duration such as "1s" or "300ms", not ${JSON.stringify(threshold)}`;
  }
  if (typeof threshold !== "number" || !Number.isFinite(threshold)) return `the threshold of ${metric} is a number, not ${JSON.stringify(threshold)}`;
  if (metric === "error_rate" && (threshold < 0 || threshold > 1)) return `an error rate is a ratio from 0 to 1 (0.05 for 5%), not ${threshold}`;
  if (threshold < 0) return `requests per second cannot be negative (${threshold})`;
  return undefined;
}

/**
 * The rules in force: the defaults (unless `default_rules: false`), each overridden key by key by a
 * declared rule of its name, then the other declared rules in their order.
 */
export function resolveMetricRules(config: RulesConfig): MetricRule[] {
  const declared = new Map(config.rules.map((rule) => [rule.name, rule]));
  const defaults = config.default_rules ? defaultMetricRules : [];
  const fromDefaults = defaults.map((base) => merge(base, declared.get(base.name)));
  const others = config.rules.filter((rule) => !defaults.some((d) => d.name === rule.name)).map((rule) => merge(undefined, rule));
  return [...fromDefaults, ...others];
}

/** Whether a rule's bad requests can be counted: errors for an error rate above a threshold, slow requests for a percentile above one. */
export function countsBad(rule: Pick<MetricRule, "metric" | "op">): boolean {
  return counts(rule.metric, rule.op);
}

function counts(metric: RuleMetric, op: MetricRule["op"]): boolean {
  return op === ">" && metric !== "rps";
}

function merge(base: MetricRule | undefined, rule: MetricRuleConfig | undefined): MetricRule {
  if (!rule) return { ...base! };
  // Checked by the schema: a rule without a base has metric, op and threshold.
  const metric = (rule.metric ?? base?.metric)!;
  const threshold = rule.threshold === undefined ? base!.threshold : typeof rule.threshold === "string" ? parseDuration(rule.threshold)! : rule.threshold;
  return {
    name: rule.name,
    metric,
    op: (rule.op ?? base?.op)!,
    threshold,
    forMs: rule.for ?? base?.forMs ?? 300_000,
    // A traffic floor makes no sense for a rule about traffic itself (`rps < 1`): it would never fire.
    minRequests: rule.min_requests ?? base?.minRequests ?? (metric === "rps" ? 0 : defaultMinRequests),
    minBad: rule.min_bad_requests ?? base?.minBad ?? (counts(metric, (rule.op ?? base?.op)!) ? defaultMinBad : 0),
    severity: rule.severity ?? base?.severity ?? "page",
    ...((rule.services ?? base?.services) && { services: rule.services ?? base?.services }),
    ...((rule.environments ?? base?.environments) && { environments: rule.environments ?? base?.environments }),
    ...(rule.runbook !== undefined && { runbook: rule.runbook }),
  };
}

/**
 * Rules naming a service or an environment the project does not declare, as `path: message` pairs
 * (the path inside `alerts`), so that a typo fails at start instead of silently matching nothing.
 */
export function unknownRuleTargets(config: RulesConfig, declared: { services: readonly string[]; environments: readonly string[] }): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  config.rules.forEach((rule, i) => {
    rule.services?.forEach((name, j) => {
      if (!declared.services.includes(name)) problems.push({ path: ["rules", i, "services", j], message: `no service named "${name}" (declared: ${declared.services.join(", ")})` });
    });
    rule.environments?.forEach((name, j) => {
      if (!declared.environments.includes(name)) problems.push({ path: ["rules", i, "environments", j], message: `no environment named "${name}" (the chain: ${declared.environments.join(", ")})` });
    });
  });
  return problems;
}
