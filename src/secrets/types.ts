/**
 * A source of secret values, picked by a `type:` under `secrets.providers` in engineroom.yaml
 * (see registry.ts). Values leave a provider only through `get`; everything else deals in names.
 * A provider never puts a value into an error message, a log line or a file in clear text.
 */
export interface SecretProvider {
  /** The provider's kind, as written in the config's `type:` (`env`, `file`, `local`, ...). */
  readonly type: string;

  /**
   * The value stored under `name`, or `undefined` when there is none. Rejects with
   * SECRET_NAME_INVALID for a name outside the rule of names.ts, and with a SECRET_* code when the
   * provider cannot be read; the message names the secret, never its value.
   */
  get(name: string): Promise<string | undefined>;

  /** The names of the secrets the provider holds, sorted. Never their values. */
  list(): Promise<string[]>;
}

/** A provider Engineroom can also write to, as `engineroom secrets set|rm` does. */
export interface WritableSecretProvider extends SecretProvider {
  /** Stores `value` under `name`, replacing any value there; durable once the promise resolves. */
  set(name: string, value: string): Promise<void>;

  /** Removes the secret `name`; resolves `true` if there was one, `false` if not. */
  remove(name: string): Promise<boolean>;
}

/** True when the provider can store and remove secrets. */
export function isWritable(provider: SecretProvider): provider is WritableSecretProvider {
  const candidate = provider as Partial<WritableSecretProvider>;
  return typeof candidate.set === "function" && typeof candidate.remove === "function";
}

/** A reference to a secret in a service's `env`: the value is fetched from `provider` at start. */
export interface SecretRef {
  /** The secret's name in its provider. */
  secret: string;
  /** A provider declared under `secrets.providers`; `secrets.default` when left out. */
  provider?: string | undefined;
}

/** One value of a service's `env`: plain text, or a reference to a secret. */
export type EnvValue = string | SecretRef;

/** The providers of a project by their config names, and the one a reference without `provider:` uses. */
export interface SecretProviders {
  readonly providers: Readonly<Record<string, SecretProvider>>;
  readonly default?: string | undefined;
}
