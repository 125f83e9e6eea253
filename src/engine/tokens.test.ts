import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { EngineError, ManualClock } from "../core/index.js";
import { SqliteStore } from "../store/index.js";
import { AuditTrail } from "./audit.js";
import { RateLimiter } from "./rate-limit.js";
import { TokenService } from "./tokens.js";
import { adminCaller } from "./access.js";

const code = (expected: string) => (error: unknown) => error instanceof EngineError && error.code === expected;

describe("tokens, audit and rate limit over a real store", () => {
  let store: SqliteStore;
  let clock: ManualClock;
  let tokens: TokenService;
  const admin = "the-admin-token-of-the-state-folder";

  beforeEach(async () => {
    clock = new ManualClock();
    store = new SqliteStore({ path: ":memory:", clock });
    await store.migrate();
    tokens = new TokenService({ store, clock, adminToken: () => admin });
  });
  afterEach(() => store.close());

  it("creates a token shown once, stores only its hash, verifies it and records its last use", async () => {
    const { token, record } = await tokens.create({ name: "ci-bot", scopes: ["deploy:staging", "read", "read"] });
    assert.match(token, /^ert_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(record.scopes, ["deploy:staging", "read"]);
    assert.equal(record.lastUsedAt, null);
    const listed = await tokens.list();
    assert.ok(!JSON.stringify(listed).includes(token) && !JSON.stringify(listed).includes("sha256"));
    const rows = JSON.stringify(await store.tokens.list());
    assert.ok(!rows.includes(token), "the store never holds the secret");
    const events = JSON.stringify(await store.events.list());
    assert.ok(events.includes("token.created") && !events.includes(token));

    await clock.advance(5000);
    const caller = await tokens.verify(token, "mcp");
    assert.deepEqual(caller, { name: "ci-bot", tokenId: record.id, scopes: ["deploy:staging", "read"], via: "mcp" });
    assert.equal((await tokens.list())[0]!.lastUsedAt, clock.now());
    assert.equal(await tokens.verify(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")), undefined);
    assert.equal(await tokens.verify("nonsense"), undefined);
    assert.deepEqual(await tokens.verify(admin), adminCaller("api"));
  });

  it("refuses bad names, scopes, expiries and a second active token of a name, changing nothing", async () => {
    await assert.rejects(tokens.create({ name: "bad name", scopes: ["read"] }), code("TOKEN_INVALID"));
    await assert.rejects(tokens.create({ name: "admin", scopes: ["read"] }), code("TOKEN_INVALID"));
    await assert.rejects(tokens.create({ name: "x", scopes: [] }), code("TOKEN_INVALID"));
    await assert.rejects(tokens.create({ name: "x", scopes: ["write"] }), code("TOKEN_SCOPE_INVALID"));
    await assert.rejects(tokens.create({ name: "x", scopes: ["read"], expiresAt: clock.now() }), code("TOKEN_INVALID"));
    assert.deepEqual(await tokens.list(), []);
    await tokens.create({ name: "x", scopes: ["read"] });
    await assert.rejects(tokens.create({ name: "x", scopes: ["read"] }), code("TOKEN_INVALID"));
  });

  it("revoked and expired tokens no longer verify; revoke by name or id; a revoked name can be reused", async () => {
    const a = await tokens.create({ name: "a", scopes: ["read"] });
    const b = await tokens.create({ name: "b", scopes: ["read"], expiresAt: clock.now() + 60_000 });
    assert.ok(await tokens.verify(b.token));
    await clock.advance(60_000);
    assert.equal(await tokens.verify(b.token), undefined);
    assert.equal((await tokens.revoke("a")).revokedAt, clock.now());
    assert.equal(await tokens.verify(a.token), undefined);
    await assert.rejects(tokens.revoke("nobody"), code("TOKEN_NOT_FOUND"));
    const again = await tokens.create({ name: "a", scopes: ["approve"] });
    assert.ok((await tokens.revoke(again.record.id)).revokedAt);
  });

  it("audits calls as audit.call events with secrets redacted, filtered by token and time", async () => {
    const audit = new AuditTrail(store);
    const { token, record } = await tokens.create({ name: "agent", scopes: ["read"] });
    const caller = (await tokens.verify(token))!;
    await audit.record({ caller, action: "deploy", args: { service: "web", token, nested: { password: "hunter2-long", note: `uses ${token}` } }, decision: "refused", reason: "ACCESS_DENIED: needs deploy:staging" });
    await clock.advance(1000);
    await audit.record({ caller: adminCaller("cli"), action: "status", decision: "allowed", result: { ok: true } });
    const all = await audit.list();
    assert.deepEqual(all.map((e) => [e.caller, e.action, e.decision]), [["agent", "deploy", "refused"], ["admin", "status", "allowed"]]);
    assert.equal(all[0]!.tokenId, record.id);
    assert.equal(all[0]!.reason, "ACCESS_DENIED: needs deploy:staging");
    assert.deepEqual(all[0]!.args, { service: "web", token: "[REDACTED]", nested: { password: "[REDACTED]", note: "uses [REDACTED:token]" } });
    assert.ok(!JSON.stringify(await store.events.list({ limit: 1000 })).includes(token));
    assert.deepEqual((await audit.list({ token: "agent" })).map((e) => e.action), ["deploy"]);
    assert.deepEqual((await audit.list({ token: record.id })).map((e) => e.action), ["deploy"]);
    assert.deepEqual((await audit.list({ since: clock.now() })).map((e) => e.action), ["status"]);
    assert.deepEqual((await audit.list({ limit: 1 })).map((e) => e.action), ["status"]);
  });

  it("rate-limits each created token with a retry-after; the admin token is not limited", async () => {
    const limiter = new RateLimiter({ clock, requestsPerMinute: 3 });
    const bot = { name: "bot", tokenId: "tok_1", scopes: ["read" as const], via: "api" as const };
    const other = { ...bot, tokenId: "tok_2" };
    for (let i = 0; i < 3; i++) limiter.admit(bot);
    assert.throws(
      () => limiter.admit(bot),
      (error: unknown) => error instanceof EngineError && error.code === "RATE_LIMITED" && error.status === 429 && error.details?.retryAfterSeconds === 20,
    );
    limiter.admit(other);
    for (let i = 0; i < 100; i++) limiter.admit(adminCaller("api"));
    await clock.advance(20_000);
    limiter.admit(bot);
    assert.throws(() => limiter.admit(bot), code("RATE_LIMITED"));
  });
});
