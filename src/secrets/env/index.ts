export { EnvSecretProvider, envProviderOptions, type EnvSecretProviderOptions } from "./env-provider.js";
