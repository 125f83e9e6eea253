/**
 * A check's config, as written under `checks.<name>` in engineroom.yaml: the keys every check has
 * (type, interval, timeout, thresholds, conditions, degraded conditions, labels, severity, service, environment) and the
 * type's own options, strict. Parsing makes the `CheckDefinition` the scheduler runs, probe included.
 */
import { z } from "zod";
import { closest, durationSchema } from "../../config/index.js";
import { EngineError, formatDuration } from "../../core/index.js";
import { parseCondition, type ParsedCondition } from "./conditions.js";
import { checkTypeNames, checkTypeOf } from "./registry.js";
import type { CheckDefinition, CheckType } from "./types.js";

/** A timer's duration: "500ms", "30s", "5m", "1h", "2d", or a number of ms; at most 24d, as Node's timers wait no longer. */
const duration = durationSchema({ examples: "500ms, 30s, 5m or 1h" });

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes, starting with a letter");
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a label name uses letters, digits and _, and does not start with a digit");

/** The default interval between two runs of a check: 30 s. */
export const defaultIntervalMs = 30_000;
/** The longest default timeout: 10 s (a check with a shorter interval times out at its interval). */
export const defaultTimeoutMs = 10_000;
/** Failures in a row before a check is down, as Gatus' failure-threshold. */
export const defaultFailureThreshold = 3;
/** Passes in a row before a down check is up again, as Gatus' success-threshold. */
export const defaultRecoveryThreshold = 2;

/** The keys every check has, whatever its type. */
export const checkCommonShape = {
  type: z.string().meta({ description: `The check type: ${checkTypeNames.join(", ")}.` }),
  interval: duration
    .refine((ms) => ms >= 1000, "a check runs at most once a second: write 1s or more")
    .default(defaultIntervalMs)
    .meta({ description: "Time between two runs (fixed rate). Default 30s, at least 1s." }),
  timeout: duration
    .refine((ms) => ms > 0, "a timeout is longer than 0")
    .optional()
    .meta({ description: "A run slower than this fails. Default: 10s, or the interval when that is shorter; never longer than the interval." }),
  failure_threshold: z.number().int().min(1).max(100).default(defaultFailureThreshold).meta({ description: "Failures in a row before the check is down. Default 3." }),
  recovery_threshold: z.number().int().min(1).max(100).default(defaultRecoveryThreshold).meta({ description: "Passes in a row before a down check is up again. Default 2." }),
  conditions: z
    .array(z.string())
    .min(1, "list at least one condition, or leave `conditions` out for the type's defaults")
    .optional()
    .meta({ description: "Conditions that must all hold, e.g. `status == 200`, `response_time < 300ms`; default: the type's own." }),
  degraded_conditions: z
    .array(z.string())
    .min(1, "list at least one condition, or leave `degraded_conditions` out")
    .optional()
    .meta({ description: "Conditions a passing run may fail and still pass, marked degraded, e.g. `response_time < 300ms`; default none." }),
  labels: z.record(labelName, z.string()).default({}).meta({ description: "Labels carried into results and alerts." }),
  severity: z.enum(["page", "ticket", "info"]).default("page").meta({ description: "The severity of this check's alerts, put into its labels. Default page." }),
  service: name.optional().meta({ description: "The service it watches, put into its labels so alerts and SLOs can refer to it." }),
  environment: name.optional().meta({ description: "The environment it watches, put into its labels." }),
};
const commonKeys = Object.keys(checkCommonShape);
const commonSchema = z.strictObject(checkCommonShape);
/** Labels set by their own keys, not under `labels`. */
const ownKeyLabels = ["severity", "service", "environment"] as const;

/**
 * One check's config as a single schema, `type:` picking the options that apply: for the JSON
 * Schema (`engineroom schema`) and editors. Parsing goes through `parseChecks`, whose messages name
 * the closest key, field or type.
 */
export const checkConfigSchema = z
  .discriminatedUnion(
    "type",
    checkTypeNames.map((typeName) => z.strictObject({ ...checkCommonShape, type: z.literal(typeName), ...optionShape(checkTypeOf(typeName)!) })) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  )
  .meta({ description: `A check: \`type\` is one of ${checkTypeNames.join(", ")}, with the keys every check has and that type's own options.` });

