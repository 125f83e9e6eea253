/**
 * The `slos:` section of engineroom.yaml: its strict schema, and its parse against the project
 * (services, environments, checks), each problem with its path.
 */
import { z } from "zod";
import { formatDuration, parseDuration } from "../core/index.js";
import { closest, durationSchema, knownKeysAt } from "../config/index.js";
import { latencyBoundsMs } from "../metrics/index.js";
import { burnRules, defaultMinBadEvents, type BurnRule } from "./policy.js";
import { Objective } from "./ratio.js";

const day = 86_400_000;
/** The longest SLO window: a year of hourly history is still a small table. */
export const maxWindowMs = 366 * day;
/** The shortest: a window pair's short window is at least a minute. */
export const minWindowMs = 3_600_000;

/**
 * An SLO window, e.g. 30d or 4w-as-28d. Not a timer (nothing waits this long), so unlike the
 * config's other durations it may pass 24 days.
 */
const windowSchema = durationSchema({
  min: minWindowMs,
  max: maxWindowMs,
  examples: "7d, 28d or 30d",
  outOfRange: (value, ms) => `an SLO window is from 1h to 366d, not ${typeof value === "string" ? value : formatDuration(ms)}`,
});

const thresholdSchema = z.union([z.string(), z.number().int().positive()]).transform((value, ctx) => {
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined || !(latencyBoundsMs as readonly number[]).includes(ms)) {
    // Only a bound of the proxy's latency histogram keeps the share of requests under it exact.
    ctx.addIssue({ code: "custom", message: `a latency threshold must be one of the histogram's bounds, ${latencyBoundsMs.map((b) => formatDuration(b)).join(", ")}; got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** One SLO as written under `slos.<name>`. */
export const sloSchema = z.strictObject({
  service: z.string().min(1),
  kind: z.enum(["availability", "latency", "check"]),
  target: z
    .number()
    .gt(0, "a target is a percentage above 0 and below 100, e.g. 99.9")
    .lt(100, "a target is a percentage above 0 and below 100, e.g. 99.9")
    .refine((t) => /^\d+(\.\d{1,6})?$/.test(String(t)), "a target has at most 6 decimals, e.g. 99.9 or 99.95"),
  window: windowSchema.default(30 * day),
  threshold: thresholdSchema.optional(),
  check: z.string().min(1).optional(),
  environments: z.array(z.string().min(1)).min(1).optional(),
  min_bad_events: z.number().int().min(1).default(defaultMinBadEvents),
});

/** The section's shape, for the JSON Schema; `parseSlos` checks it entry by entry. */
export const slosSectionSchema = z.record(z.string(), sloSchema);

/** An SLO as the engine keeps it, with every default applied. */
export interface SloDefinition {
  name: string;
  service: string;
  kind: "availability" | "latency" | "check";
  /** Percent, as written. */
  target: number;
  objective: Objective;
  windowMs: number;
  /** latency: the bound in ms under which a request is good. */
  thresholdMs?: number;
  /** check: the check whose runs are the events. */
  check?: string;
  /** Where it is kept (and alerts, and guards promotion). */
  environments: string[];
  minBadEvents: number;
  rules: BurnRule[];
}

/** What a section is checked against. */
export interface SloProject {
  services: readonly string[];
  /** The promotion chain, first to last. */
  environments: readonly string[];
  /** Every check the monitor runs (declared and derived); undefined: not known, not checked. */
  checks?: readonly string[];
}

export type SloParse = { ok: true; slos: SloDefinition[] } | { ok: false; problems: { path: (string | number)[]; message: string }[] };

/**
 * Parses `slos:`. Defaults: `window` 30d, `min_bad_events` 10, `environments` every environment of
 * the chain — except a check SLO, whose events do not depend on an environment: it is kept in the
 * last one (production) unless it names one.
 */
export function parseSlos(section: unknown, project: SloProject): SloParse {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const slos: SloDefinition[] = [];
  const name = /^[a-z][a-z0-9-]{0,62}$/;
  const section_ = z.record(z.string(), z.unknown()).safeParse(section ?? {});
  if (!section_.success) return { ok: false, problems: [{ path: [], message: "slos is a map of SLO names to their definitions" }] };
  // Each SLO on its own, so that every problem of every SLO is named at once.
  for (const [sloName, raw] of Object.entries(section_.data)) {
    const parsed = sloSchema.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const at = [sloName, ...(i.path as (string | number)[])];
        if (i.code !== "unrecognized_keys") problems.push({ path: at, message: i.message });
        // An unknown key at its own path, with the keys there are, as the rest of the file names it.
        else for (const key of i.keys) problems.push({ path: [...at, key], message: unknownKeyMessage(key, knownKeysAt(sloSchema, i.path)) });
      }
      continue;
    }
    const s = parsed.data;
    const problem = (key: string | undefined, message: string) => problems.push({ path: key ? [sloName, key] : [sloName], message });
    if (!name.test(sloName)) problem(undefined, "an SLO name uses lowercase letters, digits and dashes, starting with a letter");
    if (!project.services.includes(s.service)) problem("service", `no service "${s.service}" is declared (services: ${project.services.join(", ")})`);
    if (s.kind === "latency" && s.threshold === undefined) problem("threshold", `a latency SLO needs a threshold, one of ${latencyBoundsMs.map((b) => formatDuration(b)).join(", ")}`);
    if (s.kind !== "latency" && s.threshold !== undefined) problem("threshold", "only a latency SLO has a threshold");
    if (s.kind === "check" && s.check === undefined) problem("check", "a check SLO names its check");
    if (s.kind !== "check" && s.check !== undefined) problem("check", "only a check SLO names a check");
    if (s.kind === "check" && s.check !== undefined && project.checks && !project.checks.includes(s.check)) {
      problem("check", `no check "${s.check}" (checks: ${project.checks.join(", ") || "none"})`);
    }
    const environments = s.environments ?? (s.kind === "check" ? [project.environments.at(-1)!] : [...project.environments]);
    environments.forEach((e, i) => {
      if (!project.environments.includes(e)) problems.push({ path: [sloName, "environments", i], message: `no environment "${e}" (the chain is ${project.environments.join(" → ")})` });
    });
    if (s.kind === "check" && environments.length > 1) problem("environments", "a check SLO reads one check: name one environment");
    slos.push({
      name: sloName,
      service: s.service,
      kind: s.kind,
      target: s.target,
      objective: new Objective(s.target),
      windowMs: s.window,
      ...(s.threshold === undefined ? {} : { thresholdMs: s.threshold }),
      ...(s.check === undefined ? {} : { check: s.check }),
      environments: [...new Set(environments)],
      minBadEvents: s.min_bad_events,
      rules: burnRules(s.window),
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, slos };
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  return `unknown key${guess ? ` (did you mean ${guess}?)` : ""}; known keys: ${known.join(", ")}`;
}
