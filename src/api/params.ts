import { EngineError } from "../core/index.js";

/** A body's optional text field: API_BAD_REQUEST naming it when it is there and not a string. */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be a string.`);
}

/** A query's whole number from 0 up, `fallback` when absent: API_BAD_REQUEST for anything else. */
export function wholeNumber(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EngineError("API_BAD_REQUEST", `Expected a whole number, got "${value}".`);
  return n;
}
