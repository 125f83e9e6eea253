import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import { applyMigrations, migrations, type Migration } from "./migrations.js";
import { SqliteStore } from "./sqlite/index.js";

/** A SQLite store whose migrations a test chooses. */
class ProbeStore extends SqliteStore {
  constructor() {
    super({ path: ":memory:" });
  }
  apply(list: readonly Migration[]): Promise<number[]> {
    return applyMigrations(this.db, () => 0, list);
  }
  async tables(): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    return rows.map((r) => r.name);
  }
}

const both = (sql: string) => ({ sqlite: sql, postgres: sql });

describe("migrations", () => {
  it("are numbered 1, 2, 3… in order", () => {
    assert.deepEqual(migrations.map((m) => m.version), migrations.map((_, i) => i + 1));
  });

  it("apply each pending migration once and record it", async () => {
    const store = new ProbeStore();
    assert.deepEqual(await store.apply(migrations), migrations.map((m) => m.version));
    assert.deepEqual(await store.apply(migrations), []);
    const tables = await store.tables();
    for (const table of ["artifacts", "events", "live", "locks", "releases", "schema_migrations", "check_state", "check_minutes", "check_hours", "check_days"]) {
      assert.ok(tables.includes(table), `${table} is missing from ${tables.join(", ")}`);
    }
    await store.close();
  });

  it("roll a failing migration back whole and report STORE_MIGRATION_FAILED", async () => {
    const store = new ProbeStore();
    const list: Migration[] = [
      { version: 1, name: "one", ...both("CREATE TABLE one (id TEXT)") },
      { version: 2, name: "two", ...both("CREATE TABLE two (id TEXT); CREATE TABLE broken (") },
    ];
    await assert.rejects(store.apply(list), (e) => isEngineError(e) && e.code === "STORE_MIGRATION_FAILED" && /migration 2 \(two\)/.test(e.message));
    assert.deepEqual(await store.tables(), ["one", "schema_migrations"]);
    await store.close();
  });

  it("refuse a schema migrated by a newer Engineroom", async () => {
    const store = new ProbeStore();
    await store.apply([...migrations, { version: migrations.length + 1, name: "future", ...both("CREATE TABLE future (id TEXT)") }]);
    await assert.rejects(store.apply(migrations), (e) => isEngineError(e) && e.code === "STORE_MIGRATION_FAILED" && /newer/.test(e.message));
    await store.close();
  });
});
