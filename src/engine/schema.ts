import { z } from "zod";
import { alertsConfigSchema } from "../alert/index.js";
import { projectJsonSchema as documentJsonSchema } from "../config/index.js";
import { incidentsSchema } from "../incident/index.js";
import { runbookSchema } from "../runbook/index.js";
import { drillSchema } from "../drill/index.js";
import { postmortemsSchema } from "../postmortem/index.js";
import { checkConfigSchema, monitorSettingsSchema } from "../monitor/index.js";
import { channelConfigSchema } from "../notify/index.js";
import { runtimeConfigSchema } from "../runtime/index.js";
import { secretsConfigSchema } from "../secrets/index.js";
import { sloSchema } from "../slo/index.js";

type JsonSchema = Record<string, unknown>;

/**
 * The sections config/ keeps loose because their schemas live in the layers above it, each with the
 * schema its domain or adapter parses it with at start. `entry`: the section is a map of names (as
 * config/ writes them) to entries of this schema; `whole`: the schema is the section's.
 */
const sections = {
  checks: { entry: checkConfigSchema },
  slos: { entry: sloSchema },
  channels: { entry: channelConfigSchema },
  alerts: { whole: alertsConfigSchema },
  monitor: { whole: monitorSettingsSchema },
  incidents: { whole: incidentsSchema },
  runbooks: { entry: runbookSchema },
  drills: { entry: drillSchema },
  postmortems: { whole: postmortemsSchema },
  runtime: { whole: runtimeConfigSchema },
  secrets: { whole: secretsConfigSchema },
} satisfies Record<string, { entry: z.ZodType } | { whole: z.ZodType }>;

/**
 * The full JSON Schema of engineroom.yaml, for editors (`engineroom schema`): config/'s document,
 * with each section whose schema comes from a registry or a domain (check and channel types, SLOs,
 * alert routing and rules, the scheduler's settings, the runtime, the secret providers) replaced by
 * that strict schema, as the engine checks it at start.
 *
 * @example projectJsonSchema().properties.checks.additionalProperties // oneOf: one schema per check type, by `type`
 */
export function projectJsonSchema(): JsonSchema {
  const document = documentJsonSchema() as JsonSchema & { properties: Record<string, JsonSchema>; $defs?: Record<string, JsonSchema> };
  // One conversion for every section, so that the schemas they share (a recursive route) are defined once.
  const parts = z.object(Object.fromEntries(Object.entries(sections).map(([key, section]) => [key, "entry" in section ? section.entry : section.whole])));
  const converted = z.toJSONSchema(parts, { io: "input", unrepresentable: "any" }) as { properties: Record<string, JsonSchema>; $defs?: Record<string, JsonSchema> };
  const { properties, $defs } = withDefsRenamed(converted, new Set(Object.keys(document.$defs ?? {})));
  const replaced = Object.fromEntries(
    Object.entries(sections).map(([key, section]) => {
      const loose = document.properties[key] ?? {};
      const strict = properties[key]!;
      if ("entry" in section) return [key, { ...loose, additionalProperties: strict }];
      // The section's own description and default, as config/ writes them, over the schema's.
      const kept = Object.fromEntries(["description", "default"].filter((k) => k in loose).map((k) => [k, loose[k]]));
      return [key, { ...strict, ...kept }];
    }),
  );
  const defs = { ...document.$defs, ...$defs };
  return { ...document, properties: { ...document.properties, ...replaced }, ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}) };
}

/** `schema`'s definitions renamed where `taken` holds their names already, and every `$ref` to them with them. */
function withDefsRenamed(schema: { properties: Record<string, JsonSchema>; $defs?: Record<string, JsonSchema> }, taken: Set<string>) {
  const names = new Map<string, string>();
  for (const name of Object.keys(schema.$defs ?? {})) {
    let renamed = name;
    for (let i = 1; taken.has(renamed); i++) renamed = `${name}_${i}`;
    taken.add(renamed);
    names.set(`#/$defs/${name}`, `#/$defs/${renamed}`);
  }
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? (names.get(v) ?? v) : rewrite(v)]));
  };
  const $defs = Object.fromEntries(Object.entries(schema.$defs ?? {}).map(([name, def]) => [names.get(`#/$defs/${name}`)!.slice("#/$defs/".length), rewrite(def)]));
  return { properties: rewrite(schema.properties) as Record<string, JsonSchema>, $defs: $defs as Record<string, JsonSchema> };
}
