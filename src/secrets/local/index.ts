export { LocalSecretStore, localProviderOptions, type LocalSecretStoreOptions } from "./local-store.js";
export {
  defaultKeyFile,
  generateKey,
  loadSecretsKey,
  parseKey,
  secretsKeyFileVariable,
  secretsKeyVariable,
  writeKeyFile,
  type SecretsKeySource,
} from "./key.js";
export { isTemporaryOf } from "./atomic-write.js";
