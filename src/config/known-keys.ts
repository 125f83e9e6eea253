import type { z } from "zod";
import { closest } from "./load.js";

/**
 * The keys of the object schema at `path` inside `schema`, looking through defaults, optionals,
 * pipes, lazies and arrays: what an "unknown key" problem lists, and guesses from.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const segment of [...path, null]) {
    for (let i = 0; i < 20; i++) {
      const def = (node as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
      if (!def) return [];
      if (def.type === "default" || def.type === "optional" || def.type === "nullable" || def.type === "prefault") node = def.innerType;
      else if (def.type === "pipe") node = def.in;
      else if (def.type === "lazy") node = (def.getter as () => unknown)();
      else break;
    }
    const def = (node as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (segment === null) return def.type === "object" ? Object.keys(def.shape as object) : [];
    if (def.type === "array") node = def.element;
    else if (def.type === "record") node = def.valueType;
    else if (def.type === "object") node = (def.shape as Record<PropertyKey, unknown>)[segment];
    else return [];
  }
  return [];
}

/**
 * One problem per unknown key of a zod `unrecognized_keys` issue, at the key's own path:
 * `<section>.<path>.<key>: unknown key (did you mean <guess>?); known keys: …`.
 */
export function unknownKeyProblems(section: string, schema: z.ZodType, path: readonly PropertyKey[], keys: readonly string[]): string[] {
  const known = knownKeysAt(schema, path);
  return keys.map((key) => {
    const guess = closest(key, known);
    const keys_ = known.length ? `; known keys: ${known.join(", ")}` : "";
    return `${[section, ...path, key].join(".")}: unknown key${guess ? ` (did you mean ${guess}?)` : ""}${keys_}`;
  });
}
