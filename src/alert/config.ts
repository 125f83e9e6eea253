/**
 * The `alerts:` section of engineroom.yaml: the route tree (Alertmanager's, with its defaults),
 * inhibition rules, silence and noise settings, and the metric rules of the sources. Parsed by the
 * engine at start; a problem is CONFIG_INVALID naming its path (`alerts.route.routes.0.receiver`).
 */
import { z } from "zod";
import { durationSchema, unknownKeyProblems } from "../config/index.js";
import { EngineError } from "../core/index.js";
import { parseMatcher } from "./matchers.js";
import { rulesConfigSchema } from "./sources/index.js";

const duration = durationSchema({ examples: "30s, 5m, 4h or 7d" }).meta({ description: 'A duration such as "30s", "5m", "4h", "7d", or a number of milliseconds; at most 24d.' });

const positiveDuration = duration.refine((ms) => ms > 0, { message: "must be longer than 0" });

const matcher = z.string().superRefine((text, ctx) => {
  const parsed = parseMatcher(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
});

const receiver = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .meta({ description: "A channel declared under `channels:`, or a list of them." });

const timing = {
  receiver: receiver.optional(),
  group_by: z.array(z.string().min(1)).optional().meta({ description: 'Labels whose values make a group; ["..."] groups by every label.' }),
  group_wait: duration.optional(),
  group_interval: positiveDuration.optional(),
  repeat_interval: positiveDuration.optional(),
  send_resolved: z.boolean().optional(),
};

export interface ChildRouteConfig {
  matchers: string[];
  receiver?: string | string[];
  group_by?: string[];
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  send_resolved?: boolean;
  continue: boolean;
  routes: ChildRouteConfig[];
}

const childRoute: z.ZodType<ChildRouteConfig, unknown> = z.lazy(() =>
  z.strictObject({
    matchers: z.array(matcher).default([]),
    ...timing,
    continue: z.boolean().default(false),
    routes: z.array(childRoute).default([]),
  }),
);

const route = z
  .strictObject({
    ...timing,
    group_by: timing.group_by.default(["alertname", "service", "environment"]),
    group_wait: duration.default(30_000),
    group_interval: positiveDuration.default(300_000),
    repeat_interval: positiveDuration.default(4 * 3_600_000),
    send_resolved: z.boolean().default(true).meta({ description: "Notify when a group's alerts resolve (every channel type; default true)." }),
    routes: z.array(childRoute).default([]),
  })
  .meta({ description: "The root of the route tree: its receiver, grouping and timing are every route's defaults." });

const inhibitRule = z.strictObject({
  source_matchers: z.array(matcher).min(1),
  target_matchers: z.array(matcher).min(1),
  equal: z.array(z.string().min(1)).default([]),
});

export const alertsConfigSchema = z
  .strictObject({
    route: route.default(() => route.parse({})),
    inhibit_rules: z.array(inhibitRule).default([]),
    silences: z
      .strictObject({
        max_duration: positiveDuration.default(7 * 86_400_000),
        expire_unused_after: positiveDuration.default(86_400_000),
      })
      .default({ max_duration: 7 * 86_400_000, expire_unused_after: 86_400_000 }),
    noise: z
      .strictObject({
        self_resolve_within: positiveDuration.default(300_000),
        action_within: positiveDuration.default(30 * 60_000),
      })
      .default({ self_resolve_within: 300_000, action_within: 30 * 60_000 }),
    ...rulesConfigSchema.shape,
  })
  .meta({ description: "Alert routing, inhibition, silences, noise measurement and metric rules." });

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type RootRouteConfig = AlertsConfig["route"];

/**
 * The `alerts:` schema for a project whose `channels:` declares `channels`: every receiver must name
 * one of them.
 */
export function alertsSchemaFor(channels: readonly string[]) {
  return alertsConfigSchema.superRefine((config, ctx) => {
    const check = (value: string | string[] | undefined, path: (string | number)[]) => {
      if (value === undefined) return;
      const names = typeof value === "string" ? [value] : value;
      names.forEach((name, i) => {
        if (channels.includes(name)) return;
        const declared = channels.length ? `declared: ${channels.join(", ")}` : "no channel is declared";
        ctx.addIssue({ code: "custom", path: typeof value === "string" ? path : [...path, i], message: `no channel named "${name}" under channels: (${declared})` });
      });
    };
    const walk = (routes: readonly ChildRouteConfig[], path: (string | number)[]) =>
      routes.forEach((r, i) => {
        check(r.receiver, [...path, i, "receiver"]);
        walk(r.routes, [...path, i, "routes"]);
      });
    check(config.route.receiver, ["route", "receiver"]);
    walk(config.route.routes, ["route", "routes"]);
  });
}

/**
 * Parses the `alerts:` section (`file` names the config in the message): CONFIG_INVALID listing
 * `alerts.<path>: <problem>` per problem, in `details.problems` too.
 */
export function parseAlertsConfig(value: unknown, channels: readonly string[], file = "engineroom.yaml"): AlertsConfig {
  const parsed = alertsSchemaFor(channels).safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  // An unknown key is named at its own path, with the keys there are (as checks and the rest of the file do).
  const problems = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? unknownKeyProblems("alerts", alertsConfigSchema, issue.path, issue.keys)
      : [`${["alerts", ...issue.path].join(".")}: ${issue.message}`],
  );
  throw new EngineError("CONFIG_INVALID", `${file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
}
