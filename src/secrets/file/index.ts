export { FileSecretProvider, fileProviderOptions, type FileSecretProviderOptions } from "./file-provider.js";
