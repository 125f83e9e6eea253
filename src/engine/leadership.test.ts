import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock, createLogger, isEngineError } from "../core/index.js";
import { SqliteStore, type PostgresStore } from "../store/index.js";
import { storesOnOneSchema, type TcpProxy } from "../../test/helpers/tcp-proxy.js";
import { waitFor } from "../../test/helpers/wait.js";
import { Leadership } from "./leadership.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;
const settings = { leaseMs: 10_000, renewMs: 3_000 };

describe("Leadership on PostgreSQL (ManualClock)", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: leadership tests on PostgreSQL skipped" }, () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
  let stores: Awaited<ReturnType<typeof storesOnOneSchema>>;
  let proxy: TcpProxy;
  let a: PostgresStore;
  let b: PostgresStore;

  before(async () => {
    stores = await storesOnOneSchema(url!, clock, "er_lead");
    ({ a, b, proxy } = stores);
  });

  after(() => stores?.cleanup());

  it("the standby waits while the leader renews, and leads once a leader cut from the database gives up its lease", { timeout: 60_000 }, async () => {
    const la = new Leadership(a, settings, { address: "http://127.0.0.1:7001", clock, logger });
    const lb = new Leadership(b, settings, { address: "http://127.0.0.1:7002", clock, logger });
    await la.lead();
    assert.equal(la.status().role, "leader");
    assert.equal(la.status().term, 1);
    let stoodBy: string | undefined;
    const bLeads = lb.lead({ onStandby: (leader) => (stoodBy = leader?.address ?? undefined) });
    await waitFor("b standing by", () => stoodBy !== undefined);
    assert.equal(stoodBy, "http://127.0.0.1:7001");
    assert.equal(lb.status().role, "standby");
    assert.equal(lb.status().leader?.holder, la.holder);

    // A renewal in time keeps the lease: the standby's claim at the same moment fails.
    clock.advance(3_000);
    await waitFor("a's renewal", async () => (await b.leader.current())!.expiresAt === clock.now() + settings.leaseMs);
    assert.equal(lb.status().role, "standby");

    let lost: string | undefined;
    la.onLost((reason) => (lost = reason));
    proxy.cut();
    // Time passes (a second per poll) past the lease: a's renewals cannot reach the store (lost after a
    // whole lease), and b, claiming every renew, takes the lease once it ended.
    let bLed = false;
    void bLeads.then(() => (bLed = true));
    await waitFor("b leading", () => (bLed ? true : (clock.advance(1_000), false)), 60_000);
    assert.equal(lb.status().role, "leader");
    assert.equal(lb.status().term, 2);
    await waitFor("a giving up", () => lost !== undefined);
    assert.match(lost!, /no renewal reached the store/);
    assert.equal(la.status().role, "standby");

    proxy.restore();
    await assert.rejects(a.events.append({ type: "test.deposed", message: "must not land" }), (error) => isEngineError(error) && error.code === "NOT_LEADER");
    await b.events.append({ type: "test.leader", message: "the new leader writes" });
    await la.stop();
    await lb.stop(); // resigns: the lease is free at once
    const after = await b.leader.current();
    assert.ok(after && after.expiresAt <= clock.now());
  });
});

describe("Leadership on SQLite", () => {
  it("the single engine leads without a claim", async () => {
    const store = new SqliteStore({ path: ":memory:", clock: new ManualClock() });
    await store.migrate();
    try {
      const leadership = new Leadership(store, settings, { address: null, clock: new ManualClock(), logger: createLogger({ write: () => {} }) });
      await leadership.lead();
      assert.equal(leadership.status().role, "single");
      assert.equal(await store.leader.current(), undefined);
      assert.equal(store.leader.fencedTerm, undefined);
      await leadership.stop();
    } finally {
      await store.close();
    }
  });
});
