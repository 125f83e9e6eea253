import type { ServiceConfig } from "../config/index.js";
import type { AttributeDiff } from "./types.js";
import { definedKeys, isRecord, isSecretReference, pathKey, sameValue } from "./values.js";

/**
 * Paths compared as one value. A service's routes are one routing table: a list of them reads
 * better whole (`routes: [...] → [...]`) than as `routes[1].path` changes.
 */
const wholeValuePaths = new Set(["routes"]);

/**
 * The attribute-level differences between a live release's recorded config and the declared one,
 * sorted by path: objects are compared key by key, lists element by element (an element only on one
 * side is added or removed whole), secret references and `routes` as whole values.
 *
 * Call it only when the configs' hashes differ: it walks both trees.
 *
 * @example
 * diffServiceConfigs(recorded, declared);
 * // [{ path: "env.GREETING", before: "hi", after: "hello" }, { path: "instances", before: 2, after: 3 }]
 */
export function diffServiceConfigs(before: ServiceConfig, after: ServiceConfig): AttributeDiff[] {
  const out: AttributeDiff[] = [];
  diffInto(before, after, "", out);
  return out;
}

function diffInto(before: unknown, after: unknown, path: string, out: AttributeDiff[]): void {
  if (before === after) return;
  if (before === undefined || after === undefined || wholeValuePaths.has(path)) {
    if (!sameValue(before, after)) out.push(attribute(path, before, after));
    return;
  }
  if (isRecord(before) && isRecord(after) && !isSecretReference(before) && !isSecretReference(after)) {
    const keys = [...new Set([...definedKeys(before), ...definedKeys(after)])].sort();
    for (const key of keys) diffInto(before[key], after[key], path ? `${path}.${pathKey(key)}` : pathKey(key), out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) diffInto(before[i], after[i], `${path}[${i}]`, out);
    return;
  }
  if (!sameValue(before, after)) out.push(attribute(path, before, after));
}

/** A diff entry; a side that does not exist is left out rather than set to undefined, so JSON round-trips. */
function attribute(path: string, before: unknown, after: unknown): AttributeDiff {
  return {
    path,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  };
}
