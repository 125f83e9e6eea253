import { z } from "zod";

/** A CI public key as `engineroom ci keygen` prints it: `ed25519:` and the 32 raw bytes in base64. */
export const ciPublicKeyPattern = /^ed25519:[A-Za-z0-9+/]{43}=$/;

const publicKey = z
  .string()
  .regex(ciPublicKeyPattern, "write a CI public key as `engineroom ci keygen` prints it: ed25519:<44 base64 characters>")
  .meta({ description: "An ed25519 public key, `ed25519:<base64>`, as `engineroom ci keygen` prints it." });

const trustedKey = z.union([
  publicKey,
  z.strictObject({
    name: z.string().min(1).max(100).meta({ description: "A name for the key, recorded with every upload it signed (e.g. github-actions)." }),
    key: publicKey,
  }),
]);

/** `ci:` — builds from CI: the keys whose signature makes an uploaded artifact trusted. */
export const ciSchema = z
  .strictObject({
    trusted_keys: z
      .array(trustedKey)
      .default([])
      .meta({ description: "CI public keys the project trusts: an artifact upload (POST /v1/artifacts) is accepted only when one of them signed it. A key, or `{ name, key }`." }),
  })
  .default({ trusted_keys: [] });

/** 512 MiB: the default cap of one artifact upload. */
export const defaultMaxUploadBytes = 512 * 1024 * 1024;

/** `artifacts:` — the artifact store's settings. */
export const artifactsSchema = z
  .strictObject({
    max_upload_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024 * 1024)
      .default(defaultMaxUploadBytes)
      .meta({ description: "The largest .tgz that POST /v1/artifacts takes, in bytes (default 536870912, 512 MiB); a larger one is refused with ARTIFACT_TOO_LARGE." }),
    store: z
      .enum(["local", "postgres"])
      .default("local")
      .meta({ description: "Where artifacts are kept: local (default; <state_dir>/artifacts only) or postgres (also in the PostgreSQL store, 1 MiB chunks, so that another engine on it can roll back cold; needs store.url postgres://)." }),
  })
  .default({ max_upload_bytes: defaultMaxUploadBytes, store: "local" });

export type CiConfig = z.output<typeof ciSchema>;
export type ArtifactsConfig = z.output<typeof artifactsSchema>;
