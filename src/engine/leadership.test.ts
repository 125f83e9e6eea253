import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock, createLogger, isEngineError } from "../core/index.js";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PostgresStore, SqliteStore } from "../store/index.js";
import { storesOnOneSchema, type TcpProxy } from "../../test/helpers/tcp-proxy.js";
import { waitFor } from "../../test/helpers/wait.js";
import { Leadership, takeoverMarginMs } from "./leadership.js";

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
    // Time passes (a second per poll) past the lease: a's renewals cannot reach the store (it gives up
    // when the next try would come after the lease's end), and b takes the lease just after it ended.
    let bLed = false;
    void bLeads.then(() => (bLed = true));
    await waitFor("b leading", () => (bLed ? true : (clock.advance(1_000), false)), 60_000);
    // a gave up when its last try before the lease's end failed: before b could claim.
    assert.notEqual(lost, undefined, "a gave up before b led");
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

describe("A standby on PostgreSQL (ManualClock)", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: leadership tests on PostgreSQL skipped" }, () => {
  const clock = new ManualClock();
  const logger = createLogger({ write: () => {} });
  let stores: Awaited<ReturnType<typeof storesOnOneSchema>>;
  let a: PostgresStore;
  let b: PostgresStore;

  before(async () => {
    stores = await storesOnOneSchema(url!, clock, "er_standby");
    ({ a, b } = stores);
  });

  after(() => stores?.cleanup());

  /** Moves the clock on and waits until the standby went back to sleep (it claimed), or led. */
  const step = async (ms: number, led: () => boolean) => {
    await clock.advance(ms);
    await waitFor("the standby back asleep", () => led() || clock.pendingSleepers === 1);
  };

  it("the standby claims just after the lease it read ends, not a renew period later", { timeout: 60_000 }, async () => {
    // A leader that died right after its claim: nobody renews its lease.
    const dead = await a.leader.claim("dead-leader", "http://127.0.0.1:7009", settings.leaseMs);
    assert.equal(dead.leading, true);
    const t0 = clock.now();
    const lb = new Leadership(b, settings, { address: "http://127.0.0.1:7002", clock, logger });
    let led = false;
    void lb.lead().then(() => (led = true));
    await waitFor("b standing by", () => clock.pendingSleepers === 1);
    assert.equal(lb.status().leader?.holder, "dead-leader");
    // While the lease runs, b reads it again every renew period (a renewal or a new leader would show).
    for (let at = 1_000; at < settings.leaseMs; at += 1_000) await step(1_000, () => led);
    await step(settings.leaseMs - 1 - (clock.now() - t0), () => led);
    assert.equal(led, false, "b must not lead before the lease ends");
    assert.equal(lb.status().role, "standby");
    // The old way claimed at t0 + 12 s (every 3 s); now b wakes just after the end, t0 + 10 s + margin.
    await step(1 + takeoverMarginMs, () => led);
    await waitFor("b leading", () => led);
    const lease = (await b.leader.current())!;
    assert.equal(lease.holder, lb.holder);
    assert.equal(lease.term, dead.leading ? dead.state.term + 1 : 0);
    assert.equal(lease.acquiredAt - t0, settings.leaseMs + takeoverMarginMs);
    assert.ok(lease.acquiredAt - t0 < settings.leaseMs + settings.renewMs);
    await lb.stop();
  });

  it("a standby's latest view names the leader that took over after it stood by", { timeout: 60_000 }, async () => {
    const first = await a.leader.claim("leader-one", "http://127.0.0.1:7011", settings.leaseMs);
    assert.equal(first.leading, true);
    const lc = new Leadership(b, settings, { address: "http://127.0.0.1:7003", clock, logger });
    let latest: (() => { holder: string; address: string | null; term: number } | undefined) | undefined;
    let firstSeen: string | null | undefined;
    let led = false;
    void lc.lead({ onStandby: (leader, view) => ((firstSeen = leader?.address), (latest = view)) }).then(() => (led = true));
    await waitFor("c standing by", () => latest !== undefined && clock.pendingSleepers === 1);
    assert.equal(firstSeen, "http://127.0.0.1:7011");
    assert.equal(latest!()?.address, "http://127.0.0.1:7011");
    // leader-one resigns and leader-two takes the lease before c's next claim.
    assert.equal(await a.leader.resign("leader-one"), true);
    const second = await a.leader.claim("leader-two", "http://127.0.0.1:7012", settings.leaseMs);
    assert.equal(second.leading, true);
    await step(settings.renewMs, () => led);
    assert.equal(led, false);
    assert.deepEqual(
      { holder: latest!()?.holder, address: latest!()?.address, term: latest!()?.term },
      { holder: "leader-two", address: "http://127.0.0.1:7012", term: second.leading ? second.state.term : 0 },
    );
    assert.equal(firstSeen, "http://127.0.0.1:7011", "onStandby is told once");
    await lc.stop();
    await a.leader.resign("leader-two");
  });
});

describe("A leader whose database stops answering (ManualClock)", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: leadership tests on PostgreSQL skipped" }, () => {
  it("gives up at its lease's end while the renewal hangs, and gives the lease up should the renewal land late", { timeout: 60_000 }, async () => {
    const clock = new ManualClock();
    const schema = `er_hang_${randomBytes(6).toString("hex")}`;
    const store = new PostgresStore({ url: url!, clock, schema });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await store.migrate();
      const leadership = new Leadership(store, settings, { address: "http://127.0.0.1:7021", clock, logger: createLogger({ write: () => {} }) });
      await leadership.lead();
      const end = (await store.leader.current())!.expiresAt;
      let lost: string | undefined;
      leadership.onLost((reason) => (lost = reason));
      // A lock on the lease row: the leader's next renewal waits for it, as on a database that does not answer.
      await admin.query("BEGIN");
      await admin.query(`SELECT * FROM ${schema}.leader_lease FOR UPDATE`);
      await clock.advance(settings.renewMs);
      // The renewal is in flight, racing the lease's end (the one sleeper).
      await waitFor("the renewal in flight", () => clock.pendingSleepers === 1);
      await clock.advance(end - clock.now() - 1);
      assert.equal(lost, undefined, "the lease has not ended yet");
      await clock.advance(1);
      await waitFor("the leader giving up", () => lost !== undefined);
      assert.match(lost!, /no renewal answered before the lease ended/);
      assert.equal(leadership.status().role, "standby");
      // The renewal lands once the lock goes: it is given up again at once, so a standby need not wait another lease.
      await admin.query("ROLLBACK");
      await waitFor("the late renewal given up", async () => (await store.leader.current())!.expiresAt <= clock.now());
      await leadership.stop();
    } finally {
      await admin.query("ROLLBACK").catch(() => {});
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
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
