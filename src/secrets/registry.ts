import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { EnvSecretProvider, envProviderOptions } from "./env/index.js";
import { FileSecretProvider, fileProviderOptions } from "./file/index.js";
import { LocalSecretStore, loadSecretsKey, localProviderOptions } from "./local/index.js";
import type { SecretProvider } from "./types.js";

/** What a provider's factory may need besides its own options. */
export interface SecretProviderContext {
  /** The folder of engineroom.yaml; relative paths in provider options start here. */
  projectDir: string;
  /** The state folder (absolute, or relative to `projectDir`); the local store lives there by default. */
  stateDir: string;
  /** Environment for the `env` provider and the key variables. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Home folder for `~/` in key paths and the default key file. Default: `os.homedir()`. */
  homeDir?: string;
}

/** One entry of the registry: the options a `type:` takes, and how to build its provider from them. */
export interface SecretProviderType<Options extends z.ZodObject> {
  /** The options besides `type:`, as a strict zod object (unknown keys are errors). */
  readonly options: Options;
  /** Makes the provider. It must not read files or the key yet: a provider nobody uses must not fail start-up. */
  create(options: z.output<Options>, context: SecretProviderContext): SecretProvider;
}

function providerType<Options extends z.ZodObject>(definition: SecretProviderType<Options>): SecretProviderType<Options> {
  return definition;
}

function inProject(path: string, context: SecretProviderContext): string {
  return isAbsolute(path) ? path : resolve(context.projectDir, path);
}

/**
 * The secret providers Engineroom knows, by their config `type:`. To add one (Vault, 1Password,
 * AWS...), write it in its own folder and add it here; nothing else changes.
 */
export const secretProviderTypes = {
  env: providerType({
    options: envProviderOptions,
    create: (options, context) => new EnvSecretProvider({ prefix: options.prefix, env: context.env }),
  }),
  file: providerType({
    options: fileProviderOptions,
    create: (options, context) => new FileSecretProvider({ dir: inProject(options.dir, context) }),
  }),
  local: providerType({
    options: localProviderOptions,
    create: (options, context) =>
      new LocalSecretStore({
        file: inProject(options.file ?? join(context.stateDir, "secrets.json"), context),
        key: () => loadSecretsKey({ env: context.env, keyFile: options.key_file, projectDir: context.projectDir, homeDir: context.homeDir }),
      }),
  }),
} as const;

/** A provider `type:` Engineroom knows. */
export type SecretProviderTypeName = keyof typeof secretProviderTypes;

type Types = typeof secretProviderTypes;

/** `type:` plus a registered type's options, strict, as written under `secrets.providers.<name>`. */
type ConfigSchemaOf<K extends SecretProviderTypeName> =
  Types[K]["options"] extends z.ZodObject<infer Shape> ? z.ZodObject<{ type: z.ZodLiteral<K> } & Shape, z.core.$strict> : never;
type AnyConfigSchema = { [K in SecretProviderTypeName]: ConfigSchemaOf<K> }[SecretProviderTypeName];

function configSchemaOf<K extends SecretProviderTypeName>(type: K): ConfigSchemaOf<K> {
  return z.strictObject({ type: z.literal(type), ...secretProviderTypes[type].options.shape }) as unknown as ConfigSchemaOf<K>;
}

const typeNames = Object.keys(secretProviderTypes) as SecretProviderTypeName[];

/** The schema of one provider's config: `type:` picks the registry entry whose options apply. */
export const secretProviderConfigSchema = z
  .discriminatedUnion("type", typeNames.map(configSchemaOf) as [AnyConfigSchema, ...AnyConfigSchema[]])
  .meta({ description: `A secret provider: \`type\` is one of ${typeNames.join(", ")}, with that type's options.` });

/** One provider's config under `secrets.providers`: its `type:` and that type's options. */
export type SecretProviderConfig = z.output<typeof secretProviderConfigSchema>;

/** Makes the provider a config entry describes. */
export function createSecretProvider(config: SecretProviderConfig, context: SecretProviderContext): SecretProvider {
  const { type, ...options } = config;
  const entry = secretProviderTypes[type] as SecretProviderType<z.ZodObject>;
  return entry.create(options, context);
}
