import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock, isEngineError } from "../../core/index.js";
import { storesOnOneSchema, type TcpProxy } from "../../../test/helpers/tcp-proxy.js";
import { SqliteStore } from "../sqlite/index.js";
import type { PostgresStore } from "./index.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;
const leaseMs = 10_000;

function isNotLeader(error: unknown): boolean {
  assert.ok(isEngineError(error), `expected an EngineError, got ${String(error)}`);
  assert.equal(error.code, "NOT_LEADER", error.message);
  return true;
}

describe("leader lease and fencing on PostgreSQL", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: leader lease tests on PostgreSQL skipped" }, () => {
  const clock = new ManualClock(); // both engines' clocks, in step
  let stores: Awaited<ReturnType<typeof storesOnOneSchema>>;
  let proxy: TcpProxy;
  let a: PostgresStore; // reaches PostgreSQL through the proxy, so its link can be cut
  let b: PostgresStore;

  before(async () => {
    stores = await storesOnOneSchema(url!, clock, "er_ha");
    ({ a, b, proxy } = stores);
    await a.migrate();
  });

  after(() => stores?.cleanup());

  it("one engine leads; the other stands by and its writes are refused with the leader's address", async () => {
    const first = await a.leader.claim("engine-a", "127.0.0.1:7001", leaseMs);
    assert.ok(first.leading);
    assert.equal(first.state.term, 1);
    const second = await b.leader.claim("engine-b", "127.0.0.1:7002", leaseMs);
    assert.equal(second.leading, false);
    assert.equal(!second.leading && second.leader?.holder, "engine-a");

    await a.events.append({ type: "test.by-leader", message: "written by the leader" });
    await assert.rejects(b.events.append({ type: "test.by-standby", message: "must not land" }), (error) => {
      isNotLeader(error);
      assert.match((error as { hint: string }).hint, /127\.0\.0\.1:7001/);
      return true;
    });
    await assert.rejects(b.live.set("web", "staging", "rel_x", null), isNotLeader);
    // Reads are served by a standby.
    const seen = await b.events.list({ types: ["test."] });
    assert.deepEqual(seen.map((e) => e.type), ["test.by-leader"]);
    // Renewing keeps the term.
    clock.advance(3_000);
    const renewed = await a.leader.claim("engine-a", "127.0.0.1:7001", leaseMs);
    assert.ok(renewed.leading);
    assert.equal(renewed.state.term, 1);
  });

  it("split brain is refused: a leader cut from the database loses its lease, and its writes are refused by term when the link returns", async () => {
    const release = await a.releases.create({ service: "web", environment: "staging", artifactDigest: "sha256:aa", configHash: "c1", reason: "deploy" });
    await a.live.set("web", "staging", release.id, null);
    proxy.cut();
    await assert.rejects(a.events.append({ type: "test.cut", message: "the link is down" }), (error) => isEngineError(error) && error.code === "STORE_UNAVAILABLE");
    // Before the lease ends, the standby cannot take it.
    const early = await b.leader.claim("engine-b", "127.0.0.1:7002", leaseMs);
    assert.equal(early.leading, false);
    clock.advance(leaseMs + 1);
    const taken = await b.leader.claim("engine-b", "127.0.0.1:7002", leaseMs);
    assert.ok(taken.leading);
    assert.equal(taken.state.term, 2);
    await b.events.append({ type: "test.by-new-leader", message: "written by the new leader" });

    proxy.restore();
    // The cut engine still believes it leads (it has not renewed yet): the term refuses its writes.
    assert.equal(a.leader.fencedTerm, 1);
    await assert.rejects(a.events.append({ type: "test.by-deposed", message: "must not land" }), isNotLeader);
    await assert.rejects(a.live.set("web", "staging", "rel_other", release.id), isNotLeader);
    await assert.rejects(a.releases.transition(release.id, "failed", "deposed leader"), isNotLeader);
    await assert.rejects(a.releases.create({ service: "web", environment: "staging", artifactDigest: "sha256:bb", configHash: "c1", reason: "deploy" }), isNotLeader);
    await assert.rejects(a.locks.acquire("deploy:staging", { command: "deploy web", pid: 1, host: "a" }, 30_000), isNotLeader);
    // Its renewal finds the lease taken.
    const renewal = await a.leader.claim("engine-a", "127.0.0.1:7001", leaseMs);
    assert.equal(renewal.leading, false);
    assert.equal(!renewal.leading && renewal.leader?.holder, "engine-b");

    assert.equal((await b.releases.get(release.id))?.state, "pending");
    assert.equal((await b.live.get("web", "staging"))?.releaseId, release.id);
    const events = await b.events.list({ types: ["test."] });
    assert.deepEqual(events.map((e) => e.type), ["test.by-leader", "test.by-new-leader"]);
    assert.equal((await b.releases.list({ service: "web", environment: "staging" })).length, 1);
  });

  it("resigning hands the lease over at once, with the next term", async () => {
    assert.ok(await b.leader.resign("engine-b"));
    await assert.rejects(b.events.append({ type: "test.after-resign", message: "must not land" }), isNotLeader);
    const next = await a.leader.claim("engine-a", "127.0.0.1:7001", leaseMs);
    assert.ok(next.leading);
    assert.equal(next.state.term, 3);
    await a.events.append({ type: "test.back", message: "the first engine leads again" });
  });
});

describe("leader lease on SQLite", () => {
  it("an unclaimed store is not fenced; the single engine's claim leads", async () => {
    const store = new SqliteStore({ path: ":memory:", clock: new ManualClock() });
    await store.migrate();
    try {
      assert.equal(store.leader.fencedTerm, undefined);
      await store.events.append({ type: "test.unfenced", message: "no claim, no fence" });
      const claim = await store.leader.claim("only", null, leaseMs);
      assert.ok(claim.leading);
      await store.events.append({ type: "test.fenced", message: "the leader writes" });
      assert.equal((await store.events.list({ types: ["test."] })).length, 2);
    } finally {
      await store.close();
    }
  });
});
