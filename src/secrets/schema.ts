import { z } from "zod";
import { envValueSchema, providerNameSchema as providerName, secretNameSchema, secretRefSchema } from "../config/index.js";
import { secretProviderConfigSchema } from "./registry.js";

export { envValueSchema, secretNameSchema, secretRefSchema };

const defaultProviders = { local: { type: "local" as const } };

/**
 * The `secrets:` section of engineroom.yaml: named providers, and the one that references without
 * `provider:` use. Left out, it is one encrypted local store named `local`, the default.
 * `default` may be left out when there is exactly one provider.
 *
 * @example
 * secrets:
 *   default: local
 *   providers:
 *     local: { type: local }                    # <state_dir>/secrets.json, key outside the project
 *     mounted: { type: file, dir: /run/secrets }
 *     ci: { type: env, prefix: APP_ }           # db_password -> $APP_DB_PASSWORD
 */
export const secretsConfigSchema = z
  .strictObject({
    providers: z
      .record(providerName, secretProviderConfigSchema)
      .default(defaultProviders)
      .meta({ description: "Secret providers by name. Default: `local: { type: local }`." }),
    default: providerName.optional().meta({ description: "The provider of references that name none; may be left out when there is one provider." }),
  })
  .transform((section, ctx) => {
    const names = Object.keys(section.providers);
    const chosen = section.default ?? (names.length === 1 ? names[0] : undefined);
    if (chosen !== undefined && !names.includes(chosen)) {
      ctx.addIssue({ code: "custom", path: ["default"], message: `no provider "${chosen}" under secrets.providers; declared: ${names.join(", ") || "none"}` });
      return z.NEVER;
    }
    return { providers: section.providers, default: chosen };
  })
  .default({ providers: defaultProviders, default: "local" })
  .meta({ description: "Where secret values come from. Services refer to secrets by name in their `env`; values never enter this file." });

/** The `secrets:` section as validated: `default` is filled in when it could be. */
export type SecretsConfig = z.output<typeof secretsConfigSchema>;
/** One value of a service's `env` as validated. */
export type EnvValueConfig = z.output<typeof envValueSchema>;
