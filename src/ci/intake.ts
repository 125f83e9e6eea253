import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { ArtifactStore } from "../artifact/index.js";
import { EngineError } from "../core/index.js";
import type { ArtifactIndex, ArtifactProvenance, EventLog } from "../store/index.js";
import { verifyValue, type TrustedKey } from "./signing.js";
import { decodeStatement, parseStatement, provenanceOf } from "./statement.js";

/** An upload as it arrives: the body streams, the statement and its signature come as headers. */
export interface Upload {
  /** The .tgz as it streams in (a request), or in chunks at hand (an MCP call's decoded bytes: `[buffer]`). */
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** The `x-engineroom-statement` header: base64 of the statement's JSON. */
  statement: string | undefined;
  /** The `x-engineroom-signature` header: the ed25519 signature, base64. */
  signature: string | undefined;
  /** The declared Content-Length, when there is one: refused at once when over the cap. */
  contentLength?: number;
  /** Who uploaded (the API's caller), for the event log. */
  actor?: string;
}

export interface IntakeOptions {
  artifacts: ArtifactStore;
  index: ArtifactIndex;
  events: EventLog;
  trustedKeys: readonly TrustedKey[];
  maxBytes: number;
  /** Where the archive is written while it streams in (inside the artifact store's folder). */
  tempDir: string;
  now: () => number;
}

/** What an accepted upload became. */
export interface AcceptedArtifact {
  digest: string;
  sizeBytes: number;
  fileCount: number;
  /** True when the store held this artifact already. */
  existed: boolean;
  provenance: ArtifactProvenance;
}

/**
 * Takes an artifact from CI. In this order, each refusal keeping nothing: the signature over the
 * statement, by a trusted key (ARTIFACT_UNTRUSTED), before a byte of the body is read; the statement's
 * fields (ARTIFACT_INVALID); the size, against the cap, from the declared length and then while
 * streaming to a temporary file (ARTIFACT_TOO_LARGE); the archive's sha256 and size against the signed
 * ones (ARTIFACT_DIGEST_MISMATCH), before anything is unpacked; then the artifact store unpacks it and
 * checks the tree's digest against the signed one (ARTIFACT_DIGEST_MISMATCH). The provenance is
 * recorded with the artifact and an `artifact.uploaded` event is appended.
 */
export async function acceptUpload(upload: Upload, o: IntakeOptions): Promise<AcceptedArtifact> {
  const raw = decodeStatement(upload.statement);
  const key = verifyValue(o.trustedKeys, raw, upload.signature);
  const statement = parseStatement(raw);
  const limit = `the limit of ${o.maxBytes} bytes (artifacts.max_upload_bytes)`;
  for (const declared of [upload.contentLength, statement.archive.sizeBytes]) {
    if (declared !== undefined && declared > o.maxBytes) throw new EngineError("ARTIFACT_TOO_LARGE", `The upload is ${declared} bytes, over ${limit}. Nothing was kept.`);
  }
  await mkdir(o.tempDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(o.tempDir, "upload-"));
  try {
    const file = join(work, "artifact.tgz");
    const received = await receive(upload.body, file, o.maxBytes, limit);
    if (received.sizeBytes !== statement.archive.sizeBytes || received.sha256 !== statement.archive.sha256) {
      throw new EngineError(
        "ARTIFACT_DIGEST_MISMATCH",
        `The archive that arrived (${received.sizeBytes} bytes, sha256 ${received.sha256.slice(0, 12)}…) is not the one signed (${statement.archive.sizeBytes} bytes, sha256 ${statement.archive.sha256.slice(0, 12)}…). Nothing was kept.`,
      );
    }
    const added = await o.artifacts.add(file, { expectDigest: statement.digest });
    const provenance = provenanceOf(statement, key.name, o.now());
    const record = await o.index.put({ digest: added.digest, source: `ci upload ${statement.provenance.runUrl}`, sizeBytes: added.sizeBytes, fileCount: added.fileCount, provenance });
    const kept = record.provenance ?? provenance;
    await o.events.append({
      type: "artifact.uploaded",
      message: `artifact ${added.digest.slice(0, 19)} uploaded from CI (commit ${kept.commit.slice(0, 12)} on ${kept.branch}, signed by ${key.name})${upload.actor ? ` by ${upload.actor}` : ""}${added.existed ? "; it was stored already" : ""}`,
      data: { digest: added.digest, sizeBytes: added.sizeBytes, fileCount: added.fileCount, existed: added.existed, provenance: kept },
    });
    return { digest: added.digest, sizeBytes: added.sizeBytes, fileCount: added.fileCount, existed: added.existed, provenance: kept };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Streams the body to `file`, hashing as it goes, and stops at once past `maxBytes`. */
async function receive(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, file: string, maxBytes: number, limit: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  const out = createWriteStream(file, { mode: 0o600 });
  let sizeBytes = 0;
  try {
    for await (const chunk of body) {
      sizeBytes += chunk.byteLength;
      if (sizeBytes > maxBytes) throw new EngineError("ARTIFACT_TOO_LARGE", `The upload went over ${limit}; it was cut off there. Nothing was kept.`);
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, "drain"); // rejects if the file cannot be written
    }
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    throw error;
  }
  return { sha256: hash.digest("hex"), sizeBytes };
}
