import { EngineError } from "../core/index.js";

/**
 * The rule for secret names, the same in every provider: letters, digits, `_`, `-` and `.`, not
 * starting with `.` or `-`, at most 128 characters, and no `..` anywhere. It keeps a name from
 * leaving a folder (`/`, `..`), from meaning a hidden file or Kubernetes' `..data` links, and from
 * being read as an option.
 */
export const secretNamePattern = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

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
