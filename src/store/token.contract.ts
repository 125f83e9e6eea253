/**
 * The api_tokens table's part of the Store contract (called from runStoreContract, so SQLite and
 * PostgreSQL both pass it): tokens found by hash, listed newest first, uses and revocation recorded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManualClock } from "../core/index.js";
import type { StoredToken, Store } from "./types.js";

export function tokenContract(get: () => { store: Store; clock: ManualClock }): void {
  const token = (id: string, createdAt: number, overrides: Partial<StoredToken> = {}): StoredToken => ({
    id,
    name: `bot-${id}`,
    hash: `sha256:${id.padEnd(64, "0")}`,
    scopes: ["read", "rollback:production"],
    createdAt,
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  });

  describe("tokens", () => {
    it("finds a token by its hash, lists newest first, records uses forward only and revokes once", async () => {
      const { store } = get();
      const t0 = 1_767_000_000_000;
      const a = token("a", t0, { expiresAt: t0 + 86_400_000 });
      const b = token("b", t0 + 1000, { name: "ünïcode-bot" });
      await store.tokens.insert(a);
      await store.tokens.insert(b);
      assert.deepEqual(await store.tokens.byHash(a.hash), a);
      assert.equal(await store.tokens.byHash("sha256:nothing"), undefined);
      assert.deepEqual((await store.tokens.list()).map((t) => t.id), ["b", "a"]);

      await store.tokens.touch("a", t0 + 5000);
      await store.tokens.touch("a", t0 + 4000);
      assert.equal((await store.tokens.byHash(a.hash))?.lastUsedAt, t0 + 5000);

      assert.equal((await store.tokens.revoke("b", t0 + 6000))?.revokedAt, t0 + 6000);
      assert.equal((await store.tokens.revoke("b", t0 + 7000))?.revokedAt, t0 + 6000);
      assert.equal(await store.tokens.revoke("nope", t0), undefined);
      assert.deepEqual(await store.tokens.byHash(b.hash), { ...b, revokedAt: t0 + 6000 });
    });

    it("refuses a second token with the same hash", async () => {
      const { store } = get();
      await store.tokens.insert(token("c", 1));
      await assert.rejects(store.tokens.insert({ ...token("d", 2), hash: token("c", 1).hash }));
    });
  });
}
