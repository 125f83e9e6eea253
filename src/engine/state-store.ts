/**
 * The engine's control-plane state in the Store rather than on this machine's disk, so that a second
 * engine on the same PostgreSQL has everything: config snapshots, the applied revision, and (with
 * `artifacts.store: postgres`) the artifacts. Files an older engine kept in the state folder are
 * imported once at start, then renamed `*.imported`: from then on the store is the truth.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { ArtifactStore, StoreArtifactBlobs } from "../artifact/index.js";
import type { ServiceConfig } from "../config/index.js";
import { EngineError, type Logger } from "../core/index.js";
import type { ConfigSnapshots } from "../deploy/index.js";
import type { Store } from "../store/index.js";

/** The engine_state key of the applied revision. */
export const appliedKey = "applied";

/** Config snapshots in the store's `config_snapshots`, by hash. */
export class StoreConfigSnapshots implements ConfigSnapshots {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  save(hash: string, service: ServiceConfig): Promise<void> {
    return this.#store.state.saveConfig(hash, service);
  }

  async load(hash: string): Promise<ServiceConfig | undefined> {
    return (await this.#store.state.loadConfig(hash)) as ServiceConfig | undefined;
  }
}

/** The artifact store `artifacts.store` asks for; `postgres` needs the store to be PostgreSQL (CONFIG_INVALID otherwise). */
export function artifactStore(kind: "local" | "postgres", store: Store, stateDir: string): ArtifactStore {
  const dir = join(stateDir, "artifacts");
  if (kind === "local") return new ArtifactStore({ dir });
  if (store.kind !== "postgres") {
    throw new EngineError("CONFIG_INVALID", "artifacts.store: postgres keeps artifacts in the PostgreSQL store, but this engine's store is SQLite.", {
      hint: "Set store.url to a postgres:// URL, or artifacts.store: local (the default).",
    });
  }
  return new ArtifactStore({ dir, remote: new StoreArtifactBlobs(store.blobs) });
}

/** What importLocalState took into the store. */
export interface ImportedState {
  configs: number;
  applied: boolean;
  artifacts: number;
}

/**
 * Imports what an older engine kept in the state folder: `configs/<hash>.json` (first one of a hash
 * wins), `applied.json` (only when the store has no applied revision yet) and, with a shared artifact
 * store, every local artifact it lacks. Idempotent: imported files are renamed `*.imported`, and
 * a second run finds nothing. Records `state.imported` when it took anything.
 */
export async function importLocalState(store: Store, stateDir: string, artifacts: ArtifactStore, logger: Logger): Promise<ImportedState> {
  const result: ImportedState = { configs: 0, applied: false, artifacts: 0 };
  const configsDir = join(stateDir, "configs");
  if (existsSync(configsDir)) {
    for (const name of await readdir(configsDir)) {
      const hex = /^([0-9a-f]{64})\.json$/.exec(name)?.[1];
      if (!hex) continue;
      await store.state.saveConfig(`sha256:${hex}`, JSON.parse(await readFile(join(configsDir, name), "utf8")) as unknown);
      result.configs++;
    }
    await rename(configsDir, `${configsDir}.imported`);
  }
  const appliedFile = join(stateDir, "applied.json");
  if (existsSync(appliedFile)) {
    result.applied = await store.state.set(appliedKey, JSON.parse(await readFile(appliedFile, "utf8")) as unknown, { onlyIfAbsent: true });
    await rename(appliedFile, `${appliedFile}.imported`);
  }
  for (const digest of await artifacts.list()) if (await artifacts.publish(digest)) result.artifacts++;
  if (result.configs > 0 || result.applied || result.artifacts > 0) {
    const message = `imported the state folder's files into the store: ${result.configs} config snapshot(s), ${result.applied ? "the applied revision" : "no applied revision"}, ${result.artifacts} artifact(s) to the ${artifacts.kind} artifact store`;
    logger.info(message, { ...result });
    await store.events.append({ type: "state.imported", message, data: { ...result, stateDir } });
  }
  return result;
}

/**
 * The engine's state parts over an open store: its artifact store and config snapshots, with what an
 * older engine left in the state folder imported. On failure the store is closed and the error thrown.
 */
export async function prepareState(store: Store, kind: "local" | "postgres", stateDir: string, logger: Logger): Promise<{ artifacts: ArtifactStore; configs: ConfigSnapshots }> {
  try {
    const artifacts = artifactStore(kind, store, stateDir);
    await importLocalState(store, stateDir, artifacts, logger);
    return { artifacts, configs: new StoreConfigSnapshots(store) };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}
