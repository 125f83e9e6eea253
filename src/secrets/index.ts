/**
 * The secrets adapter: where secret values come from, and how a service's `env` references become
 * the values its instances get — registered with the redactor on the way, so they never show again.
 *
 * Providers (`type:` in `secrets.providers`): `env` (environment variables), `file` (one file per
 * secret, as Docker and Kubernetes mount them) and `local` (an AES-256-GCM encrypted file managed
 * with `engineroom secrets set|list|rm`). New types are added in registry.ts only.
 */
export type { EnvValue, SecretProvider, SecretProviders, SecretRef, WritableSecretProvider } from "./types.js";
export { isWritable } from "./types.js";
export { assertSecretName, assertStorableValue, isSecretName, secretNamePattern } from "./names.js";
export {
  createSecretProvider,
  secretProviderConfigSchema,
  secretProviderTypes,
  type SecretProviderConfig,
  type SecretProviderContext,
  type SecretProviderType,
  type SecretProviderTypeName,
} from "./registry.js";
export { envValueSchema, secretNameSchema, secretRefSchema, secretsConfigSchema, type EnvValueConfig, type SecretsConfig } from "./schema.js";
export { createSecretProviders, providerFor, writableProviderFor } from "./providers.js";
export { isSecretRef, resolveSecrets, secretRefs, type FoundSecretRef } from "./resolve.js";
export { EnvSecretProvider, type EnvSecretProviderOptions } from "./env/index.js";
export { FileSecretProvider, type FileSecretProviderOptions } from "./file/index.js";
export {
  defaultKeyFile,
  generateKey,
  LocalSecretStore,
  loadSecretsKey,
  secretsKeyFileVariable,
  secretsKeyVariable,
  writeKeyFile,
  type LocalSecretStoreOptions,
  type SecretsKeySource,
} from "./local/index.js";
