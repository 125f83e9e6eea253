/**
 * Helpers for tests that need a real store: a fresh PostgreSQL store in a schema of its own, and the
 * backends a test can run over (SQLite always, PostgreSQL when ENGINEROOM_TEST_POSTGRES_URL is set).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { ManualClock } from "../core/index.js";
import { PostgresStore } from "./postgres/index.js";
import { SqliteStore } from "./sqlite/index.js";
import type { ContractStore } from "./store.contract.js";

/** Runs one statement on its own connection to `url` (schemas are created by the store, dropped with this). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A migrated, empty PostgresStore in a new schema, which `cleanup` drops. */
export async function postgresTestStore(url: string): Promise<ContractStore> {
  const clock = new ManualClock();
  const schema = `er_test_${randomBytes(6).toString("hex")}`;
  const store = new PostgresStore({ url, clock, schema });
  await store.migrate();
  return {
    store,
    clock,
    cleanup: async () => {
      await store.close();
      await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** A migrated, empty SqliteStore in memory. */
async function sqliteTestStore(): Promise<ContractStore> {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ":memory:", clock });
  await store.migrate();
  return { store, clock, cleanup: () => store.close() };
}

/** [name, factory] of every backend a test can run over here: SQLite, and PostgreSQL when ENGINEROOM_TEST_POSTGRES_URL is set. */
export function testStoreBackends(): [string, () => Promise<ContractStore>][] {
  const backends: [string, () => Promise<ContractStore>][] = [["SQLite", sqliteTestStore]];
  const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;
  if (url) backends.push(["PostgreSQL", () => postgresTestStore(url)]);
  return backends;
}
