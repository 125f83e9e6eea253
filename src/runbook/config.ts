/**
 * Runbooks as code: `runbooks:` of engineroom.yaml (and the files `runbooks_from:` names), parsed
 * with zod into typed steps. Every step may have a `when` condition (it is skipped when it does not
 * hold), an `abort_if` condition (the run aborts before the step when it holds) and `on_failure`
 * (`abort`, the default, or `continue`). Text fields take `{{service}}`, `{{environment}}`,
 * `{{run}}` and `{{incident}}`.
 */
import { z } from "zod";
import { durationSchema } from "../config/index.js";
import { conditionSchema, metricExpressionSchema, type Condition, type MetricExpression } from "./conditions.js";

const nameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes, starting with a letter");
/** A text field with `{{service}}`, `{{environment}}`, `{{run}}`, `{{incident}}` in it. */
const templated = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    const unknown = unknownPlaceholders(text);
    if (unknown.length) ctx.addIssue({ code: "custom", message: `unknown placeholder ${unknown.join(", ")} (use {{service}}, {{environment}}, {{run}} or {{incident}})` });
  });

/** What every step has besides its own keys. */
const common = {
  name: z.string().min(1).max(80).optional().meta({ description: "The step's name in the run's record (default: `<number>-<type>`)." }),
  when: conditionSchema.optional().meta({ description: "Run the step only if this holds now (else it is skipped)." }),
  abort_if: conditionSchema.optional().meta({ description: "Abort the run before this step if this holds now." }),
  on_failure: z.enum(["abort", "continue"]).default("abort").meta({ description: "abort (default): the run ends failed; continue: go on with the next step." }),
};

/** Which service and environment a changing step acts on (default: the run's). */
const target = {
  service: templated.optional().meta({ description: "Default: the run's service." }),
  environment: templated.optional().meta({ description: "Default: the run's environment." }),
};

const stepSchemas = [
  z.strictObject({ type: z.literal("rollback"), ...target, ...common }).meta({ description: "Switch the service back to its previous release." }),
  z.strictObject({ type: z.literal("restart"), ...target, ...common }).meta({ description: "Restart the instances of the live release one at a time, each replacement healthy before the old one stops." }),
  z
    .strictObject({ type: z.literal("scale"), instances: z.number().int().min(1).max(64), ...target, ...common })
    .meta({ description: "Set the live release's number of instances (an override until the next release or engine start; the declared `instances` stays)." }),
  z
    .strictObject({
      type: z.literal("run"),
      command: templated.meta({ description: "A shell command, run in the project's folder with ENGINEROOM_SERVICE, ENGINEROOM_ENVIRONMENT, ENGINEROOM_RUN (and ENGINEROOM_INCIDENT) set." }),
      timeout: durationSchema({ min: 100, max: 3_600_000, examples: "30s or 5m" }).default(60_000).meta({ description: "Ended (its process group killed) after this long: the step fails. Default 60s." }),
      ...common,
    })
    .meta({ description: "Run a command; its output (stdout and stderr, redacted, the last 16 KiB) is recorded; a non-zero exit fails the step." }),
  z
    .strictObject({
      type: z.literal("wait_for"),
      check: templated.optional().meta({ description: "Wait until this check is up." }),
      metric: metricExpressionSchema.optional().meta({ description: "Wait until this holds over `over`, e.g. `error_rate < 1%`, `p99 < 500ms`, `rps > 1`." }),
      over: durationSchema({ min: 1000, max: 900_000, examples: "30s or 1m" }).default(60_000).meta({ description: "The window of the metric condition (default 1m)." }),
      timeout: durationSchema({ min: 100, max: 3_600_000, examples: "30s or 5m" }).default(300_000).meta({ description: "The step fails if it does not hold within this (default 5m)." }),
      ...common,
    })
    .refine((step) => (step.check === undefined) !== (step.metric === undefined), { message: "a wait_for step waits for one `check` or one `metric` condition" })
    .meta({ description: "Wait until a check is up or a metric condition holds, within `timeout`." }),
  z
    .strictObject({
      type: z.literal("notify"),
      channel: z.string().min(1).meta({ description: "A channel declared under channels:." }),
      message: templated.meta({ description: "What to say." }),
      ...common,
    })
    .meta({ description: "Send a message to a channel." }),
  z
    .strictObject({
      type: z.literal("approve"),
      message: templated.optional().meta({ description: "What the approver is asked." }),
      expires: durationSchema({ min: 1000, max: 7 * 86_400_000, examples: "15m or 1h" }).default(1_800_000).meta({ description: "Without an approval within this, the run aborts (default 30m)." }),
      ...common,
    })
    .meta({ description: "Pause the run until a person (or an agent with the approve scope, not the one that started it) approves; denied or expired: the run aborts." }),
] as const;

export const stepSchema = z.discriminatedUnion("type", stepSchemas);

/** One entry of `runbooks:`. */
export const runbookSchema = z
  .strictObject({
    description: z.string().optional(),
    service: z.string().min(1).optional().meta({ description: "The service it mitigates by default (else `--service` is needed)." }),
    environment: z.string().min(1).optional().meta({ description: "The environment by default (else the last of the chain)." }),
    steps: z.array(stepSchema).min(1).meta({ description: "The steps, in order; an implicit verification follows them." }),
    on_alerts: z.array(z.string().min(1)).default([]).meta({ description: "Alert rules (e.g. check-down, error-rate, release-down) whose firing starts this runbook automatically, as `runbook:` on a metric rule does." }),
    auto_min_severity: z.enum(["page", "ticket", "info"]).default("page").meta({ description: "An automatic run starts only for an alert at least this severe (default page)." }),
    max_auto_runs_per_hour: z.number().int().min(0).max(100).default(3).meta({ description: "At most this many automatic runs per service within an hour (default 3); more are refused, with an event." }),
    allow_auto_in_production: z.boolean().default(false).meta({ description: "An automatic run whose steps change anything (rollback, restart, scale, run) is refused in the last environment of the chain unless this is true (default false)." }),
  })
  .meta({ description: "A runbook: named steps (rollback, restart, scale, run, wait_for, notify, approve), each with `when`, `abort_if` and `on_failure`." });

/** `runbooks:` as written. */
export const runbooksSchema = z.record(nameSchema, runbookSchema).default({});

export type StepConfig = z.output<typeof stepSchema>;
export type StepType = StepConfig["type"];
export type RunbookConfig = z.output<typeof runbookSchema>;

/** A runbook as the runner runs it: its name, its settings and its steps with their names. */
export interface RunbookDefinition extends RunbookConfig {
  name: string;
  /** Where it was declared: `engineroom.yaml`, or a file of `runbooks_from`. */
  source: string;
}

/** Steps that change something: in production an automatic run needs `allow_auto_in_production` for them. */
export const changingSteps: readonly StepType[] = ["rollback", "restart", "scale", "run"];

export function stepName(step: StepConfig, index: number): string {
  return step.name ?? `${index + 1}-${step.type}`;
}

const placeholders = ["service", "environment", "run", "incident"];

function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]!).filter((name) => !placeholders.includes(name)).map((n) => `{{${n}}}`);
}

/** The values of the placeholders of one run. */
export interface TemplateValues {
  service: string;
  environment: string;
  run: string;
  incident: string | null;
}

/** `text` with its placeholders filled in (`{{incident}}` is `none` without one). */
export function fill(text: string, values: TemplateValues): string {
  return text.replace(/\{\{\s*(service|environment|run|incident)\s*\}\}/g, (_, key: keyof TemplateValues) => values[key] ?? "none");
}

export type { Condition, MetricExpression };
