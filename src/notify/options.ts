import { z } from "zod";
import { durationSchema, secretRefSchema } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { ChannelSecretRef } from "./types.js";

/** A timeout written as "10s", "500ms", "1m" (or milliseconds), at most 24d like every timer of the config. */
export function timeoutSchema(defaultMs: number) {
  return durationSchema({ min: 1, examples: "500ms, 10s or 1m" })
    .default(defaultMs)
    .meta({ description: `The longest one attempt may take, e.g. "10s" (default ${defaultMs / 1000}s).` });
}

/** A value written in the config or, better for anything that grants access, a reference to a secret. */
export const textOrSecret = z.union([z.string().min(1), secretRefSchema]);

/** A value that must be a secret reference (a password never sits in engineroom.yaml, which is kept in git). */
export const secretOnly = z.union([
  secretRefSchema,
  z.string().refine(() => false, "write { secret: name }: this value is never written in engineroom.yaml (`engineroom secrets set <name>` stores it)"),
]);

/** An http(s) URL written in the config; a URL from a secret is checked once resolved (see `httpUrl`). */
export const urlOrSecret = z.union([
  z.string().refine((value) => isHttpUrl(value), "write an http:// or https:// URL, or { secret: name } for one that holds a token"),
  secretRefSchema,
]);

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * The URL a channel posts to, checked after secrets are resolved. The message never holds the
 * value: a webhook URL often carries its token in the path.
 */
export function httpUrl(value: string, path: string): URL {
  if (!isHttpUrl(value)) {
    throw new EngineError("CONFIG_INVALID", `${path} is not an http:// or https:// URL (its value is not shown: it may hold a token).`, { details: { problems: [`${path}: not an http(s) URL`] } });
  }
  return new URL(value);
}

/** A secret reference found in a channel's options, with where it sits (`channels.<name>.<key>…`). */
export interface FoundChannelSecret {
  path: string;
  ref: ChannelSecretRef;
}

function isRef(value: unknown): value is ChannelSecretRef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return typeof (value as { secret?: unknown }).secret === "string" && keys.every((k) => k === "secret" || k === "provider");
}

/** Every secret reference inside `value`, depth first, with its dotted path under `prefix`. */
export function findSecretRefs(value: unknown, prefix: string): FoundChannelSecret[] {
  if (isRef(value)) return [{ path: prefix, ref: value }];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => findSecretRefs(inner, `${prefix}.${key}`));
}

/** A copy of `value` with each secret reference replaced by `values.get(<its path>)`. */
export function withSecrets(value: unknown, prefix: string, values: ReadonlyMap<string, string>): unknown {
  if (isRef(value)) {
    const found = values.get(prefix);
    if (found === undefined) throw new EngineError("INTERNAL", `The secret for ${prefix} was not resolved.`);
    return found;
  }
  if (Array.isArray(value)) return value.map((inner, i) => withSecrets(inner, `${prefix}.${i}`, values));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withSecrets(inner, `${prefix}.${key}`, values)]));
}
