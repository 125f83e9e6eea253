import { errorCatalogue } from "../core/index.js";

const error = { type: "object", properties: { error: { type: "object", required: ["code", "message", "hint"], properties: { code: { type: "string", enum: Object.keys(errorCatalogue) }, message: { type: "string" }, hint: { type: "string" } } } } };
const answer = (description: string) => ({ description, content: { "application/json": { schema: error } } });

/** The OpenAPI paths of artifact-routes.ts, spread into openapi.ts's document. */
export const artifactPaths = {
  "/v1/artifacts": {
    post: {
      summary:
        "Upload a .tgz built by CI, streamed to disk, with its signed statement: header `x-engineroom-statement` (base64 of the JSON `{format: engineroom-upload-v1, digest, archive: {sha256, sizeBytes}, provenance: {commit, commitTime, branch, runUrl, tests}}`) and header `x-engineroom-signature` (base64 ed25519 signature over the statement's canonical JSON by a key of ci.trusted_keys). Needs scope deploy:<first environment>. Nothing is kept on any refusal. Then deploy it by digest.",
      parameters: [
        { name: "x-engineroom-statement", in: "header", required: true, schema: { type: "string" } },
        { name: "x-engineroom-signature", in: "header", required: true, schema: { type: "string" } },
      ],
      requestBody: { required: true, content: { "application/gzip": { schema: { type: "string", format: "binary" } } } },
      responses: {
        "201": { description: "`{ digest, sizeBytes, fileCount, existed, provenance }` (provenance adds signedBy, uploadedAt)" },
        "400": answer("ARTIFACT_INVALID: not a .tgz, or the statement's fields are wrong"),
        "401": answer("Missing or wrong token"),
        "403": answer("ARTIFACT_UNTRUSTED: unsigned, or not signed by a trusted CI key"),
        "413": answer("ARTIFACT_TOO_LARGE: over artifacts.max_upload_bytes"),
        "422": answer("ARTIFACT_DIGEST_MISMATCH: what arrived is not what was signed"),
      },
    },
  },
  "/v1/artifacts/{digest}": {
    get: {
      summary: "A stored artifact: digest, source, size, file count, created, and the provenance of a CI upload (ARTIFACT_NOT_FOUND)",
      parameters: [{ name: "digest", in: "path", required: true, schema: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } }],
      responses: { "200": { description: "the artifact's record" }, "400": answer("ARTIFACT_NOT_FOUND"), "401": answer("Missing or wrong token") },
    },
  },
};
