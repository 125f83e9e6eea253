/**
 * The store's public face: the `Store` interface and its types, the two backends, and `openStore`,
 * which picks a backend from a URL and brings its schema up to date.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { EngineError, type Clock } from "../core/index.js";
import { PostgresStore } from "./postgres/index.js";
import { SqliteStore } from "./sqlite/index.js";
import type { Store } from "./types.js";

export * from "./types.js";
export { migrations, type Migration } from "./migrations.js";
export { EventFeed, type EventFeedOptions } from "./event-feed.js";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite/index.js";
export { PostgresStore, describePostgresUrl, type PostgresStoreOptions } from "./postgres/index.js";

export interface OpenStoreOptions {
  /** A `postgres://` or `postgresql://` URL for PostgreSQL; without one, the embedded SQLite store. */
  url?: string;
  /** The folder for the SQLite file `engineroom.db` (created if missing), e.g. `.engineroom`. */
  dir: string;
  clock?: Clock;
}

/**
 * Opens the project's store and applies any pending migrations.
 * Throws STORE_UNAVAILABLE when the database cannot be reached, STORE_MIGRATION_FAILED when its
 * schema cannot be brought up to date, and CONFIG_INVALID for a URL of any other kind.
 *
 * @example
 * const store = await openStore({ dir: ".engineroom" });                         // SQLite
 * const shared = await openStore({ url: process.env.ENGINEROOM_STORE_URL, dir: ".engineroom" });
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store = await create(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

async function create({ url, dir, clock }: OpenStoreOptions): Promise<Store> {
  if (url && /^postgres(ql)?:\/\//i.test(url)) return new PostgresStore({ url, clock });
  if (url) {
    // A misspelt URL must not quietly fall back to a second, empty store.
    throw new EngineError("CONFIG_INVALID", "The store URL must start with postgres:// or postgresql://; leave it unset for the embedded SQLite store.");
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new EngineError("STORE_UNAVAILABLE", `Cannot create the store folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return new SqliteStore({ path: join(dir, "engineroom.db"), clock });
}
