import { join } from "node:path";
import { acceptUpload, trustedKeys, type AcceptedArtifact, type Upload } from "../../ci/index.js";
import { EngineError } from "../../core/index.js";
import type { ArtifactRecord } from "../../store/index.js";
import { authorize, scopeFor, type Caller } from "../access.js";
import type { Engine } from "../engine.js";

/** The artifact operations of the façade (see ../operations.ts): what `POST /v1/artifacts`, `engineroom ci upload` and the MCP tool `upload_artifact` call. */
export interface ArtifactOperations {
  /**
   * Takes a .tgz from CI with its signed statement (digest, archive sha256 and size, provenance):
   * kept only when a key of `ci.trusted_keys` signed it (ARTIFACT_UNTRUSTED), within
   * `artifacts.max_upload_bytes` (ARTIFACT_TOO_LARGE) and when what arrived is what was signed
   * (ARTIFACT_DIGEST_MISMATCH); every refusal keeps nothing. A caller needs scope
   * `deploy:<first environment>`: an upload is the first half of a deploy there.
   * Then `deploy(service, { artifact: digest })` releases it.
   */
  uploadArtifact(upload: Upload & { caller?: Caller }): Promise<AcceptedArtifact>;
  /** A stored artifact's record, with its provenance when it came from CI; ARTIFACT_NOT_FOUND otherwise. */
  artifact(digest: string): Promise<ArtifactRecord>;
}

export function artifactOperations(engine: Engine): ArtifactOperations {
  const config = engine.project.config;
  return {
    async uploadArtifact(upload) {
      if (upload.caller) authorize(upload.caller, scopeFor("deploy", engine.environments[0]!.name));
      return acceptUpload(upload, {
        artifacts: engine.artifacts,
        index: engine.store.artifacts,
        events: engine.store.events,
        trustedKeys: trustedKeys(config.ci.trusted_keys),
        maxBytes: config.artifacts.max_upload_bytes,
        tempDir: join(engine.project.stateDir, "uploads"),
        now: () => engine.clock.now(),
      });
    },

    async artifact(digest) {
      const record = /^sha256:[0-9a-f]{64}$/.test(digest) && (await engine.artifacts.has(digest)) ? await engine.store.artifacts.get(digest) : undefined;
      if (!record) throw new EngineError("ARTIFACT_NOT_FOUND", `No artifact ${digest} is stored.`, { hint: "Upload it first: `engineroom ci upload <dir|tgz> --key <file> …`; `engineroom releases <service>` shows the digests released." });
      return record;
    },
  };
}
