import { createLogger, EngineError, isEngineError, Redactor } from "../core/index.js";
import { assertSecretValue } from "./names.js";
import { providerFor } from "./providers.js";
import type { EnvValue, SecretProviders, SecretRef } from "./types.js";

/** A secret reference found in an env map, with the variable it sets. */
export interface FoundSecretRef {
  /** The environment variable the secret becomes, e.g. `DB_PASSWORD`. */
  variable: string;
  /** The secret's name. */
  secret: string;
  /** The provider's name: the reference's own, else `defaultProvider`; `undefined` if neither is known. */
  provider: string | undefined;
}

/** True when an env value is a reference to a secret rather than plain text. */
export function isSecretRef(value: EnvValue): value is SecretRef {
  return typeof value === "object" && value !== null && typeof value.secret === "string";
}

/**
 * The secret references of an env map, sorted by variable: what a plan shows and compares, so a
 * plan speaks of secrets by reference and never holds a value.
 *
 * @example
 * secretRefs({ LOG_LEVEL: "info", DB_PASSWORD: { secret: "db_password" } }, "local");
 * // [{ variable: "DB_PASSWORD", secret: "db_password", provider: "local" }]
 */
export function secretRefs(env: Readonly<Record<string, EnvValue>>, defaultProvider?: string): FoundSecretRef[] {
  return Object.entries(env)
    .flatMap(([variable, value]) => (isSecretRef(value) ? [{ variable, secret: value.secret, provider: value.provider ?? defaultProvider }] : []))
    .sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
}

export interface ResolveSecretsOptions {
  /**
   * Told of a secret too short to be redacted (under `Redactor.minLength` characters), by name and
   * provider, never its value. Default: a warning on standard error.
   */
  warn?: (message: string) => void;
}

interface Wanted {
  provider: string;
  secret: string;
  variables: string[];
}

/**
 * Turns a service's `env` into the plain map an instance gets: text values are kept, references are
 * fetched from their providers. Every fetched value is registered in `redactor` under its secret's
 * name before this returns, so from then on it is masked in every log, event, answer and error.
 * Each secret is fetched once, however many variables use it.
 *
 * Rejects with SECRET_PROVIDER_UNKNOWN for a reference to an undeclared provider, SECRET_NOT_FOUND
 * listing every secret that is missing (name, provider and variable, never a value),
 * SECRET_VALUE_INVALID for a value no environment variable can hold, or the provider's own SECRET_*
 * error (SECRET_PROVIDER_FAILED for one that is not coded).
 *
 * A value shorter than `Redactor.minLength` characters cannot be masked in output without garbling
 * it, so it is not redacted: `options.warn` is told, naming the secret and its provider. `engineroom
 * secrets set` refuses such values; env and file providers are set elsewhere, hence the warning.
 *
 * @example
 * const env = await resolveSecrets({ DB_PASSWORD: { secret: "db_password" }, LOG_LEVEL: "info" }, secrets, redactor);
 */
export async function resolveSecrets(
  env: Readonly<Record<string, EnvValue>>,
  secrets: SecretProviders,
  redactor: Redactor,
  options: ResolveSecretsOptions = {},
): Promise<Record<string, string>> {
  const warn = options.warn ?? ((message: string) => createLogger().warn(message));
  const wanted = new Map<string, Wanted>();
  for (const ref of secretRefs(env)) {
    const { name } = providerFor(secrets, ref.provider);
    const key = `${name}\0${ref.secret}`;
    const entry = wanted.get(key) ?? { provider: name, secret: ref.secret, variables: [] };
    entry.variables.push(ref.variable);
    wanted.set(key, entry);
  }

  const values = new Map<string, string>();
  const missing: Wanted[] = [];
  const failures: EngineError[] = [];
  await Promise.all(
    [...wanted].map(async ([key, entry]) => {
      try {
        const value = await providerFor(secrets, entry.provider).provider.get(entry.secret);
        if (value === undefined) return void missing.push(entry);
        const redacted = redactor.add(entry.secret, value);
        assertSecretValue(entry.secret, value, `provider "${entry.provider}"`);
        if (!redacted) warn(tooShort(entry));
        values.set(key, value);
      } catch (error) {
        failures.push(coded(error, entry, redactor));
      }
    }),
  );
  if (failures.length > 0) throw failures[0];
  if (missing.length > 0) throw notFound(missing);

  const result: Record<string, string> = {};
  for (const [variable, value] of Object.entries(env)) {
    result[variable] = isSecretRef(value) ? values.get(`${providerFor(secrets, value.provider).name}\0${value.secret}`)! : value;
  }
  return result;
}

function tooShort(entry: Wanted): string {
  return (
    `SECRET TOO SHORT TO REDACT: secret "${entry.secret}" from provider "${entry.provider}" (for ${entry.variables.join(", ")}) is shorter than ` +
    `${Redactor.minLength} characters, so Engineroom cannot keep it out of logs and output. Give it a longer value.`
  );
}

function notFound(missing: Wanted[]): EngineError {
  const sorted = [...missing].sort((a, b) => (a.secret < b.secret ? -1 : a.secret > b.secret ? 1 : 0));
  const parts = sorted.map((m) => `"${m.secret}" in provider "${m.provider}" (for ${m.variables.join(", ")})`);
  const message = parts.length === 1 ? `Secret ${parts[0]} was not found.` : `${parts.length} secrets were not found: ${parts.join("; ")}.`;
  return new EngineError("SECRET_NOT_FOUND", message, { details: { missing: sorted } });
}

/** A provider's failure as a coded error; an uncoded one's message is redacted, as it comes from code we do not know. */
function coded(error: unknown, entry: Wanted, redactor: Redactor): EngineError {
  if (isEngineError(error)) return error;
  const reason = redactor.redact(error instanceof Error ? error.message : String(error));
  return new EngineError("SECRET_PROVIDER_FAILED", `Provider "${entry.provider}" failed to fetch secret "${entry.secret}": ${reason}`, {
    details: { provider: entry.provider, secret: entry.secret },
  });
}
