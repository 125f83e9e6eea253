import { z } from "zod";
import { assertSecretName, isSecretName } from "../names.js";
import type { SecretProvider } from "../types.js";

/** Options of `type: env` under `secrets.providers`. */
export const envProviderOptions = z.strictObject({
  prefix: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable prefix such as APP_")
    .optional()
    .meta({ description: 'Prepended to every variable name: with "APP_", secret db_password is read from $APP_DB_PASSWORD.' }),
});

export interface EnvSecretProviderOptions {
  /** Prepended to every variable name, e.g. `APP_`. Default: none. */
  prefix?: string | undefined;
  /** Where variables are read; default: `process.env`, read at each `get` so later changes show. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads secrets from environment variables. A secret's variable is the prefix followed by its name
 * in upper case, with `-` and `.` turned into `_`:
 *
 * | prefix | secret        | variable          |
 * |--------|---------------|-------------------|
 * | —      | `db_password` | `DB_PASSWORD`     |
 * | `APP_` | `db_password` | `APP_DB_PASSWORD` |
 * | `APP_` | `stripe.key`  | `APP_STRIPE_KEY`  |
 *
 * `list()` maps back: every variable that starts with the prefix, without it, in lower case. So
 * names that differ only in case, `-`, `.` or `_` reach the same variable. Without a prefix, `list()`
 * names every variable of the environment; a prefix keeps it to the secrets. Read-only.
 *
 * @example
 * const provider = new EnvSecretProvider({ prefix: "APP_" });
 * await provider.get("db_password"); // process.env.APP_DB_PASSWORD
 */
export class EnvSecretProvider implements SecretProvider {
  readonly type = "env";
  readonly #prefix: string;
  readonly #env: Readonly<Record<string, string | undefined>> | undefined;

  constructor(options: EnvSecretProviderOptions = {}) {
    this.#prefix = options.prefix ?? "";
    this.#env = options.env;
  }

  /** The variable a secret is read from, e.g. `APP_DB_PASSWORD` for `db_password`. */
  variableFor(name: string): string {
    assertSecretName(name, this.#where());
    return this.#prefix + name.toUpperCase().replace(/[-.]/g, "_");
  }

  async get(name: string): Promise<string | undefined> {
    return this.#source()[this.variableFor(name)];
  }

  async list(): Promise<string[]> {
    const names = Object.entries(this.#source())
      .filter(([variable, value]) => value !== undefined && variable.startsWith(this.#prefix) && variable.length > this.#prefix.length)
      .map(([variable]) => variable.slice(this.#prefix.length).toLowerCase())
      .filter(isSecretName);
    return [...new Set(names)].sort();
  }

  #source(): Readonly<Record<string, string | undefined>> {
    return this.#env ?? process.env;
  }

  #where(): string {
    return this.#prefix ? `env provider, prefix ${this.#prefix}` : "env provider";
  }
}
