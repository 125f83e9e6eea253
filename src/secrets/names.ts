import { secretNamePattern } from "../config/index.js";
import { EngineError, Redactor } from "../core/index.js";

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

/**
 * Throws SECRET_VALUE_INVALID for a value Engineroom will not store: an empty one, one shorter than
 * `Redactor.minLength` characters (too short to redact from output safely), or one that
 * `assertSecretValue` refuses. Writable providers call it, so `engineroom secrets set` refuses too.
 */
export function assertStorableValue(name: string, value: unknown, where: string): asserts value is string {
  assertSecretValue(name, value, where);
  if (value.length >= Redactor.minLength) return;
  const details = { secret: name, where };
  if (value.length === 0) {
    throw new EngineError("SECRET_VALUE_INVALID", `The value of secret "${name}" (${where}) is empty; nothing was stored.`, {
      details,
      hint: `Pipe the value in on standard input: printf %s "$VALUE" | engineroom secrets set ${name}`,
    });
  }
  throw new EngineError("SECRET_VALUE_INVALID", `The value of secret "${name}" (${where}) is shorter than ${Redactor.minLength} characters; nothing was stored.`, {
    details,
    hint: `A value that short cannot be kept out of logs and output (it would match ordinary text); use one of ${Redactor.minLength} characters or more, ideally random.`,
  });
}
