import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isEngineError, ManualClock } from "../../core/index.js";
import { openStore } from "../index.js";
import { runStoreContract } from "../store.contract.js";
import { SqliteStore } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "engineroom-sqlite-"));
after(() => rm(root, { recursive: true, force: true }));
let stores = 0;

runStoreContract("SqliteStore (file)", async () => {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: join(root, `contract-${++stores}.db`), clock });
  await store.migrate();
  return { store, clock, cleanup: () => store.close() };
});

describe("SqliteStore", () => {
  it("openStore creates the folder and an engineroom.db in it, migrated", async () => {
    const dir = join(root, "project", ".engineroom");
    const store = await openStore({ dir, clock: new ManualClock() });
    try {
      assert.equal(store.kind, "sqlite");
      assert.ok(existsSync(join(dir, "engineroom.db")));
      assert.equal((await store.releases.create({ service: "web", environment: "staging", artifactDigest: "sha256:1", configHash: "c", reason: "r" })).number, 1);
    } finally {
      await store.close();
    }
  });

  it("keeps its data across a close and reopen", async () => {
    const dir = join(root, "reopen");
    const first = await openStore({ dir });
    const release = await first.releases.create({ service: "web", environment: "staging", artifactDigest: "sha256:1", configHash: "c", reason: "r" });
    await first.close();
    await first.close();
    const second = await openStore({ dir });
    try {
      assert.deepEqual(await second.releases.get(release.id), release);
    } finally {
      await second.close();
    }
  });

  it("gives distinct numbers when two stores on one file create at once", async () => {
    const path = join(root, "shared.db");
    const [a, b] = [new SqliteStore({ path }), new SqliteStore({ path })];
    await a.migrate();
    await b.migrate();
    try {
      const create = (store: SqliteStore) => store.releases.create({ service: "web", environment: "staging", artifactDigest: "sha256:1", configHash: "c", reason: "r" });
      const releases = await Promise.all(Array.from({ length: 6 }, (_, i) => create(i % 2 ? a : b)));
      assert.deepEqual(releases.map((r) => r.number).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("works in memory", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    await store.migrate();
    assert.equal((await store.events.append({ type: "x", message: "m" })).id, 1);
    await store.close();
  });

  it("reports a file it cannot open as STORE_UNAVAILABLE", () => {
    assert.throws(
      () => new SqliteStore({ path: join(root, "missing-folder", "x", "engineroom.db") }),
      (e) => isEngineError(e) && e.code === "STORE_UNAVAILABLE",
    );
  });

  it("refuses a store URL that is not PostgreSQL rather than falling back to SQLite", async () => {
    await assert.rejects(openStore({ url: "postgress://typo", dir: join(root, "typo") }), (e) => isEngineError(e) && e.code === "CONFIG_INVALID");
  });
});
