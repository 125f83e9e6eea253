/**
 * Where artifacts are kept beyond this machine, so that another engine (a standby) can start a
 * release whose artifact it never had: `artifacts.store: postgres` keeps them as chunked blobs in
 * the Store. An S3-compatible store would implement the same interface (see the README).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { EngineError } from "../core/index.js";
import type { BlobRepo } from "../store/index.js";

/** An artifact as the shared store keeps it: a .tgz of its tree, named by the tree's digest. */
export interface ArchiveInfo {
  /** `sha256:<hex>` of the archive's bytes. */
  sha256: string;
  sizeBytes: number;
}

/**
 * A shared store of artifact archives, by tree digest. What `ArtifactStore` pushes every artifact it
 * adds to, and fetches a missing one from before an instance starts.
 */
export interface ArtifactBlobStore {
  /** `postgres`, `s3`, …: shown in events and errors. */
  readonly kind: string;
  has(digest: string): Promise<boolean>;
  /** Keeps the archive at `file` under `digest`, whole or not at all; false when it was kept already. */
  put(digest: string, file: string, info: ArchiveInfo): Promise<boolean>;
  /** Streams the archive of `digest` into `file` and answers what the store said it is; ARTIFACT_NOT_FOUND when it has none. */
  get(digest: string, file: string): Promise<ArchiveInfo>;
  remove(digest: string): Promise<boolean>;
}

/** The size of one chunk of the `postgres` artifact store. */
export const chunkBytes = 1024 * 1024;

/** The `postgres` artifact store: archives as 1 MiB chunks in the Store's `blob_chunks`, each written in one transaction. */
export class StoreArtifactBlobs implements ArtifactBlobStore {
  readonly kind = "postgres";
  readonly #blobs: BlobRepo;

  constructor(blobs: BlobRepo) {
    this.#blobs = blobs;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.#blobs.info(digest)) !== undefined;
  }

  put(digest: string, file: string, info: ArchiveInfo): Promise<boolean> {
    return this.#blobs.put({ key: digest, sha256: info.sha256, sizeBytes: info.sizeBytes, format: "tgz" }, createReadStream(file, { highWaterMark: chunkBytes }));
  }

  async get(digest: string, file: string): Promise<ArchiveInfo> {
    const info = await this.#blobs.info(digest);
    if (!info) throw new EngineError("ARTIFACT_NOT_FOUND", `The ${this.kind} artifact store keeps no artifact ${digest}.`);
    await pipeline(Readable.from(this.#blobs.read(digest)), createWriteStream(file, { mode: 0o600 }));
    return { sha256: info.sha256, sizeBytes: info.sizeBytes };
  }

  remove(digest: string): Promise<boolean> {
    return this.#blobs.remove(digest);
  }
}

/**
 * Packs a stored artifact's folder into a .tgz whose entries sit under one folder, `artifact/`, so
 * that unpacking it (which takes a single top folder away) gives back the same tree and digest.
 */
export async function packArtifact(folder: string, file: string): Promise<ArchiveInfo> {
  await tar.c({ gzip: true, file, cwd: folder, portable: true, prefix: "artifact" }, ["."]);
  return hashFile(file);
}

export async function hashFile(file: string): Promise<ArchiveInfo> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return { sha256: `sha256:${hash.digest("hex")}`, sizeBytes: (await stat(file)).size };
}