/** How `defineCheck` names and labels a check. */
export interface DefineCheckOptions {
  /** The check's own path in the config, for messages: `["checks", "web"]`, or `["services", "web", "health"]` for a derived check. */
  path: string[];
  /** True for the checks every service gets without writing them; their names may hold dots (`web.health.production`). */
  derived?: boolean;
  /** Labels the caller sets (a derived check's service and environment); the config's own labels and keys win over them. */
  labels?: Record<string, string>;
  /** The folder relative paths (a command's `cwd`) start in. Default: the process's working folder. */
  dir?: string;
}

/**
 * Parses the `checks:` section: one `CheckDefinition` per entry, its probe made (nothing connects
 * yet). Throws CONFIG_INVALID listing every problem of every check, each as
 * `checks.<name>.<key>: message`, in `details.problems`.
 */
export function parseChecks(section: Record<string, unknown>, options: { path?: string[]; dir?: string } = {}): CheckDefinition[] {
  const path = options.path ?? ["checks"];
  const problems: string[] = [];
  const definitions: CheckDefinition[] = [];
  for (const [checkName, config] of Object.entries(section)) {
    const definition = build(checkName, config, { path: [...path, checkName], dir: options.dir }, problems);
    if (definition) definitions.push(definition);
  }
  if (problems.length > 0) throw configInvalid(problems);
  return definitions;
}

/**
 * Makes one check from its config, as `parseChecks` does for each entry; the scheduler builds
 * every service's own checks with it. `options.path` is the check's own path (problems read
 * `<path>.<key>: message`). Throws CONFIG_INVALID with `details.problems`.
 *
 * @example defineCheck("web.health.production", { type: "http", url: "http://127.0.0.1:8080/health" }, { path: ["services", "web", "health"], derived: true })
 */
export function defineCheck(checkName: string, config: Record<string, unknown>, options: DefineCheckOptions): CheckDefinition {
  const problems: string[] = [];
  const definition = build(checkName, config, options, problems);
  if (!definition || problems.length > 0) throw configInvalid(problems);
  return definition;
}

type At = (...keys: (string | number)[]) => string;

function build(checkName: string, config: unknown, options: DefineCheckOptions, problems: string[]): CheckDefinition | undefined {
  const at: At = (...keys) =>
    [...options.path, ...keys].reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${key}` : key), "");
  const before = problems.length;
  const namePattern = options.derived ? /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/ : /^[a-z][a-z0-9-]{0,62}$/;
  if (!namePattern.test(checkName)) {
    problems.push(`${at()}: a check's name uses lowercase letters, digits and dashes, starting with a letter${options.derived ? " (dots between parts)" : ""}`);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    problems.push(`${at()}: expected a mapping of keys (type, interval, conditions, …), got ${Array.isArray(config) ? "a list" : config === null ? "nothing" : typeof config}`);
    return undefined;
  }
  const common: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) (commonKeys.includes(key) ? common : own)[key] = value;

  // Every key is looked at even when another is wrong, so that one pass names every mistake.
  const type = typeOf(common.type, at, problems);
  const knownKeys = [...commonKeys, ...(type ? optionKeys(type) : [])];
  const parsedCommon = commonSchema.safeParse(common);
  if (!parsedCommon.success) problems.push(...parsedCommon.error.issues.filter((issue) => issue.path[0] !== "type").flatMap((issue) => describe(issue, at, knownKeys)));
  const parsedOwn = type?.options.safeParse(own);
  if (parsedOwn && !parsedOwn.success) problems.push(...parsedOwn.error.issues.flatMap((issue) => describe(issue, at, knownKeys)));
  if (!type) return undefined;
  const conditions = readConditions(type, parsedCommon.success ? (parsedCommon.data.conditions ?? type.defaultConditions) : common.conditions, at, problems);
  const degradedConditions = readConditions(type, common.degraded_conditions, at, problems, "degraded_conditions");
  const { intervalMs, timeoutMs } = timing(common, at, problems);
  const writtenLabels = common.labels !== null && typeof common.labels === "object" ? common.labels : {};
  for (const key of ownKeyLabels) {
    if (Object.hasOwn(writtenLabels, key)) problems.push(`${at("labels", key)}: set it with the check's own \`${key}\` key, not under labels`);
  }
  if (!parsedCommon.success || !parsedOwn?.success || problems.length > before) return undefined;

  const settings = parsedCommon.data;
  const labels: Record<string, string> = { ...options.labels, ...settings.labels, severity: settings.severity };
  // Whether `service` names a declared service is the engine's to check: this folder cannot see services.
  if (settings.service !== undefined) labels.service = settings.service;
  if (settings.environment !== undefined) labels.environment = settings.environment;
  const probe = type.create(parsedOwn.data, { reads: [...conditions, ...degradedConditions].map((c) => c.field), timeoutMs, dir: options.dir ?? process.cwd() });
  return Object.freeze({
    name: checkName,
    type: common.type as string,
    intervalMs,
    timeoutMs,
    failureThreshold: settings.failure_threshold,
    recoveryThreshold: settings.recovery_threshold,
    labels: Object.freeze(labels),
    conditions: Object.freeze(conditions),
    degradedConditions: Object.freeze(degradedConditions),
    probe,
    derived: options.derived ?? false,
  });
}

