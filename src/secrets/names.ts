import { secretNamePattern } from "../config/index.js";
import { EngineError } from "../core/index.js";

export { secretNamePattern };

/** True when `name` follows the rule of secret names. */
export function isSecretName(name: string): boolean {
  return secretNamePattern.test(name);
}

/** Throws SECRET_NAME_INVALID unless `name` follows the rule; the name is shown as JSON so odd characters stay visible. */
export function assertSecretName(name: string, where: string): void {
  if (typeof name === "string" && isSecretName(name)) return;
  const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 140)) : typeof name;
  throw new EngineError("SECRET_NAME_INVALID", `${shown} is not a valid secret name (${where}).`, { details: { where } });
}

/**
 * Throws SECRET_VALUE_INVALID for a value that cannot become an environment variable. Node would
 * otherwise refuse it at spawn time with an error that quotes the value.
 */
export function assertSecretValue(name: string, value: unknown, where: string): asserts value is string {
  if (typeof value !== "string") {
    throw new EngineError("SECRET_VALUE_INVALID", `The value of secret "${name}" (${where}) is not text.`, { details: { secret: name, where } });
  }
  if (value.includes("\0")) {
    throw new EngineError("SECRET_VALUE_INVALID", `The value of secret "${name}" (${where}) holds a NUL byte.`, { details: { secret: name, where } });
  }
}
