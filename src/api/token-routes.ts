import type { FastifyInstance, FastifyReply } from "fastify";
import { fastifyCookie } from "@fastify/cookie";
import { EngineError, parseDuration, type Clock } from "../core/index.js";
import type { Access, Audit, Tokens } from "../engine/index.js";
import { optionalString, wholeNumber } from "./params.js";
import { csrfCookie, sessionCookie, sessionMaxMs, type Sessions } from "./sessions.js";

export interface TokenRouteOptions {
  /** The engine's tokens and audit trail; without them (an API over bare operations) these routes answer API_NOT_FOUND. */
  tokens?: Tokens;
  audit?: Audit;
  access?: Access;
  verify: Tokens["verify"];
  sessions: Sessions;
  tls: boolean;
  clock: Clock;
}

type Body = Record<string, unknown> | undefined;

/** A time given as a duration back from now (`2h`, `7d`), epoch milliseconds, or an ISO date. */
export function timeOf(value: string | undefined, now: number, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const back = parseDuration(value);
  if (back !== undefined && back > 0 && !/^\d+$/.test(value)) return now - back;
  const epoch = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isFinite(epoch)) return epoch;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` "${value.slice(0, 40)}" is neither a duration (2h, 7d) nor a time.`);
}

/**
 * /v1/tokens and /v1/audit (scope admin), and the dashboard's /v1/session: POST with `{token}`
 * logs in (no token needed), GET tells who is logged in, DELETE logs out.
 */
export function registerTokenRoutes(app: FastifyInstance, options: TokenRouteOptions): void {
  const engine = () => {
    if (options.tokens && options.audit) return { tokens: options.tokens, audit: options.audit };
    throw new EngineError("API_NOT_FOUND", "Tokens and the audit trail are served by a running engine's API.");
  };
  const cookie = (name: string, value: string, maxAgeSeconds: number, httpOnly: boolean) =>
    fastifyCookie.serialize(name, value, { httpOnly, sameSite: "strict", path: "/", secure: options.tls, maxAge: maxAgeSeconds });

  app.get("/v1/tokens", async () => ({ tokens: await engine().tokens.list() }));

  app.post<{ Body: Body }>("/v1/tokens", async (request, reply) => {
    const body = request.body ?? {};
    const name = optionalString(body.name, "name") ?? "";
    const scopes = Array.isArray(body.scopes) ? body.scopes.map((s) => optionalString(s, "scopes[]") ?? "") : [];
    const expires = optionalString(body.expires, "expires");
    let expiresAt: number | undefined;
    if (expires !== undefined) {
      const ms = parseDuration(expires);
      if (ms === undefined || ms <= 0) throw new EngineError("TOKEN_INVALID", `\`expires\` "${expires.slice(0, 40)}" is not a duration such as 30d or 12h.`);
      expiresAt = options.clock.now() + ms;
    } else if (body.expiresAt !== undefined) {
      if (typeof body.expiresAt !== "number") throw new EngineError("API_BAD_REQUEST", "`expiresAt` must be epoch milliseconds.");
      expiresAt = body.expiresAt;
    }
    const created = await engine().tokens.create({ name, scopes, ...(expiresAt !== undefined && { expiresAt }) });
    void reply.status(201).header("cache-control", "no-store");
    return created;
  });

  app.delete<{ Params: { token: string } }>("/v1/tokens/:token", async (request) => ({ token: await engine().tokens.revoke(request.params.token) }));

  app.get<{ Querystring: { since?: string; token?: string; limit?: string } }>("/v1/audit", async (request) => {
    const since = timeOf(request.query.since, options.clock.now(), "since");
    const limit = wholeNumber(request.query.limit, 100);
    return { entries: await engine().audit.list({ ...(since !== undefined && { since }), ...(request.query.token && { token: request.query.token }), limit }) };
  });

  app.post<{ Body: Body }>("/v1/session", async (request, reply) => {
    const secret = optionalString(request.body?.token, "token");
    const caller = secret ? await options.verify(secret, "ui") : undefined;
    if (!secret || !caller) throw new EngineError("API_UNAUTHORIZED", "Missing or wrong API token.", { hint: "Log in with the token from .engineroom/api-token or one made by `engineroom tokens create`." });
    options.access?.admit(caller);
    const session = options.sessions.open(secret);
    await options.audit?.record({ caller, action: "POST /v1/session", decision: "allowed", result: { status: 201 } }).catch(() => {});
    const maxAge = Math.floor(sessionMaxMs / 1000);
    void reply
      .status(201)
      .header("cache-control", "no-store")
      .header("set-cookie", [cookie(sessionCookie, session.id, maxAge, true), cookie(csrfCookie, session.csrf, maxAge, false)]);
    return { csrfToken: session.csrf, expiresAt: session.expiresAt, caller: { name: caller.name, scopes: caller.scopes } };
  });

  app.get("/v1/session", async (request) => ({ caller: { name: request.caller?.name, scopes: request.caller?.scopes, via: request.caller?.via } }));

  app.delete("/v1/session", async (request, reply: FastifyReply) => {
    options.sessions.close(request.sessionId);
    void reply.header("set-cookie", [cookie(sessionCookie, "", 0, true), cookie(csrfCookie, "", 0, false)]);
    return { ok: true };
  });
}
