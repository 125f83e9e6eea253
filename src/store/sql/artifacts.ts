import { toArtifact, type ArtifactRow } from "../rows.js";
import type { ArtifactIndex, ArtifactRecord } from "../types.js";
import { SqlRepo } from "./database.js";

export class SqlArtifactIndex extends SqlRepo implements ArtifactIndex {
  async put(record: Omit<ArtifactRecord, "createdAt">): Promise<ArtifactRecord> {
    // An artifact is immutable and named by its digest: the first record of a digest is the record,
    // but a signed provenance from CI is added to one deployed from a folder before (first one wins).
    const provenance = record.provenance ? JSON.stringify(record.provenance) : null;
    await this.db.query(
      `INSERT INTO artifacts (digest, source, size_bytes, file_count, created_at, provenance) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET provenance = COALESCE(artifacts.provenance, excluded.provenance) RETURNING digest`,
      [record.digest, record.source, record.sizeBytes, record.fileCount, this.now(), provenance],
    );
    return (await this.get(record.digest))!;
  }

  async get(digest: string): Promise<ArtifactRecord | undefined> {
    const [row] = await this.db.query<ArtifactRow>("SELECT * FROM artifacts WHERE digest = ?", [digest]);
    return row && toArtifact(row);
  }
}
