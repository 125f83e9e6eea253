import { formatDuration } from "../core/index.js";

/** A reference to a secret as an env value holds it: the name (and provider), never the value. */
export interface SecretReference {
  secret: string;
  provider?: string;
}

/**
 * True for an env value that names a secret (`{ secret: "db_password" }`). Such a value is a leaf
 * for the plan: compared and shown as the reference, never descended into, never looked up.
 */
export function isSecretReference(value: unknown): value is SecretReference {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as SecretReference).secret === "string";
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep equality of config values (JSON data: no cycles, no class instances). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = definedKeys(a);
    return keys.length === definedKeys(b).length && keys.every((key) => b[key] !== undefined && sameValue(a[key], b[key]));
  }
  return false;
}

/** Keys whose value is not undefined: an optional key left out and one set to undefined are the same. */
export function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

/** Config keys whose numbers are milliseconds (the schema's durations), shown as 5s, 1m. */
const durationKeys = new Set(["interval", "timeout", "start_timeout", "watch", "drain_timeout", "stop_grace", "window", "backoff", "max_backoff", "baseline", "max_p95"]);

/**
 * A config value the way a plan shows it: strings quoted, durations as `5s`, a secret reference as
 * `(secret db_password)` — only its name and provider, which is all the config holds — and a
 * missing value as `(none)`. `key` is the attribute's last path segment, for durations.
 *
 * @example
 * formatValue({ secret: "db_password", provider: "vault" }); // "(secret db_password from vault)"
 * formatValue(5000, "timeout");                              // "5s"
 */
export function formatValue(value: unknown, key?: string): string {
  if (value === undefined) return "(none)";
  if (isSecretReference(value)) return `(secret ${value.secret}${value.provider ? ` from ${value.provider}` : ""})`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" && key !== undefined && durationKeys.has(key)) return formatDuration(value);
  if (Array.isArray(value)) return `[${value.map((item) => formatValue(item)).join(", ")}]`;
  if (isRecord(value)) {
    const entries = definedKeys(value)
      .sort()
      .map((k) => `${pathKey(k)}: ${formatValue(value[k], k)}`);
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  return String(value);
}

/** A key as a path segment: bare when it reads as a name, quoted in brackets otherwise. */
export function pathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
}

/** The last named segment of a diff path (`smoke[0].timeout` → `timeout`), for formatValue. */
export function lastKey(path: string): string | undefined {
  return /([A-Za-z_][A-Za-z0-9_-]*)(?:\[\d+\])*$/.exec(path)?.[1];
}
