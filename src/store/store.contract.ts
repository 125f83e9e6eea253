/**
 * The contract every Store backend passes. A backend's test file calls `runStoreContract` with a
 * factory for fresh, migrated, empty stores.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { isEngineError, redactor, type ManualClock } from "../core/index.js";
import { alertContract } from "./alert.contract.js";
import { incidentContract } from "./incident.contract.js";
import { usageContract } from "./usage.contract.js";
import { tokenContract } from "./token.contract.js";
import { postmortemContract } from "./postmortem.contract.js";
import { runbookContract } from "./runbook.contract.js";
import { drillContract } from "./drill.contract.js";
import type { CheckBucketRecord, CheckStateRecord, LockHolder, NewRelease, Store } from "./types.js";
import type { RequestBucket } from "./types.js";

export interface ContractStore {
  /** Migrated and empty. */
  store: Store;
  /** The store's clock. */
  clock: ManualClock;
  /** Closes the store and removes what it left behind. */
  cleanup(): Promise<void>;
}

const holder: LockHolder = { command: "deploy web", pid: 4242, host: "build-1" };

function newRelease(service = "web", environment = "staging"): NewRelease {
  return { service, environment, artifactDigest: `sha256:${"ab".repeat(32)}`, configHash: "cfg1", reason: "deploy requested" };
}

/**
 * Registers the Store contract suite under `name`.
 *
 * @example
 * runStoreContract("SqliteStore", async () => {
 *   const clock = new ManualClock();
 *   const store = new SqliteStore({ path: ":memory:", clock });
 *   await store.migrate();
 *   return { store, clock, cleanup: () => store.close() };
 * });
 */
