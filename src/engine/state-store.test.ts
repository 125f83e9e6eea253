/**
 * The engine's state in the store: local files of an older engine imported once, and artifacts
 * pushed to and fetched from the `postgres` artifact store (run over SQLite and PostgreSQL: the
 * blob tables are the same on both), verified by digest.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { ArtifactStore, StoreArtifactBlobs } from "../artifact/index.js";
import { isEngineError, silentLogger } from "../core/index.js";
import type { ContractStore } from "../store/store.contract.js";
import { testStoreBackends } from "../store/test-support.js";
import { appliedKey, artifactStore, importLocalState, StoreConfigSnapshots } from "./state-store.js";

const fixtureApp = resolve(import.meta.dirname, "../../test/fixtures/app");

/** Gives write bits back to a tree of read-only artifacts, so that it can be removed. */
const writable = (dir: string) => execFileSync("chmod", ["-R", "u+w", dir]);

for (const [name, open] of testStoreBackends()) {
  describe(`engine state in the store (${name})`, () => {
    let t: ContractStore;
    let root: string;
    before(async () => {
      t = await open();
      root = mkdtempSync(join(tmpdir(), "engineroom-state-"));
    });
    after(async () => {
      await t.cleanup();
      writable(root);
      rmSync(root, { recursive: true, force: true });
    });

    it("imports an older engine's configs/ and applied.json once, then the store is the truth", async () => {
      const stateDir = join(root, "old-engine");
      mkdirSync(join(stateDir, "configs"), { recursive: true });
      const hex = "a".repeat(64);
      writeFileSync(join(stateDir, "configs", `${hex}.json`), JSON.stringify({ instances: 3 }));
      writeFileSync(join(stateDir, "applied.json"), JSON.stringify({ fileHash: "f".repeat(64), gitCommit: null, at: "2026-01-01T00:00:00.000Z" }));
      const artifacts = new ArtifactStore({ dir: join(stateDir, "artifacts") });
      assert.deepEqual(await importLocalState(t.store, stateDir, artifacts, silentLogger), { configs: 1, applied: true, artifacts: 0 });
      assert.deepEqual(await new StoreConfigSnapshots(t.store).load(`sha256:${hex}`), { instances: 3 });
      assert.equal(((await t.store.state.get(appliedKey))?.value as { fileHash: string }).fileHash, "f".repeat(64));
      assert.ok(existsSync(join(stateDir, "configs.imported")) && !existsSync(join(stateDir, "configs")), "configs/ is renamed once imported");
      assert.deepEqual(await importLocalState(t.store, stateDir, artifacts, silentLogger), { configs: 0, applied: false, artifacts: 0 }, "a second start imports nothing");

      // Another engine's stale applied.json never overwrites what the store has.
      const other = join(root, "other-engine");
      mkdirSync(other);
      writeFileSync(join(other, "applied.json"), JSON.stringify({ fileHash: "0".repeat(64), gitCommit: null, at: "2025-01-01T00:00:00.000Z" }));
      assert.equal((await importLocalState(t.store, other, new ArtifactStore({ dir: join(other, "artifacts") }), silentLogger)).applied, false);
      assert.equal(((await t.store.state.get(appliedKey))?.value as { fileHash: string }).fileHash, "f".repeat(64));
      const imported = await t.store.events.list({ types: ["state.imported"] });
      assert.equal(imported.length, 1, "state.imported only for the start that took something");
    });

    it("pushes what it adds, and fetches an artifact it never had, verified by digest", async () => {
      const source = join(root, "build");
      cpSync(fixtureApp, source, { recursive: true });
      mkdirSync(join(source, "only-folder"));
      writeFileSync(join(source, "only-folder", "big.bin"), Buffer.alloc(2.5 * 1024 * 1024, 3));
      const remote = new StoreArtifactBlobs(t.store.blobs);
      const first = new ArtifactStore({ dir: join(root, "first", "artifacts"), remote });
      const added = await first.add(source);
      assert.equal(await remote.has(added.digest), true, "added artifacts are pushed");
      assert.equal((await t.store.blobs.info(added.digest))?.chunkCount! >= 1, true);

      const second = new ArtifactStore({ dir: join(root, "second", "artifacts"), remote });
      assert.deepEqual(await second.list(), [], "nothing local");
      assert.equal(await second.has(added.digest), true, "but the shared store has it");
      const path = await second.local(added.digest);
      assert.equal(path, second.path(added.digest));
      assert.equal(await second.digestFolder(path), added.digest, "the same tree");
      assert.ok(readFileSync(join(path, "only-folder", "big.bin")).equals(Buffer.alloc(2.5 * 1024 * 1024, 3)));
      assert.deepEqual(await second.list(), [added.digest]);
    });

    it("refuses an archive that is not what the store recorded, and keeps nothing", async () => {
      const source = join(root, "build2");
      cpSync(fixtureApp, source, { recursive: true });
      writeFileSync(join(source, "marker"), "two");
      const local = new ArtifactStore({ dir: join(root, "third", "artifacts") });
      const { digest } = await local.add(source);
      // A blob whose recorded sha256 does not match its bytes (a torn or tampered copy).
      await t.store.blobs.put({ key: digest, sha256: `sha256:${"0".repeat(64)}`, sizeBytes: 4, format: "tgz" }, (async function* () {
        yield Buffer.from("junk");
      })());
      const fresh = new ArtifactStore({ dir: join(root, "fourth", "artifacts"), remote: new StoreArtifactBlobs(t.store.blobs) });
      await assert.rejects(fresh.local(digest), (e) => isEngineError(e) && e.code === "ARTIFACT_DIGEST_MISMATCH" && /Nothing was unpacked/.test(e.message));
      assert.deepEqual(await fresh.list(), []);
    });

    it("takes artifacts.store: postgres only over a PostgreSQL store", () => {
      if (t.store.kind === "postgres") assert.equal(artifactStore("postgres", t.store, root).kind, "postgres");
      else assert.throws(() => artifactStore("postgres", t.store, root), (e) => isEngineError(e) && e.code === "CONFIG_INVALID" && /SQLite/.test(e.message));
      assert.equal(artifactStore("local", t.store, root).kind, "local");
    });
  });
}
