import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import yaml from "js-yaml";
import type { z } from "zod";
import { EngineError } from "../core/index.js";
import { resolveEnvironments } from "./environments.js";
import { projectSchema, type ProjectConfig, type ServiceConfig } from "./schema.js";

/** A validated project and where it came from. Frozen: nothing changes it after start-up. */
export interface LoadedProject {
  readonly config: ProjectConfig;
  /** Absolute path of engineroom.yaml. */
  readonly file: string;
  /** The folder of engineroom.yaml; relative paths in the config are relative to it. */
  readonly dir: string;
  /** Absolute path of the state folder. */
  readonly stateDir: string;
  /** sha256 of the file's bytes. */
  readonly fileHash: string;
}

export const defaultConfigFile = "engineroom.yaml";

/** Reads, parses and validates engineroom.yaml. Throws CONFIG_NOT_FOUND, CONFIG_PARSE or CONFIG_INVALID. */
export function loadProject(file: string): LoadedProject {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new EngineError("CONFIG_NOT_FOUND", `No config file at ${path}.`);
  }
  const text = readFileSync(path, "utf8");
  const config = parseProject(text, path);
  const dir = dirname(path);
  return deepFreeze({
    config,
    file: path,
    dir,
    stateDir: resolve(dir, config.state_dir),
    fileHash: createHash("sha256").update(text).digest("hex"),
  });
}

/** Parses and validates the text of an engineroom.yaml. `source` names it in error messages. */
export function parseProject(text: string, source = defaultConfigFile): ProjectConfig {
  // js-yaml: about ten times faster than the `yaml` package on a large file (a project of thousands
  // of services plans in well under the 2 s budget), and it refuses duplicate keys too.
  let raw: Record<string, unknown>;
  try {
    raw = (yaml.load(text, { filename: source }) ?? {}) as Record<string, unknown>;
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    throw new EngineError("CONFIG_PARSE", `${source}${mark ? `:${mark.line + 1}:${mark.column + 1}` : ""}: ${reason}`);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new EngineError("CONFIG_INVALID", `${source} is not valid:\n  - (top level): expected a mapping of keys (project, services, …), got ${Array.isArray(raw) ? "a list" : typeof raw}`);
  }
  const result = projectSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => describeIssue(issue));
  const resolved = result.success ? resolveEnvironments(result.data, raw) : undefined;
  for (const problem of resolved?.problems ?? []) problems.push(`${problem.path.join(".")}: ${problem.message}`);
  if (problems.length > 0 || !resolved?.config) {
    throw new EngineError("CONFIG_INVALID", `${source} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
      details: { problems },
    });
  }
  return resolved.config;
}

/** sha256 of a service's resolved config, with keys sorted so that key order in the YAML does not matter. */
export function serviceConfigHash(service: ServiceConfig): string {
  return "sha256:" + createHash("sha256").update(stableStringify(service)).digest("hex");
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.length ? issue.path.join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    return issue.keys
      .map((key) => {
        const known = knownKeysAt(issue.path);
        const guess = closest(key, known);
        const hint = guess ? `; did you mean "${guess}"?` : known.length ? `; known keys: ${known.join(", ")}` : "";
        return `${issue.path.length ? at + "." : ""}${key}: unknown key${hint}`;
      })
      .join("\n  - ");
  }
  if (issue.code === "invalid_key") {
    // A record's key (a service or environment name) broke its rule: say which rule.
    return `${at}: ${issue.issues.map((inner) => inner.message).join("; ")}`;
  }
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
    return `${at}: missing; it is required (${issue.expected})`;
  }
  return `${at}: ${issue.message}`;
}

/** The keys the schema allows in the object at `path`, for "did you mean" hints. */
function knownKeysAt(path: PropertyKey[]): string[] {
  let node: unknown = projectSchema;
  for (const segment of [...path, null]) {
    // Unwrap defaults, optionals, pipes and effects until an object, record or array shows.
    for (let i = 0; i < 10; i++) {
      const def = (node as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
      if (!def) return [];
      if (def.type === "default" || def.type === "optional" || def.type === "nullable") node = def.innerType;
      else if (def.type === "pipe") node = def.in;
      else break;
    }
    const def = (node as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (segment === null) return def.type === "object" ? Object.keys(def.shape as object) : [];
    if (def.type === "object") node = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === "record") node = def.valueType;
    else if (def.type === "array") node = def.element;
    else return [];
  }
  return [];
}

/** The candidate nearest to a misspelt word (edit distance), if it is near enough to be what was meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
