import { z } from "zod";
import { EngineError } from "../core/index.js";
import type { ArtifactProvenance } from "../store/index.js";

/** The header that carries the signed statement (base64 of its JSON) on `POST /v1/artifacts`. */
export const statementHeader = "x-engineroom-statement";
/** The header that carries the statement's ed25519 signature (base64). */
export const signatureHeader = "x-engineroom-signature";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in 64 lowercase hex digits");
const text = (max: number) => z.string().min(1).max(max);

const testSummarySchema = z.strictObject({
  tests: z.number().int().min(0),
  failures: z.number().int().min(0),
  errors: z.number().int().min(0),
  skipped: z.number().int().min(0),
  timeMs: z.number().min(0),
});

/**
 * What CI signs for one upload: the artifact's digest (of its tree, as the store names it), the
 * archive's own sha256 and size (checked while it streams in, before anything is unpacked), and the
 * provenance. The signature covers the canonical JSON of all of it.
 */
export const uploadStatementSchema = z.strictObject({
  format: z.literal("engineroom-upload-v1"),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "an artifact digest, sha256:<64 hex digits>"),
  archive: z.strictObject({ sha256: sha256Hex, sizeBytes: z.number().int().min(1) }),
  provenance: z.strictObject({
    commit: z.string().regex(/^[0-9a-f]{7,64}$/, "a git commit hash in hex"),
    commitTime: z.number().int().min(0).nullable(),
    branch: text(255),
    runUrl: z.url({ protocol: /^https?$/ }).max(2048),
    tests: testSummarySchema.nullable(),
  }),
});

export type UploadStatement = z.output<typeof uploadStatementSchema>;
export type TestSummary = z.output<typeof testSummarySchema>;

/** The statement as the header carries it. */
export function encodeStatement(statement: UploadStatement): string {
  return Buffer.from(JSON.stringify(statement), "utf8").toString("base64");
}

/** The header's JSON, not yet checked (the signature is checked over it first). ARTIFACT_UNTRUSTED when absent or unreadable. */
export function decodeStatement(header: string | undefined): unknown {
  if (!header) throw new EngineError("ARTIFACT_UNTRUSTED", `The upload carries no signed statement (header ${statementHeader}).`);
  try {
    return JSON.parse(Buffer.from(header, "base64").toString("utf8")) as unknown;
  } catch {
    throw new EngineError("ARTIFACT_UNTRUSTED", `The ${statementHeader} header is not base64 JSON.`);
  }
}

/** The statement's fields checked; ARTIFACT_INVALID naming the first wrong one. */
export function parseStatement(value: unknown): UploadStatement {
  const parsed = uploadStatementSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new EngineError("ARTIFACT_INVALID", `The upload's statement is not valid: ${issue.path.join(".") || "(top level)"}: ${issue.message}.`);
}

/** The provenance kept with an accepted upload. */
export function provenanceOf(statement: UploadStatement, signedBy: string, uploadedAt: number): ArtifactProvenance {
  return { ...statement.provenance, signedBy, uploadedAt };
}
