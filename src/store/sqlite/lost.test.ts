import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isEngineError, type EngineError } from "../../core/index.js";
import { openStore } from "../index.js";
import { SqliteStore } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "engineroom-sqlite-lost-"));
after(() => rm(root, { recursive: true, force: true }));
let count = 0;

const release = { service: "web", environment: "production", artifactDigest: "sha256:1", configHash: "c", reason: "r" };
const lost = (reason: RegExp) => (error: unknown) => isEngineError(error) && error.code === "STORE_LOST" && reason.test(error.message);

async function fresh(options: { onLost?: (error: EngineError) => void; checkIntervalMs?: number } = {}) {
  const dir = join(root, `state-${++count}`);
  await mkdir(dir);
  const path = join(dir, "engineroom.db");
  const store = new SqliteStore({ path, ...options });
  await store.migrate();
  return { dir, path, store };
}

describe("SqliteStore: the store file deleted or replaced", () => {
  it("fails every operation after the file is deleted with STORE_LOST, and says so once", async () => {
    const told: EngineError[] = [];
    const { path, store } = await fresh({ onLost: (error) => told.push(error) });
    try {
      await store.releases.create(release);
      await rm(path);
      await assert.rejects(store.releases.create(release), lost(/was deleted while the engine ran/));
      await assert.rejects(store.events.list({ limit: 1 }), lost(/deleted/));
      assert.equal(told.length, 1);
      assert.match(told[0]!.hint, /ENGINEROOM_ACCEPT_FRESH_STORE=1/);
    } finally {
      await store.close();
    }
  });

  it("notices a file replaced by another one", async () => {
    const { dir, path, store } = await fresh({ onLost: () => {} });
    try {
      await writeFile(join(dir, "other.db"), "");
      await rename(join(dir, "other.db"), path);
      await assert.rejects(store.releases.create(release), lost(/replaced by another file/));
    } finally {
      await store.close();
    }
  });

  it("notices it while the store is idle, on its timer", async () => {
    const told: EngineError[] = [];
    const { path, store } = await fresh({ onLost: (error) => told.push(error), checkIntervalMs: 20 });
    try {
      await rm(path);
      for (let i = 0; i < 250 && told.length === 0; i++) await sleep(20);
      assert.equal(told.length, 1);
    } finally {
      await store.close();
    }
  });

  it("refuses to start empty where the marker shows a store existed, unless told to", async () => {
    const { dir, path, store } = await fresh();
    await store.releases.create(release);
    await store.close();
    const marker = join(dir, ".engineroom.db.id");
    const before = readFileSync(marker, "utf8");
    for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
    assert.throws(() => new SqliteStore({ path, acceptFreshStore: false }), lost(/is missing, but .* shows that store [0-9a-f-]{36} existed there/));
    assert.equal(existsSync(path), false, "nothing was created");
    const again = new SqliteStore({ path, acceptFreshStore: true });
    try {
      await again.migrate();
      assert.equal((await again.releases.create(release)).number, 1, "a fresh store, on purpose");
      assert.notEqual(readFileSync(marker, "utf8"), before, "the marker names the new store");
    } finally {
      await again.close();
    }
  });

  it("makes `openStore` (what `engineroom up` calls) refuse a deleted store file, and accept none ever made", async () => {
    const dir = join(root, `up-${++count}`);
    const store = await openStore({ dir });
    await store.releases.create(release);
    await store.close();
    await rm(join(dir, "engineroom.db"));
    await assert.rejects(openStore({ dir }), lost(/refusing to start on an empty store/));
    await rm(dir, { recursive: true });
    await (await openStore({ dir })).close(); // a state folder removed whole is a fresh start on purpose
  });
});
