import { EngineError } from "../../core/index.js";
import type { BlobInfo, BlobRepo, StateRepo } from "../state-types.js";
import { SqlRepo } from "./database.js";

/** The config_snapshots and engine_state tables (migration 13). */
export class SqlStateRepo extends SqlRepo implements StateRepo {
  async saveConfig(hash: string, config: unknown): Promise<void> {
    await this.db.query("INSERT INTO config_snapshots (hash, config, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING", [hash, JSON.stringify(config), this.now()]);
  }

  async loadConfig(hash: string): Promise<unknown> {
    const [row] = await this.db.query<{ config: string }>("SELECT config FROM config_snapshots WHERE hash = ?", [hash]);
    return row ? (JSON.parse(row.config) as unknown) : undefined;
  }

  async configHashes(): Promise<string[]> {
    const rows = await this.db.query<{ hash: string }>("SELECT hash FROM config_snapshots ORDER BY hash");
    return rows.map((r) => r.hash);
  }

  async get(key: string): Promise<{ value: unknown; updatedAt: number } | undefined> {
    const [row] = await this.db.query<{ value: string; updated_at: number | string }>("SELECT value, updated_at FROM engine_state WHERE key = ?", [key]);
    return row ? { value: JSON.parse(row.value) as unknown, updatedAt: Number(row.updated_at) } : undefined;
  }

  async set(key: string, value: unknown, options: { onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const conflict = options.onlyIfAbsent ? "DO NOTHING" : "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
    const rows = await this.db.query(`INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) ${conflict} RETURNING key`, [key, JSON.stringify(value), this.now()]);
    return rows.length > 0;
  }
}

interface BlobRow {
  key: string;
  sha256: string;
  size_bytes: number | string;
  chunk_count: number | string;
  format: string;
  created_at: number | string;
}

const toInfo = (row: BlobRow): BlobInfo => ({
  key: row.key,
  sha256: row.sha256,
  sizeBytes: Number(row.size_bytes),
  chunkCount: Number(row.chunk_count),
  format: row.format,
  createdAt: Number(row.created_at),
});

/** The blobs and blob_chunks tables (migration 15): each blob's chunks, numbered from 0. */
export class SqlBlobRepo extends SqlRepo implements BlobRepo {
  put(info: Omit<BlobInfo, "createdAt" | "chunkCount">, chunks: AsyncIterable<Uint8Array>): Promise<boolean> {
    // The lock serializes writers of one key across engines; the row is written last, with the count.
    return this.db.transaction(async (tx) => {
      const [kept] = await tx.query("SELECT key FROM blobs WHERE key = ?", [info.key]);
      if (kept) return false;
      await tx.query("DELETE FROM blob_chunks WHERE key = ?", [info.key]);
      let seq = 0;
      for await (const chunk of chunks) {
        await tx.query("INSERT INTO blob_chunks (key, seq, data) VALUES (?, ?, ?)", [info.key, seq++, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)]);
      }
      await tx.query("INSERT INTO blobs (key, sha256, size_bytes, chunk_count, format, created_at) VALUES (?, ?, ?, ?, ?, ?)", [info.key, info.sha256, info.sizeBytes, seq, info.format, this.now()]);
      return true;
    }, `engineroom:blob:${info.key}`);
  }

  async info(key: string): Promise<BlobInfo | undefined> {
    const [row] = await this.db.query<BlobRow>("SELECT * FROM blobs WHERE key = ?", [key]);
    return row && toInfo(row);
  }

  async *read(key: string): AsyncIterable<Buffer> {
    const info = await this.info(key);
    if (!info) throw new EngineError("ARTIFACT_NOT_FOUND", `The store keeps no blob ${key}.`);
    for (let seq = 0; seq < info.chunkCount; seq++) {
      const [row] = await this.db.query<{ data: Uint8Array }>("SELECT data FROM blob_chunks WHERE key = ? AND seq = ?", [key, seq]);
      if (!row) throw new EngineError("ARTIFACT_DIGEST_MISMATCH", `Chunk ${seq} of ${info.chunkCount} of ${key} is missing from the store.`);
      yield Buffer.from(row.data);
    }
  }

  remove(key: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query("DELETE FROM blob_chunks WHERE key = ?", [key]);
      const rows = await tx.query("DELETE FROM blobs WHERE key = ? RETURNING key", [key]);
      return rows.length > 0;
    }, `engineroom:blob:${key}`);
  }

  async keys(): Promise<string[]> {
    const rows = await this.db.query<{ key: string }>("SELECT key FROM blobs ORDER BY key");
    return rows.map((r) => r.key);
  }
}
