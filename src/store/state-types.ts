/**
 * The engine's control-plane state that is not releases or events, so that a second engine on the
 * same database has it too: config snapshots by hash, small named values (the applied revision,
 * which local files were imported), and artifacts as chunked blobs.
 */

export interface StateRepo {
  /** Keeps a service's resolved config under its hash; the first one kept for a hash stays (a hash names one config). */
  saveConfig(hash: string, config: unknown): Promise<void>;
  loadConfig(hash: string): Promise<unknown>;
  /** Every kept config's hash, sorted. */
  configHashes(): Promise<string[]>;
  /** A named value (JSON), undefined when never set. */
  get(key: string): Promise<{ value: unknown; updatedAt: number } | undefined>;
  /** Sets a named value; with `onlyIfAbsent`, only when it was never set, and answers whether it was written. */
  set(key: string, value: unknown, options?: { onlyIfAbsent?: boolean }): Promise<boolean>;
}

/** What is kept of one blob besides its bytes. */
export interface BlobInfo {
  /** The name it is kept under, e.g. an artifact's tree digest. */
  key: string;
  /** `sha256:<hex>` of the bytes, checked by whoever reads them. */
  sha256: string;
  sizeBytes: number;
  chunkCount: number;
  /** What the bytes are, e.g. `tgz`. */
  format: string;
  createdAt: number;
}

export interface BlobRepo {
  /**
   * Writes a blob from its chunks in ONE transaction: readers never see part of it. A key kept
   * already is left as it is (answers false, and the chunks are not read).
   */
  put(info: Omit<BlobInfo, "createdAt" | "chunkCount">, chunks: AsyncIterable<Uint8Array>): Promise<boolean>;
  info(key: string): Promise<BlobInfo | undefined>;
  /** The blob's bytes chunk by chunk, one query per chunk, so a large blob is never held whole. */
  read(key: string): AsyncIterable<Buffer>;
  /** Removes a blob; answers false when there was none. */
  remove(key: string): Promise<boolean>;
  /** Every blob's key, sorted. */
  keys(): Promise<string[]>;
}
