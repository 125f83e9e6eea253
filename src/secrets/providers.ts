import { EngineError } from "../core/index.js";
import { createSecretProvider, type SecretProviderContext } from "./registry.js";
import type { SecretsConfig } from "./schema.js";
import { isWritable, type SecretProvider, type SecretProviders, type WritableSecretProvider } from "./types.js";

/**
 * Makes every provider of a validated `secrets:` section. Nothing is read yet: a provider's folder,
 * file or key is only touched when a secret is first asked of it.
 *
 * @example
 * const secrets = createSecretProviders(project.config.secrets, { projectDir: project.dir, stateDir: project.stateDir });
 * const env = await resolveSecrets(service.env, secrets, redactor);
 */
export function createSecretProviders(config: SecretsConfig, context: SecretProviderContext): SecretProviders {
  const providers: Record<string, SecretProvider> = {};
  for (const [name, entry] of Object.entries(config.providers)) providers[name] = createSecretProvider(entry, context);
  return { providers, default: config.default };
}

/**
 * The provider called `name`, or the default one when `name` is left out, with the name it goes by.
 * Throws SECRET_PROVIDER_UNKNOWN, listing the declared providers.
 */
export function providerFor(secrets: SecretProviders, name?: string): { name: string; provider: SecretProvider } {
  const chosen = name ?? secrets.default;
  const declared = Object.keys(secrets.providers);
  const provider = chosen === undefined || !Object.hasOwn(secrets.providers, chosen) ? undefined : secrets.providers[chosen];
  if (chosen === undefined || provider === undefined) {
    const what = chosen === undefined ? "No secret provider was named and there is no default one" : `There is no secret provider "${chosen}"`;
    throw new EngineError("SECRET_PROVIDER_UNKNOWN", `${what}; declared: ${declared.join(", ") || "none"}.`, {
      details: { provider: chosen, declared },
    });
  }
  return { name: chosen, provider };
}

/**
 * Like `providerFor`, for `engineroom secrets set|rm`: throws SECRET_PROVIDER_READ_ONLY when the
 * provider cannot store secrets (env, file).
 */
export function writableProviderFor(secrets: SecretProviders, name?: string): { name: string; provider: WritableSecretProvider } {
  const found = providerFor(secrets, name);
  if (!isWritable(found.provider)) {
    throw new EngineError("SECRET_PROVIDER_READ_ONLY", `The secret provider "${found.name}" (type ${found.provider.type}) is read-only.`, {
      details: { provider: found.name, type: found.provider.type },
    });
  }
  return { name: found.name, provider: found.provider };
}
