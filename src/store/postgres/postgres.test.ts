import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isEngineError } from "../../core/index.js";
import { openStore } from "../index.js";
import { runStoreContract } from "../store.contract.js";
import { adminQuery, postgresTestStore } from "../test-support.js";
import { describePostgresUrl, PostgresStore } from "./index.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;
const password = "hunter2-not-for-logs";

/** Runs one statement on its own connection (schemas are created by the store, dropped here). */
const admin = (sql: string) => adminQuery(url!, sql);

function isUnavailableWithoutPassword(error: unknown): boolean {
  assert.ok(isEngineError(error), `expected an EngineError, got ${String(error)}`);
  assert.equal(error.code, "STORE_UNAVAILABLE");
  const shown = JSON.stringify(error.toJSON()) + error.message + error.stack;
  assert.ok(!shown.includes(password), `the password leaked: ${error.message}`);
  return true;
}

if (url) {
  runStoreContract("PostgresStore", () => postgresTestStore(url));
} else {
  it("PostgresStore contract", { skip: "ENGINEROOM_TEST_POSTGRES_URL not set: PostgreSQL store contract skipped" }, () => {});
}

describe("PostgresStore connection failures", () => {
  it("reports an unreachable server as STORE_UNAVAILABLE without the password", async () => {
    const store = new PostgresStore({ url: `postgres://engineroom:${password}@127.0.0.1:1/engineroom`, connectTimeoutMs: 2000 });
    try {
      await assert.rejects(store.migrate(), isUnavailableWithoutPassword);
      await assert.rejects(store.events.list(), isUnavailableWithoutPassword);
    } finally {
      await store.close();
    }
  });

  it("openStore picks PostgreSQL for a postgresql:// URL and closes it when it cannot connect", async () => {
    await assert.rejects(openStore({ url: `postgresql://engineroom:${password}@127.0.0.1:1/x`, dir: "/nonexistent" }), isUnavailableWithoutPassword);
  });

  it("masks the password when it shows the URL", () => {
    assert.equal(describePostgresUrl(`postgres://engineroom:${password}@db:5432/er`), "postgres://engineroom:***@db:5432/er");
    assert.equal(describePostgresUrl("not a url"), "(unparseable PostgreSQL URL)");
  });

  it("refuses a schema that is not a plain identifier", () => {
    assert.throws(() => new PostgresStore({ url: "postgres://127.0.0.1:1/x", schema: "x; DROP TABLE y" }), (e) => isEngineError(e) && e.code === "CONFIG_INVALID");
  });

  it("reports a database that does not exist as STORE_UNAVAILABLE without the password", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set" }, async () => {
    const target = new URL(url!);
    target.password = password;
    target.pathname = "/engineroom_no_such_database";
    const store = new PostgresStore({ url: target.toString() });
    try {
      await assert.rejects(store.migrate(), isUnavailableWithoutPassword);
    } finally {
      await store.close();
    }
  });

  it("openStore opens a migrated PostgreSQL store", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set" }, async () => {
    // openStore takes no schema option; a URL's `options` parameter keeps this test out of `public`.
    const schema = `er_test_${randomBytes(6).toString("hex")}`;
    await admin(`CREATE SCHEMA ${schema}`);
    const target = new URL(url!);
    target.searchParams.set("options", `-c search_path=${schema}`);
    try {
      const store = await openStore({ url: target.toString(), dir: "/nonexistent" });
      try {
        assert.equal(store.kind, "postgres");
        assert.deepEqual(await store.live.get("no-such-service", "nowhere"), undefined);
      } finally {
        await store.close();
      }
    } finally {
      await admin(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
