/**
 * Migrations 13 and 15 on both backends: config snapshots, the engine's named values, and chunked
 * blobs written in one transaction and read chunk by chunk.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import type { ContractStore } from "./store.contract.js";
import { testStoreBackends } from "./test-support.js";

async function* chunksOf(...parts: Buffer[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield part;
}

for (const [name, open] of testStoreBackends()) {
  describe(`store state and blobs (${name})`, () => {
    let t: ContractStore;
    before(async () => (t = await open()));
    after(() => t.cleanup());

    it("keeps the first config of a hash, and lists the hashes", async () => {
      const { store } = t;
      assert.equal(await store.state.loadConfig("sha256:aa"), undefined);
      await store.state.saveConfig("sha256:bb", { instances: 2, env: { A: "1" } });
      await store.state.saveConfig("sha256:aa", { instances: 1 });
      await store.state.saveConfig("sha256:aa", { instances: 9 });
      assert.deepEqual(await store.state.loadConfig("sha256:aa"), { instances: 1 });
      assert.deepEqual(await store.state.loadConfig("sha256:bb"), { instances: 2, env: { A: "1" } });
      assert.deepEqual(await store.state.configHashes(), ["sha256:aa", "sha256:bb"]);
    });

    it("sets named values, once when asked", async () => {
      const { store, clock } = t;
      assert.equal(await store.state.get("applied"), undefined);
      assert.equal(await store.state.set("applied", { fileHash: "x" }), true);
      clock.advance(1000);
      assert.equal(await store.state.set("applied", { fileHash: "y" }), true);
      const got = await store.state.get("applied");
      assert.deepEqual(got?.value, { fileHash: "y" });
      assert.equal(got?.updatedAt, clock.now());
      assert.equal(await store.state.set("imported:a", true, { onlyIfAbsent: true }), true);
      assert.equal(await store.state.set("imported:a", false, { onlyIfAbsent: true }), false);
      assert.deepEqual((await store.state.get("imported:a"))?.value, true);
    });

    it("writes a blob whole, reads it back chunk by chunk, keeps the first of a key and removes it", async () => {
      const { store } = t;
      const parts = [Buffer.alloc(1024 * 1024, 7), Buffer.from([0, 1, 2, 255, 0]), Buffer.alloc(3, 0)];
      const whole = Buffer.concat(parts);
      const sha256 = `sha256:${createHash("sha256").update(whole).digest("hex")}`;
      assert.equal(await store.blobs.put({ key: "sha256:one", sha256, sizeBytes: whole.length, format: "tgz" }, chunksOf(...parts)), true);
      const info = await store.blobs.info("sha256:one");
      assert.equal(info?.chunkCount, 3);
      assert.equal(info?.sizeBytes, whole.length);
      assert.equal(info?.sha256, sha256);
      const read: Buffer[] = [];
      for await (const chunk of store.blobs.read("sha256:one")) read.push(chunk);
      assert.equal(read.length, 3);
      assert.ok(Buffer.concat(read).equals(whole), "the bytes read are the bytes written");
      let pulled = false;
      async function* never(): AsyncIterable<Uint8Array> {
        pulled = true;
        yield Buffer.from("other");
      }
      assert.equal(await store.blobs.put({ key: "sha256:one", sha256: "sha256:x", sizeBytes: 5, format: "tgz" }, never()), false);
      assert.equal(pulled, false);
      assert.deepEqual(await store.blobs.keys(), ["sha256:one"]);
      assert.equal(await store.blobs.remove("sha256:one"), true);
      assert.equal(await store.blobs.remove("sha256:one"), false);
      assert.equal(await store.blobs.info("sha256:one"), undefined);
      await assert.rejects(async () => {
        for await (const _ of store.blobs.read("sha256:one")) void _;
      }, (e) => isEngineError(e) && e.code === "ARTIFACT_NOT_FOUND");
    });

    it("keeps nothing of a blob whose chunks fail half way", async () => {
      const { store } = t;
      async function* failing(): AsyncIterable<Uint8Array> {
        yield Buffer.from("first chunk");
        throw new Error("the source broke");
      }
      await assert.rejects(store.blobs.put({ key: "sha256:half", sha256: "sha256:y", sizeBytes: 30, format: "tgz" }, failing()), /the source broke/);
      assert.equal(await store.blobs.info("sha256:half"), undefined);
      assert.equal(await store.blobs.put({ key: "sha256:half", sha256: "sha256:z", sizeBytes: 2, format: "tgz" }, chunksOf(Buffer.from("ok"))), true);
      const read: Buffer[] = [];
      for await (const chunk of store.blobs.read("sha256:half")) read.push(chunk);
      assert.equal(Buffer.concat(read).toString(), "ok");
    });
  });
}
