/**
 * Gathers the runbooks of a project: `runbooks:` of engineroom.yaml and each file `runbooks_from:`
 * names (YAML, a `runbooks:` map or the map itself), each parsed against the runbook schema and
 * against what the project declares (services, environments, channels). Problems carry their path.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import yaml from "js-yaml";
import type { z } from "zod";
import { closest, unknownKeyProblems } from "../config/index.js";
import { runbooksSchema, stepSchema, type RunbookDefinition } from "./config.js";

export interface Declared {
  services: readonly string[];
  environments: readonly string[];
  channels: readonly string[];
}

/** The runbooks, and the problems (none: all is well); `names` are every name declared, even with problems. */
export interface LoadResult {
  runbooks: RunbookDefinition[];
  names: string[];
  problems: string[];
}

/**
 * The runbooks of `runbooks` (as written in engineroom.yaml) and of the files of `from`
 * (relative to `dir`). A name declared twice is a problem.
 */
export function loadRunbooks(input: { runbooks: unknown; from: readonly string[]; dir: string; file: string; declared: Declared }): LoadResult {
  const problems: string[] = [];
  const runbooks: RunbookDefinition[] = [];
  const sources: { section: string; source: string; value: unknown }[] = [{ section: "runbooks", source: isAbsolute(input.file) ? relative(input.dir, input.file) : input.file, value: input.runbooks ?? {} }];
  input.from.forEach((path, i) => {
    const full = isAbsolute(path) ? path : resolve(input.dir, path);
    const shown = relative(input.dir, full) || path;
    try {
      const document = yaml.load(readFileSync(full, "utf8")) as Record<string, unknown> | null;
      const value = document && typeof document === "object" && "runbooks" in document ? document.runbooks : (document ?? {});
      sources.push({ section: `${shown}: runbooks`, source: shown, value });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(`runbooks_from.${i}: ${code === "ENOENT" ? `no file ${shown}` : `${shown} cannot be read: ${(error as Error).message.split("\n")[0]}`}`);
    }
  });
  for (const { section, source, value } of sources) {
    const parsed = runbooksSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...issues(section, parsed.error.issues, value));
      continue;
    }
    for (const [name, runbook] of Object.entries(parsed.data)) {
      const where = `${section}.${name}`;
      if (runbooks.some((r) => r.name === name)) problems.push(`${where}: a second runbook named "${name}" (the first is in ${runbooks.find((r) => r.name === name)!.source})`);
      problems.push(...targetProblems(where, runbook, input.declared));
      runbooks.push({ ...runbook, name, source });
    }
  }
  const names = [...new Set([...runbooks.map((r) => r.name), ...sources.flatMap((s) => (s.value && typeof s.value === "object" ? Object.keys(s.value) : []))])];
  return { runbooks, names, problems };
}

function issues(section: string, list: readonly z.core.$ZodIssue[], value: unknown): string[] {
  return list.flatMap((issue) => {
    if (issue.code !== "unrecognized_keys") return [`${[section, ...issue.path].join(".")}: ${issue.message}`];
    const known = stepKeys(issue.path, value);
    if (!known) return unknownKeyProblems(section, runbooksSchema, issue.path, issue.keys);
    // A step's keys are those of its type (the union's option), which the generic walk cannot tell.
    return issue.keys.map((key) => {
      const guess = closest(key, known);
      return `${[section, ...issue.path, key].join(".")}: unknown key${guess ? ` (did you mean ${guess}?)` : ""}; known keys: ${known.join(", ")}`;
    });
  });
}

/** The keys of the step at `path` (`<runbook>.steps.<i>`), by its type; undefined when the path is not a step. */
function stepKeys(path: readonly PropertyKey[], value: unknown): string[] | undefined {
  if (path.length !== 3 || path[1] !== "steps") return undefined;
  const step = (value as Record<string, { steps?: { type?: unknown }[] }>)?.[String(path[0])]?.steps?.[Number(path[2])];
  const option = stepSchema.options.find((o) => o.shape.type.value === step?.type);
  return option && Object.keys(option.shape);
}

/** Names that must be declared: services, environments (unless templated) and channels. */
function targetProblems(where: string, runbook: z.output<typeof runbooksSchema>[string], declared: Declared): string[] {
  const problems: string[] = [];
  const check = (path: string, value: string | undefined, list: readonly string[], what: string) => {
    if (value === undefined || value.includes("{{") || list.includes(value)) return;
    problems.push(`${path}: no ${what} named "${value}" (declared: ${list.join(", ") || "none"})`);
  };
  check(`${where}.service`, runbook.service, declared.services, "service");
  check(`${where}.environment`, runbook.environment, declared.environments, "environment");
  runbook.steps.forEach((step, i) => {
    const own = step as { service?: string; environment?: string; channel?: string };
    check(`${where}.steps.${i}.service`, own.service, declared.services, "service");
    check(`${where}.steps.${i}.environment`, own.environment, declared.environments, "environment");
    if (step.type === "notify") check(`${where}.steps.${i}.channel`, own.channel, declared.channels, "channel under channels:");
    for (const key of ["when", "abort_if"] as const) {
      const condition = step[key];
      condition?.environment?.forEach((e) => check(`${where}.steps.${i}.${key}.environment`, e, declared.environments, "environment"));
      condition?.service?.forEach((s) => check(`${where}.steps.${i}.${key}.service`, s, declared.services, "service"));
    }
  });
  return problems;
}
