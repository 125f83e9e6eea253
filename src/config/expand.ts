import { EngineError } from "../core/index.js";

/**
 * Replaces every `${VAR}` in a config value with the environment variable's value, so that a store
 * URL need not hold its password in engineroom.yaml. A variable that is unset or empty is an error
 * (CONFIG_INVALID naming it and `where`), never an empty string: an empty store URL would quietly
 * start a fresh SQLite store instead of the database meant.
 *
 * @example
 * expandEnvReferences("postgres://app:${DB_PASSWORD}@db/app", "store.url");
 */
export function expandEnvReferences(
  value: string | undefined,
  where: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (value === undefined) return undefined;
  const missing: string[] = [];
  const expanded = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name];
    if (!found) missing.push(name);
    return found ?? "";
  });
  if (missing.length > 0) {
    const variables = [...new Set(missing)];
    const names = variables.map((name) => `$${name}`).join(", ");
    throw new EngineError("CONFIG_INVALID", `${where} refers to ${names}, which ${missing.length > 1 ? "are" : "is"} not set (or empty) in the engine's environment.`, {
      hint: `Set ${names} before starting Engineroom, or write ${where} without it.`,
      details: { path: where, variables },
    });
  }
  return expanded;
}