export function runStoreContract(name: string, makeStore: () => Promise<ContractStore>): void {
  describe(name, () => {
    let store: Store;
    let clock: ManualClock;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, clock, cleanup } = await makeStore());
    });
    afterEach(() => cleanup());

    describe("releases", () => {
      it("numbers releases 1, 2, 3… per service and environment", async () => {
        const first = await store.releases.create(newRelease());
        const second = await store.releases.create(newRelease());
        const production = await store.releases.create(newRelease("web", "production"));
        const api = await store.releases.create(newRelease("api"));
        assert.deepEqual([first.number, second.number, production.number, api.number], [1, 2, 1, 1]);
        assert.equal(first.state, "pending");
        assert.equal(first.reason, "deploy requested");
        assert.equal(first.createdAt, clock.now());
        assert.equal(first.updatedAt, clock.now());
        assert.match(first.id, /^rel_/);
        assert.notEqual(first.id, second.id);
      });

      it("appends a release.pending event with the release", async () => {
        const release = await store.releases.create(newRelease());
        const [event] = await store.events.list({ releaseId: release.id });
        assert.equal(event?.type, "release.pending");
        assert.equal(event?.service, "web");
        assert.equal(event?.environment, "staging");
        assert.equal(event?.time, clock.now());
      });

      it("keeps the artifact's commit, when given, in the release.pending event's data", async () => {
        const commit = { sha: "c0ffee".padEnd(40, "0"), time: 1_700_000_000_000 };
        const withCommit = await store.releases.create({ ...newRelease(), commit });
        const without = await store.releases.create(newRelease());
        const [first] = await store.events.list({ releaseId: withCommit.id });
        const [second] = await store.events.list({ releaseId: without.id });
        assert.deepEqual(first?.data.commit, commit);
        assert.equal("commit" in (second?.data ?? {}), false);
      });

      it("gets a release by id, and undefined for an unknown one", async () => {
        const release = await store.releases.create(newRelease());
        assert.deepEqual(await store.releases.get(release.id), release);
        assert.equal(await store.releases.get("rel_missing"), undefined);
      });

      it("lists a service's releases in one environment newest first, up to a limit", async () => {
        for (let i = 0; i < 3; i++) await store.releases.create(newRelease());
        await store.releases.create(newRelease("web", "production"));
        const all = await store.releases.list({ service: "web", environment: "staging" });
        assert.deepEqual(all.map((r) => r.number), [3, 2, 1]);
        const two = await store.releases.list({ service: "web", environment: "staging", limit: 2 });
        assert.deepEqual(two.map((r) => r.number), [3, 2]);
        assert.deepEqual(await store.releases.list({ service: "nope", environment: "staging" }), []);
      });

      it("lists releases of any service in the given states", async () => {
        const web = await store.releases.create(newRelease());
        const api = await store.releases.create(newRelease("api"));
        const done = await store.releases.create(newRelease("worker"));
        await store.releases.transition(api.id, "starting", "instances starting");
        await store.releases.transition(done.id, "failed", "health timeout");
        const inFlight = await store.releases.listInStates(["pending", "starting"]);
        assert.deepEqual(inFlight.map((r) => r.id).sort(), [web.id, api.id].sort());
        assert.deepEqual(await store.releases.listInStates([]), []);
      });

      it("transitions a release and records the event with its data, atomically", async () => {
        const release = await store.releases.create(newRelease());
        await clock.advance(1500);
        const healthy = await store.releases.transition(release.id, "healthy", "2/2 instances healthy", { instances: 2, ports: [4001, 4002] });
        assert.equal(healthy.state, "healthy");
        assert.equal(healthy.reason, "2/2 instances healthy");
        assert.equal(healthy.updatedAt, release.createdAt + 1500);
        assert.equal(healthy.createdAt, release.createdAt);
        assert.deepEqual(await store.releases.get(release.id), healthy);
        const events = await store.events.list({ releaseId: release.id });
        assert.deepEqual(events.map((e) => e.type), ["release.pending", "release.healthy"]);
        assert.deepEqual(events[1]?.data, { instances: 2, ports: [4001, 4002] });
        assert.equal(events[1]?.time, clock.now());
        assert.match(events[1]?.message ?? "", /2\/2 instances healthy/);
      });

      it("refuses to transition an unknown release with RELEASE_NOT_FOUND and records nothing", async () => {
        await assert.rejects(store.releases.transition("rel_missing", "failed", "x"), (e) => isEngineError(e) && e.code === "RELEASE_NOT_FOUND");
        assert.deepEqual(await store.events.list(), []);
      });

      it("gives distinct numbers to concurrent creates for one service", async () => {
        const releases = await Promise.all(Array.from({ length: 10 }, () => store.releases.create(newRelease())));
        assert.deepEqual(releases.map((r) => r.number).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.equal((await store.events.list({ types: ["release.pending"] })).length, 10);
      });
    });

    describe("events", () => {
      async function appendTypes(...types: string[]): Promise<void> {
        for (const type of types) await store.events.append({ type, message: type });
      }

      it("appends events with increasing ids, the clock's time and defaults", async () => {
        const first = await store.events.append({ type: "deploy.started", message: "deploying web" });
        await clock.advance(10);
        const second = await store.events.append({
          type: "instance.crashed",
          message: "instance exited",
          service: "web",
          environment: "staging",
          releaseId: "rel_x",
          data: { exitCode: 1, nested: { ok: false } },
        });
        assert.ok(second.id > first.id);
        assert.equal(second.time, first.time + 10);
        assert.deepEqual(
          { service: first.service, environment: first.environment, releaseId: first.releaseId, data: first.data },
          { service: null, environment: null, releaseId: null, data: {} },
        );
        assert.deepEqual(await store.events.list(), [first, second]);
      });

      it("lists the events after an id, oldest first", async () => {
        await appendTypes("a.1", "a.2", "a.3", "a.4");
        const all = await store.events.list();
        const after = await store.events.list({ afterId: all[1]!.id });
        assert.deepEqual(after.map((e) => e.type), ["a.3", "a.4"]);
        assert.deepEqual(await store.events.list({ afterId: all[3]!.id }), []);
        const page = await store.events.list({ afterId: all[0]!.id, limit: 2 });
        assert.deepEqual(page.map((e) => e.type), ["a.2", "a.3"]);
      });

      it("filters by exact types and by prefixes ending in a dot", async () => {
        await appendTypes("release.live", "release.failed", "releases.pruned", "deploy.started", "instance.crashed");
        const exact = await store.events.list({ types: ["release.live", "deploy.started"] });
        assert.deepEqual(exact.map((e) => e.type), ["release.live", "deploy.started"]);
        const prefix = await store.events.list({ types: ["release."] });
        assert.deepEqual(prefix.map((e) => e.type), ["release.live", "release.failed"]);
        const mixed = await store.events.list({ types: ["release.", "instance.crashed"] });
        assert.deepEqual(mixed.map((e) => e.type), ["release.live", "release.failed", "instance.crashed"]);
        assert.deepEqual(await store.events.list({ types: [] }), []);
      });

      it("filters by time: since inclusive, until exclusive, with the other filters", async () => {
        const start = clock.now();
        await store.events.append({ type: "release.live", message: "at 0" });
        await clock.advance(1000);
        await store.events.append({ type: "release.live", message: "at 1000" });
        await store.events.append({ type: "incident.opened", message: "at 1000" });
        await clock.advance(1000);
        await store.events.append({ type: "release.live", message: "at 2000" });
        const within = await store.events.list({ since: start + 1000, until: start + 2000, limit: 10 });
        assert.deepEqual(within.map((e) => `${e.type} ${e.message}`), ["release.live at 1000", "incident.opened at 1000"]);
        const typed = await store.events.list({ since: start + 1000, types: ["release."], limit: 10 });
        assert.deepEqual(typed.map((e) => e.message), ["at 1000", "at 2000"]);
        assert.deepEqual(await store.events.list({ until: start }), []);
      });

      it("limits to the newest events, still oldest first", async () => {
        await appendTypes("e.1", "e.2", "e.3", "e.4", "e.5");
        const newest = await store.events.list({ limit: 2 });
        assert.deepEqual(newest.map((e) => e.type), ["e.4", "e.5"]);
        assert.equal((await store.events.list()).length, 5);
      });

      it("defaults to the newest 100 events", async () => {
        for (let i = 1; i <= 105; i++) await store.events.append({ type: "tick", message: String(i) });
        const events = await store.events.list();
        assert.equal(events.length, 100);
        assert.equal(events[0]?.message, "6");
        assert.equal(events[99]?.message, "105");
      });

      it("filters by service, environment and release", async () => {
        await store.events.append({ type: "x", message: "1", service: "web", environment: "staging", releaseId: "rel_a" });
        await store.events.append({ type: "x", message: "2", service: "web", environment: "production", releaseId: "rel_b" });
        await store.events.append({ type: "x", message: "3", service: "api", environment: "staging" });
        const messages = async (query: Parameters<Store["events"]["list"]>[0]) => (await store.events.list(query)).map((e) => e.message);
        assert.deepEqual(await messages({ service: "web" }), ["1", "2"]);
        assert.deepEqual(await messages({ service: "web", environment: "staging" }), ["1"]);
        assert.deepEqual(await messages({ releaseId: "rel_b" }), ["2"]);
        assert.deepEqual(await messages({ environment: "staging" }), ["1", "3"]);
      });

      it("keeps registered secret values out of event messages and data", async () => {
        redactor.add("contract-secret", "s3cr3t-contract-value");
        const event = await store.events.append({ type: "x", message: "token s3cr3t-contract-value", data: { header: "Bearer s3cr3t-contract-value" } });
        const [stored] = await store.events.list();
        assert.deepEqual(stored, event);
        assert.equal(stored?.message, "token [REDACTED:contract-secret]");
        assert.deepEqual(stored?.data, { header: "Bearer [REDACTED:contract-secret]" });
      });
    });

    describe("live", () => {
      it("sets, gets, lists and removes what each service points at", async () => {
        assert.equal(await store.live.get("web", "staging"), undefined);
        const first = await store.live.set("web", "staging", "rel_1", null);
        assert.deepEqual(first, { service: "web", environment: "staging", releaseId: "rel_1", previousReleaseId: null, switchedAt: clock.now() });
        await clock.advance(60_000);
        const second = await store.live.set("web", "staging", "rel_2", "rel_1");
        assert.equal(second.previousReleaseId, "rel_1");
        assert.equal(second.switchedAt, first.switchedAt + 60_000);
        assert.deepEqual(await store.live.get("web", "staging"), second);
        await store.live.set("api", "staging", "rel_3", null);
        await store.live.set("web", "production", "rel_4", null);
        assert.deepEqual((await store.live.list()).map((r) => r.releaseId), ["rel_4", "rel_3", "rel_2"]);
        assert.deepEqual((await store.live.list("staging")).map((r) => r.service), ["api", "web"]);
        await store.live.remove("web", "staging");
        assert.equal(await store.live.get("web", "staging"), undefined);
        await store.live.remove("web", "staging");
        assert.equal((await store.live.list()).length, 2);
      });
    });

    describe("locks", () => {
      it("grants a lease and refuses a second holder, naming the first without its token", async () => {
        const first = await store.locks.acquire("deploy:web", holder, 30_000);
        assert.ok(first.acquired);
        assert.equal(first.lock.expiresAt, clock.now() + 30_000);
        assert.equal(first.lock.acquiredAt, clock.now());
        assert.ok(first.lock.token.length >= 16);
        const second = await store.locks.acquire("deploy:web", { command: "rollback web", pid: 7, host: "laptop" }, 30_000);
        assert.equal(second.acquired, false);
        assert.ok(!second.acquired);
        assert.deepEqual(second.heldBy, { key: "deploy:web", ...holder, acquiredAt: clock.now(), expiresAt: clock.now() + 30_000 });
        assert.equal("token" in second.heldBy, false);
        assert.ok((await store.locks.acquire("deploy:api", holder, 30_000)).acquired);
      });

      it("lets only one of many concurrent acquirers win", async () => {
        const results = await Promise.all(Array.from({ length: 8 }, (_, pid) => store.locks.acquire("plan", { ...holder, pid }, 10_000)));
        assert.equal(results.filter((r) => r.acquired).length, 1);
      });

      it("renews a lease with its token and releases it only with its token", async () => {
        const result = await store.locks.acquire("deploy:web", holder, 1000);
        assert.ok(result.acquired);
        await clock.advance(800);
        assert.equal(await store.locks.renew("deploy:web", result.lock.token, 1000), true);
        assert.equal((await store.locks.get("deploy:web"))?.expiresAt, clock.now() + 1000);
        assert.equal(await store.locks.renew("deploy:web", "wrong-token", 1000), false);
        assert.equal(await store.locks.release("deploy:web", "wrong-token"), false);
        assert.ok(await store.locks.get("deploy:web"));
        assert.equal(await store.locks.release("deploy:web", result.lock.token), true);
        assert.equal(await store.locks.get("deploy:web"), undefined);
        assert.equal(await store.locks.release("deploy:web", result.lock.token), false);
      });

      it("lets an expired lease be taken over, after which the old token holds nothing", async () => {
        const old = await store.locks.acquire("deploy:web", holder, 1000);
        assert.ok(old.acquired);
        await clock.advance(999);
        assert.equal((await store.locks.acquire("deploy:web", { ...holder, pid: 2 }, 1000)).acquired, false);
        await clock.advance(1);
        assert.equal(await store.locks.get("deploy:web"), undefined, "an expired lease is free");
        const taker = await store.locks.acquire("deploy:web", { ...holder, pid: 2 }, 1000);
        assert.ok(taker.acquired);
        assert.notEqual(taker.lock.token, old.lock.token);
        assert.equal(await store.locks.renew("deploy:web", old.lock.token, 1000), false);
        assert.equal(await store.locks.release("deploy:web", old.lock.token), false);
        assert.equal((await store.locks.get("deploy:web"))?.pid, 2);
      });

      it("force-releases a lease, returning whom it was taken from", async () => {
        const result = await store.locks.acquire("deploy:web", holder, 1000);
        assert.ok(result.acquired);
        const { token: _token, ...expected } = result.lock;
        assert.deepEqual(await store.locks.forceRelease("deploy:web"), expected);
        assert.equal(await store.locks.forceRelease("deploy:web"), undefined);
        assert.ok((await store.locks.acquire("deploy:web", holder, 1000)).acquired);
      });
    });

    describe("artifacts", () => {
      it("records an artifact once and keeps the first record", async () => {
        const digest = `sha256:${"cd".repeat(32)}`;
        assert.equal(await store.artifacts.get(digest), undefined);
        const first = await store.artifacts.put({ digest, source: "./build", sizeBytes: 5_000_000_000, fileCount: 12 });
        assert.deepEqual(first, { digest, source: "./build", sizeBytes: 5_000_000_000, fileCount: 12, createdAt: clock.now() });
        await clock.advance(1000);
        assert.deepEqual(await store.artifacts.put({ digest, source: "./elsewhere", sizeBytes: 1, fileCount: 1 }), first);
        assert.deepEqual(await store.artifacts.get(digest), first);
      });

      it("keeps an uploaded artifact's provenance, adds it to a record without one, and keeps the first", async () => {
        const provenance = { commit: "a".repeat(40), commitTime: 1_700_000_000_000, branch: "main", runUrl: "https://ci.example/run/1", tests: { tests: 3, failures: 0, errors: 0, skipped: 1, timeMs: 12.5 }, signedBy: "ci", uploadedAt: clock.now() };
        const uploaded = `sha256:${"ce".repeat(32)}`;
        const record = await store.artifacts.put({ digest: uploaded, source: "ci upload", sizeBytes: 10, fileCount: 1, provenance });
        assert.deepEqual(record.provenance, provenance);
        const plain = `sha256:${"cf".repeat(32)}`;
        assert.equal((await store.artifacts.put({ digest: plain, source: "./build", sizeBytes: 10, fileCount: 1 })).provenance, undefined);
        assert.deepEqual((await store.artifacts.put({ digest: plain, source: "ci upload", sizeBytes: 10, fileCount: 1, provenance })).provenance, provenance);
        const later = { ...provenance, commit: "b".repeat(40) };
        assert.deepEqual((await store.artifacts.put({ digest: plain, source: "ci upload", sizeBytes: 10, fileCount: 1, provenance: later })).provenance, provenance);
        assert.equal((await store.artifacts.get(plain))?.source, "./build");
      });
    });

    describe("checks", () => {
      const state = (name: string, overrides: Partial<CheckStateRecord> = {}): CheckStateRecord => ({
        name,
        state: "up",
        since: clock.now(),
        consecutiveFailures: 0,
        consecutivePasses: 4,
        lastResult: { ok: true, durationMs: 12.5, fields: { status: 200 } },
        updatedAt: clock.now(),
        ...overrides,
      });
      const bucket = (name: string, start: number, runs: number, overrides: Partial<CheckBucketRecord> = {}): CheckBucketRecord => {
        const latency = new Array<number>(16).fill(0);
        latency[3] = runs;
        return { name, start, runs, failures: 0, sumMs: runs * 7.25, maxMs: 9.5, latency, ...overrides };
      };

      it("saves states, replaces them by name, and lists them", async () => {
        assert.deepEqual(await store.checks.states(), []);
        await store.checks.saveStates([state("web.health.production"), state("api", { state: "pending", lastResult: null })]);
        await store.checks.saveStates([state("web.health.production", { state: "down", consecutiveFailures: 3, consecutivePasses: 0 })]);
        const states = await store.checks.states();
        assert.deepEqual(states.map((s) => [s.name, s.state, s.consecutiveFailures]), [["api", "pending", 0], ["web.health.production", "down", 3]]);
        assert.equal(states[0]!.lastResult, null);
        assert.deepEqual(states[1]!.lastResult, { ok: true, durationMs: 12.5, fields: { status: 200 } });
      });

      it("saves a transition and its event in one go", async () => {
        const event = await store.checks.transition(state("web", { state: "down" }), { type: "check.down", message: "web is down", data: { error: "refused" } });
        assert.equal(event.type, "check.down");
        assert.equal((await store.checks.states())[0]!.state, "down");
        assert.deepEqual((await store.events.list({ types: ["check."] })).map((e) => e.data), [{ error: "refused" }]);
      });

      it("writes buckets per resolution, replaces them by name and start, and reads ranges", async () => {
        const t0 = Date.UTC(2026, 0, 1, 10, 0);
        const many = Array.from({ length: 1203 }, (_, i) => bucket(`c${String(i).padStart(4, "0")}`, t0, 6));
        await store.checks.writeBuckets("minute", many, [state("c0000")]);
        await store.checks.writeBuckets("minute", [bucket("c0001", t0, 5, { failures: 2, latency: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5] })]);
        await store.checks.writeBuckets("minute", [bucket("c0001", t0 + 60_000, 6)]);
        await store.checks.writeBuckets("hour", [bucket("c0001", t0, 11)]);
        const all = await store.checks.buckets({ resolution: "minute", from: t0, to: t0 + 60_000 });
        assert.equal(all.length, 1203);
        assert.deepEqual(all[0], bucket("c0000", t0, 6));
        const one = await store.checks.buckets({ resolution: "minute", from: t0, name: "c0001" });
        assert.deepEqual(one.map((b) => [b.start, b.runs, b.failures, b.latency[15]]), [[t0, 5, 2, 5], [t0 + 60_000, 6, 0, 0]]);
        assert.deepEqual((await store.checks.buckets({ resolution: "hour", from: 0 })).map((b) => b.runs), [11]);
        assert.equal(await store.checks.newest("minute"), t0 + 60_000);
        assert.equal(await store.checks.newest("day"), undefined);
        assert.equal((await store.checks.states()).length, 1);
      });

      it("prunes buckets that start before a time", async () => {
        const t0 = Date.UTC(2026, 0, 1);
        await store.checks.writeBuckets("day", [bucket("a", t0, 1), bucket("a", t0 + 86_400_000, 1), bucket("b", t0, 1)]);
        assert.equal(await store.checks.prune("day", t0 + 86_400_000), 2);
        assert.deepEqual((await store.checks.buckets({ resolution: "day", from: 0 })).map((b) => [b.name, b.start]), [["a", t0 + 86_400_000]]);
        assert.equal(await store.checks.prune("day", t0), 0);
      });
    });

    describe("requests", () => {
      const minute = 60_000;
      const hour = 3_600_000;
      const t0 = Date.UTC(2026, 0, 1);
      /** A bucket of `ok` 2xx answers, `bad` 5xx, `upstream` upstream errors of which `retried` were retried; latency in bucket 3 (≤ 10 ms) and 9 (≤ 500 ms) for the 5xx. */
      const bucket = (time: number, ok: number, bad = 0, upstream = 0, retried = 0, at: Partial<RequestBucket> = {}): RequestBucket => {
        const latency = new Array<number>(16).fill(0);
        latency[3] = ok;
        latency[9] = bad + upstream - retried;
        return {
          service: "web", environment: "production", releaseId: "rel_1", time,
          status: { "1xx": 0, "2xx": ok, "3xx": 0, "4xx": 0, "5xx": bad },
          upstreamErrors: upstream, upstreamTimeouts: 0, retried, clientAborts: 1, latency, ...at,
        };
      };

      it("sums minutes over a window, minute-exact at its edges, with what clients saw", async () => {
        await store.requests.record([bucket(t0, 10, 1), bucket(t0 + minute, 20, 0, 3, 1), bucket(t0 + 2 * minute, 30)]);
        const middle = await store.requests.counts({ service: "web", environment: "production", fromMs: t0 + minute, toMs: t0 + 2 * minute });
        assert.equal(middle.requests, 22, "20 answers and the 2 upstream errors not retried");
        assert.equal(middle.errors, 2);
        assert.equal(middle.upstreamErrors, 3);
        assert.equal(middle.retried, 1);
        assert.equal(middle.clientAborts, 1);
        assert.equal(middle.latency[3], 20);
        const all = await store.requests.counts({ service: "web", environment: "production", fromMs: t0, toMs: t0 + 3 * minute });
        assert.deepEqual([all.requests, all.errors, all.status["2xx"], all.status["5xx"]], [63, 3, 60, 1]);
        const none = await store.requests.counts({ service: "api", fromMs: t0, toMs: t0 + 3 * minute });
        assert.deepEqual([none.requests, none.errors, none.latency.length], [0, 0, 16]);
      });

      it("adds a minute recorded twice, and releases and environments apart", async () => {
        await store.requests.record([bucket(t0, 5), bucket(t0, 7, 1), bucket(t0, 100, 0, 0, 0, { releaseId: "rel_2" }), bucket(t0, 1000, 0, 0, 0, { environment: "staging" })]);
        const production = await store.requests.counts({ environment: "production", service: "web", fromMs: t0, toMs: t0 + minute });
        assert.equal(production.requests, 113);
        const release = await store.requests.counts({ releaseId: "rel_1", fromMs: t0, toMs: t0 + minute });
        assert.equal(release.requests, 1013, "release rel_1 in both environments");
        const [first, ...rest] = await store.requests.list({ environment: "production", fromMs: t0, toMs: t0 + hour, resolution: "minute" });
        assert.equal(rest.length, 1);
        assert.deepEqual([first!.releaseId, first!.time, first!.status["2xx"], first!.status["5xx"], first!.clientAborts], ["rel_1", t0, 12, 1, 2]);
        assert.equal(await store.requests.lastMinute("production"), t0);
        assert.equal(await store.requests.lastMinute("nowhere"), undefined);
      });

      it("rolls minutes up into hours as they are recorded, so pruned minutes lose nothing of the hours", async () => {
        // 3 hours and 30 minutes of one request a minute, with an error every 10th minute.
        const minutes = Array.from({ length: 210 }, (_, i) => bucket(t0 + i * minute, 1, i % 10 === 0 ? 1 : 0));
        await store.requests.record(minutes);
        const hours = await store.requests.list({ fromMs: t0, toMs: t0 + 4 * hour, resolution: "hour" });
        assert.deepEqual(hours.map((h) => [h.time - t0, h.status["2xx"], h.status["5xx"]]), [[0, 60, 6], [hour, 60, 6], [2 * hour, 60, 6], [3 * hour, 30, 3]]);
        // From minute 30 to minute 200: edges from the minutes, hours 1 and 2 whole.
        const window = await store.requests.counts({ service: "web", fromMs: t0 + 30 * minute, toMs: t0 + 200 * minute });
        assert.deepEqual([window.requests, window.errors], [170 + 17, 17]);
        assert.deepEqual(await store.requests.prune({ minutesBefore: t0 + 2 * hour, hoursBefore: t0 + hour }), { minutes: 120, hours: 1 });
        // Its first edge (minutes 30–59) is gone with its hour: the window counts from hour 1.
        const after = await store.requests.counts({ service: "web", fromMs: t0 + 30 * minute, toMs: t0 + 200 * minute });
        assert.deepEqual([after.requests, after.errors], [140 + 14, 14]);
        const recent = await store.requests.counts({ service: "web", fromMs: t0 + 150 * minute, toMs: t0 + 200 * minute });
        assert.deepEqual([recent.requests, recent.errors], [55, 5]);
      });
    });

    alertContract(() => ({ store, clock }));
    incidentContract(() => ({ store, clock }));
    usageContract(() => ({ store, clock }));
    tokenContract(() => ({ store, clock }));
    postmortemContract(() => ({ store, clock }));
    runbookContract(() => ({ store, clock }));
    drillContract(() => ({ store, clock }));

    describe("migrations", () => {
      it("migrates again without change or loss", async () => {
        const release = await store.releases.create(newRelease());
        await store.migrate();
        await store.migrate();
        assert.deepEqual(await store.releases.get(release.id), release);
      });
    });
  });
}
