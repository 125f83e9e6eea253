import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createApi } from "../../src/api/index.js";
import { ManualClock } from "../../src/core/index.js";
import { RateLimiter } from "../../src/engine/rate-limit.js";
import { engineAccess } from "../../src/api/access.js";
import { rawRequest, type RawAnswer } from "../helpers/http.js";
import { startProject, testConfig, type TestProject } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

/** An engine's API with its real access checks (tokens, scopes, audit, Host/Origin, sessions) over a real socket. */
describe("API access: scoped tokens, audit, Host/Origin, sessions, rate limit", () => {
  let p: TestProject;
  let app: FastifyInstance;
  let base: string;
  let port: number;
  const secrets: Record<string, string> = {};

  const call = (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    rawRequest(`${base}${path}`, {
      method,
      body: options.body,
      headers: { ...(options.token && { authorization: `Bearer ${options.token}` }), ...options.headers },
    });
  const code = (answer: RawAnswer) => (answer.json() as { error?: { code: string } }).error?.code;
  /** The last line of an NDJSON answer (or the JSON error answer). */
  const outcome = (answer: RawAnswer) => JSON.parse(answer.body.trim().split("\n").at(-1)!) as { result?: any; error?: { code: string } };
  const audit = async () => (await call("GET", "/v1/audit?limit=1000", { token: p.token })).json().entries as Array<{ caller: string; action: string; decision: string; reason: string | null; args: any; result: any }>;

  before(async () => {
    const config = testConfig().replace("api:\n  listen: 127.0.0.1:0", "api:\n  listen: 127.0.0.1:0\n  allowed_origins: [https://ops.example.com]\n  host: [engine.internal]");
    p = await startProject(config);
    app = createApi({ engine: p.engine, token: p.token });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}`;
    for (const [name, scopes] of [
      ["reader", ["read"]],
      ["roller", ["rollback:production"]],
    ] as const) {
      const created = await call("POST", "/v1/tokens", { token: p.token, body: { name, scopes } });
      assert.equal(created.status, 201, created.body);
      secrets[name] = created.json().token;
      assert.match(secrets[name]!, /^ert_/);
    }
    for (const version of ["v1", "v2"]) {
      const deployed = await call("POST", "/v1/services/web/deploys", { token: p.token, body: { artifact: p.artifact({ version }) } });
      assert.ok(outcome(deployed).result, deployed.body);
    }
  });
  after(async () => {
    await app?.close();
    await p?.cleanup();
  });

  it("a read token reads but cannot deploy: ACCESS_DENIED (403) naming the scope, audited as refused", async () => {
    assert.equal((await call("GET", "/v1/status", { token: secrets.reader })).status, 200);
    const refused = await call("POST", "/v1/services/web/deploys", { token: secrets.reader, body: { artifact: p.artifact({ version: "v3" }) } });
    assert.equal(refused.status, 403, refused.body);
    assert.equal(code(refused), "ACCESS_DENIED");
    assert.match(refused.json().error.message, /"reader".*deploy:production/);
    const entry = (await audit()).find((e) => e.caller === "reader" && e.decision === "refused");
    assert.ok(entry, "the refusal is audited");
    assert.equal(entry.action, "POST /v1/services/:service/deploys");
    assert.match(entry.reason!, /^ACCESS_DENIED/);
    assert.equal(entry.args.params.service, "web");
    // Token management is admin's.
    assert.equal(code(await call("GET", "/v1/tokens", { token: secrets.reader })), "ACCESS_DENIED");
  });

  it("rollback:production rolls back without being able to deploy; the allowed call is audited with its result", async () => {
    const deploy = await call("POST", "/v1/services/web/deploys", { token: secrets.roller, body: { artifact: p.artifact({ version: "v3" }) } });
    assert.equal(code(deploy), "ACCESS_DENIED");
    const rolled = await call("POST", "/v1/services/web/rollback", { token: secrets.roller, body: { env: "production" } });
    assert.equal(rolled.status, 200, rolled.body);
    assert.ok(outcome(rolled).result, rolled.body);
    const live = (await call("GET", "/v1/status", { token: secrets.roller })).json().environments[0].services[0].live;
    assert.equal(live.number, 1, "v1 serves again");
    // An allowed call is audited once its answer is done (a stream too), so it may land just after.
    await waitFor("the rollback's audit entry", async () => (await audit()).some((e) => e.caller === "roller" && e.action === "POST /v1/services/:service/rollback"));
    const allowed = (await audit()).find((e) => e.caller === "roller" && e.action === "POST /v1/services/:service/rollback")!;
    assert.equal(allowed.decision, "allowed");
    assert.equal((allowed as { result?: { status?: number } }).result?.status, 200);
    const release = (await call("GET", "/v1/services/web/releases", { token: p.token })).json().releases.find((r: { number: number }) => r.number === 2);
    assert.equal(release.state, "rolled-back");
    assert.match(release.reason, /by api:roller/, "the release says who rolled it back");
  });

  it("records a created token's own name for what it does, whatever `by` its body claims; the admin token's `by` is kept", async () => {
    const silence = { matchers: ["environment=production", "alertname=nothing"], reason: "test", for: "10m" };
    const claimed = await call("POST", "/v1/silences", { token: secrets.roller, body: { ...silence, by: "someone-else" } });
    assert.equal(claimed.status, 201, claimed.body);
    assert.equal(claimed.json().silence?.createdBy ?? claimed.json().createdBy, "api:roller");
    const admin = await call("POST", "/v1/silences", { token: p.token, body: { ...silence, by: "alice" } });
    assert.equal(admin.status, 201, admin.body);
    assert.equal(admin.json().silence?.createdBy ?? admin.json().createdBy, "alice");
  });

  it("revoked and expired tokens are API_UNAUTHORIZED (401), and the admin sees last use but never a secret", async () => {
    const temp = await call("POST", "/v1/tokens", { token: p.token, body: { name: "temp", scopes: ["read"], expires: "30d" } });
    const tempSecret = temp.json().token as string;
    assert.equal((await call("GET", "/v1/status", { token: tempSecret })).status, 200);
    assert.equal((await call("DELETE", "/v1/tokens/temp", { token: p.token })).status, 200);
    const revoked = await call("GET", "/v1/status", { token: tempSecret });
    assert.equal(revoked.status, 401);
    assert.equal(code(revoked), "API_UNAUTHORIZED");

    // A token that expired a minute ago, as the store holds it.
    const expiredSecret = `ert_${randomBytes(32).toString("base64url")}`;
    const now = Date.now();
    await p.engine.store.tokens.insert({ id: "tok_expired", name: "old", hash: `sha256:${createHash("sha256").update(expiredSecret).digest("hex")}`, scopes: ["read"], createdAt: now - 120_000, expiresAt: now - 60_000, lastUsedAt: null, revokedAt: null });
    assert.equal((await call("GET", "/v1/status", { token: expiredSecret })).status, 401);
    assert.equal((await call("GET", "/v1/status", { token: "ert_not-a-token" })).status, 401);
    assert.equal((await call("GET", "/v1/status")).status, 401);

    const listed = await call("GET", "/v1/tokens", { token: p.token });
    const reader = listed.json().tokens.find((t: { name: string }) => t.name === "reader");
    assert.ok(reader.lastUsedAt > 0, "last use recorded");
    const everything = [listed.body, (await call("GET", "/v1/audit?limit=1000", { token: p.token })).body, JSON.stringify(await p.engine.store.events.list({ limit: 100_000 }))].join("\n");
    for (const secret of [...Object.values(secrets), tempSecret]) assert.ok(!everything.includes(secret), "no secret in tokens, audit or events");
    assert.ok(!everything.includes(createHash("sha256").update(secrets.reader!).digest("hex")), "nor a hash");
  });

  it("refuses a forged Host (DNS rebinding) with HOST_REJECTED and a foreign Origin with ORIGIN_REJECTED, before any token is looked at", async () => {
    const forged = await call("GET", "/v1/status", { token: p.token, headers: { host: `attacker.example:${port}` } });
    assert.equal(forged.status, 421, forged.body);
    assert.equal(code(forged), "HOST_REJECTED");
    // Paths without a token are guarded too: health, the dashboard, and /mcp.
    for (const [method, path] of [["GET", "/v1/health"], ["GET", "/"], ["POST", "/mcp"]]) {
      assert.equal(code(await call(method!, path!, { token: p.token, body: method === "POST" ? {} : undefined, headers: { host: `attacker.example:${port}` } })), "HOST_REJECTED", path);
    }
    assert.equal(code(await call("GET", "/v1/status", { token: p.token, headers: { host: `127.0.0.1:${port + 1}` } })), "HOST_REJECTED");
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `engine.internal:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await call("GET", "/v1/status", { token: p.token, headers: { host } })).status, 200, host);
    }
    const foreign = await call("POST", "/v1/unlock", { token: p.token, body: {}, headers: { origin: "http://attacker.example" } });
    assert.equal(foreign.status, 403);
    assert.equal(code(foreign), "ORIGIN_REJECTED");
    assert.equal(code(await call("GET", "/v1/status", { token: p.token, headers: { origin: "null" } })), "ORIGIN_REJECTED");
    assert.equal((await call("GET", "/v1/status", { token: p.token, headers: { origin: `http://127.0.0.1:${port}` } })).status, 200);
    assert.equal((await call("GET", "/v1/status", { token: p.token, headers: { origin: "https://ops.example.com" } })).status, 200);
  });

  it("logs in with a token into an HttpOnly SameSite=Strict session; unsafe calls need X-CSRF-Token; logout ends it", async () => {
    assert.equal(code(await call("POST", "/v1/session", { body: { token: "wrong" } })), "API_UNAUTHORIZED");
    const login = await call("POST", "/v1/session", { body: { token: p.token } });
    assert.equal(login.status, 201, login.body);
    const cookies = [login.headers["set-cookie"]].flat() as string[];
    const session = cookies.find((c) => c.startsWith("er_session="))!;
    const csrfCookie = cookies.find((c) => c.startsWith("er_csrf="))!;
    assert.match(session, /HttpOnly/i);
    assert.match(session, /SameSite=Strict/i);
    assert.match(session, /Path=\//);
    assert.doesNotMatch(csrfCookie, /HttpOnly/i);
    assert.ok(!session.includes(p.token), "the cookie holds a session id, not the token");
    const csrf = login.json().csrfToken as string;
    assert.equal(csrfCookie.split(";")[0], `er_csrf=${csrf}`);
    const cookie = [session, csrfCookie].map((c) => c.split(";")[0]).join("; ");

    assert.equal((await call("GET", "/v1/status", { headers: { cookie } })).status, 200);
    const me = (await call("GET", "/v1/session", { headers: { cookie } })).json();
    assert.deepEqual(me.caller, { name: "admin", scopes: ["admin"], via: "ui" });
    const noCsrf = await call("POST", "/v1/unlock", { body: {}, headers: { cookie } });
    assert.equal(noCsrf.status, 403);
    assert.equal(code(noCsrf), "CSRF_REJECTED");
    assert.equal(code(await call("POST", "/v1/unlock", { body: {}, headers: { cookie, "x-csrf-token": "forged" } })), "CSRF_REJECTED");
    assert.equal((await call("POST", "/v1/unlock", { body: {}, headers: { cookie, "x-csrf-token": csrf } })).status, 200);
    const refusal = (await audit()).find((e) => e.reason?.startsWith("CSRF_REJECTED"));
    assert.equal(refusal?.decision, "refused");

    // A read-only session cannot change anything either, CSRF or not.
    const readerLogin = await call("POST", "/v1/session", { body: { token: secrets.reader } });
    const readerCookie = ([readerLogin.headers["set-cookie"]].flat() as string[]).map((c) => c.split(";")[0]).join("; ");
    assert.equal(code(await call("POST", "/v1/unlock", { body: {}, headers: { cookie: readerCookie, "x-csrf-token": readerLogin.json().csrfToken } })), "ACCESS_DENIED");

    const out = await call("DELETE", "/v1/session", { headers: { cookie, "x-csrf-token": csrf } });
    assert.equal(out.status, 200, out.body);
    assert.ok(([out.headers["set-cookie"]].flat() as string[]).some((c) => /^er_session=;/.test(c) && /Max-Age=0/i.test(c)));
    assert.equal(code(await call("GET", "/v1/status", { headers: { cookie } })), "API_UNAUTHORIZED");
  });

  it("rate-limits a created token (RATE_LIMITED, 429, Retry-After) but not the admin token", async () => {
    const clock = new ManualClock();
    const limited = createApi({ engine: p.engine, token: p.token, access: { ...engineAccess(p.engine), access: new RateLimiter({ clock, requestsPerMinute: 3 }) } });
    await limited.listen({ host: "127.0.0.1", port: 0 });
    try {
      const url = `http://127.0.0.1:${(limited.server.address() as { port: number }).port}/v1/status`;
      const get = (token: string) => rawRequest(url, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 3; i++) assert.equal((await get(secrets.reader!)).status, 200);
      const over = await get(secrets.reader!);
      assert.equal(over.status, 429, over.body);
      assert.equal(code(over), "RATE_LIMITED");
      assert.equal(over.headers["retry-after"], "20");
      assert.equal((await get(secrets.roller!)).status, 200, "another token has its own budget");
      for (let i = 0; i < 10; i++) assert.equal((await get(p.token)).status, 200, "the admin token is not limited");
      await clock.advance(20_000);
      assert.equal((await get(secrets.reader!)).status, 200, "one request back after 20 s");
    } finally {
      await limited.close();
    }
  });
});