/** The registry's entry for `type:`, or a problem saying which types there are. */
function typeOf(typeName: unknown, at: At, problems: string[]): CheckType | undefined {
  const type = typeof typeName === "string" ? checkTypeOf(typeName) : undefined;
  if (typeName === undefined) problems.push(`${at("type")}: missing; it is required (one of ${checkTypeNames.join(", ")})`);
  else if (!type) {
    const guess = typeof typeName === "string" ? closest(typeName, checkTypeNames) : undefined;
    problems.push(`${at("type")}: unknown type ${JSON.stringify(typeName)}${guess ? ` (did you mean ${guess}?)` : ""}; types: ${checkTypeNames.join(", ")}`);
  }
  return type;
}

/** The conditions, each against the type's fields; a list that is not one was named by the schema already. */
function readConditions(type: CheckType, sources: unknown, at: At, problems: string[], key = "conditions"): ParsedCondition[] {
  const conditions: ParsedCondition[] = [];
  if (!Array.isArray(sources)) return conditions;
  sources.forEach((source: unknown, index) => {
    if (typeof source !== "string") return;
    try {
      conditions.push(parseCondition(source, type.fields, type.checkField?.bind(type)));
    } catch (error) {
      problems.push(`${at(key, index)}: ${(error as Error).message}`);
    }
  });
  return conditions;
}

/** Interval and timeout, read on their own keys so that a timeout longer than the interval is named whatever else is wrong. */
function timing(common: Record<string, unknown>, at: At, problems: string[]): { intervalMs: number; timeoutMs: number } {
  const interval = checkCommonShape.interval.safeParse(common.interval);
  const timeout = checkCommonShape.timeout.safeParse(common.timeout);
  const intervalMs = interval.data ?? defaultIntervalMs;
  const timeoutMs = timeout.data ?? Math.min(defaultTimeoutMs, intervalMs);
  if (interval.success && timeout.success && timeoutMs > intervalMs) {
    problems.push(
      `${at("timeout")}: ${formatDuration(timeoutMs)} is longer than the interval (${formatDuration(intervalMs)}); a run must end before the next one starts: shorten the timeout or lengthen the interval`,
    );
  }
  return { intervalMs, timeoutMs };
}

/** The options of a type as a zod shape (every registered type's options are a strict object). */
function optionShape(type: CheckType): Record<string, z.ZodType> {
  return (type.options as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
}

/** The option keys of a type, for "known keys" and "did you mean" hints. */
function optionKeys(type: CheckType): string[] {
  return Object.keys(optionShape(type));
}

/** One zod issue as problems (an unknown-keys issue is one problem per key), each `<path>: message`. */
function describe(issue: z.core.$ZodIssue, at: At, knownKeys: string[]): string[] {
  const keys = issue.path.filter((key): key is string | number => typeof key !== "symbol");
  if (issue.code === "unrecognized_keys" && keys.length === 0) {
    return issue.keys.map((key) => {
      const guess = closest(key, knownKeys);
      return `${at(key)}: unknown key${guess ? ` (did you mean ${guess}?)` : ""}; known keys: ${knownKeys.join(", ")}`;
    });
  }
  if (issue.code === "unrecognized_keys") return issue.keys.map((key) => `${at(...keys, key)}: unknown key`);
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) return [`${at(...keys)}: missing; it is required (${issue.expected})`];
  if (issue.code === "invalid_key") return [`${at(...keys)}: ${issue.issues.map((inner) => inner.message).join("; ")}`];
  return [`${at(...keys)}: ${issue.message}`];
}

function configInvalid(problems: string[]): EngineError {
  return new EngineError("CONFIG_INVALID", `${problems.length === 1 ? "a check is" : "checks are"} not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
    details: { problems },
  });
}
