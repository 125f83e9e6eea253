import { z } from "zod";

/**
 * The rule for secret names, the same in every provider: letters, digits, `_`, `-` and `.`, not
 * starting with `.` or `-`, at most 128 characters, and no `..` anywhere. It keeps a name from
 * leaving a folder (`/`, `..`), from meaning a hidden file or Kubernetes' `..data` links, and from
 * being read as an option.
 */
export const secretNamePattern = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A provider's name under `secrets.providers`, written like the project's other names. */
export const providerNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes, starting with a letter");

/** A secret's name, as every provider takes it. */
export const secretNameSchema = z
  .string()
  .regex(secretNamePattern, "a secret name uses letters, digits, _, - and ., starts with a letter, digit or _, and holds no / or ..")
  .meta({ description: "The secret's name in its provider." });

/** A reference to a secret in a service's `env`, e.g. `{ secret: db_password, provider: vault }`. */
export const secretRefSchema = z
  .strictObject({
    secret: secretNameSchema,
    provider: providerNameSchema.optional().meta({ description: "A provider under `secrets.providers`; default: `secrets.default`." }),
  })
  .meta({ description: "The value is the secret of this name, fetched when an instance starts; only the reference is kept anywhere." });

/** One value of a service's `env`: plain text, or a reference to a secret. */
export const envValueSchema = z.union([
  // The value reaches the instance as an environment variable, which cannot hold a NUL byte.
  z.string().regex(/^[^\0]*$/, "an environment variable's value cannot hold a NUL byte"),
  secretRefSchema,
]);

/**
 * The `secrets:` section as the config checks it: named providers with a `type:`. Each type's own
 * options are checked by the secrets adapter's registry when the engine starts.
 */
export const secretsSectionSchema = z
  .strictObject({
    providers: z
      .record(providerNameSchema, z.looseObject({ type: z.string() }))
      .optional()
      .meta({ description: "Secret providers by name: `{ type: local }` (encrypted file), `{ type: file, dir }`, `{ type: env, prefix }`. Default: `local: { type: local }`." }),
    default: providerNameSchema.optional().meta({ description: "The provider of references that name none; may be left out when there is one provider." }),
  })
  .optional()
  .meta({ description: "Where secret values come from. Services refer to secrets by name in their `env`; values never enter this file." });
