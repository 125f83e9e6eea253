import type { FastifyInstance, FastifyRequest } from "fastify";
import { fastifyCookie } from "@fastify/cookie";
import { EngineError, systemClock, toEngineError, type Clock } from "../core/index.js";
import { adminCaller, authorize, type Access, type Audit, type Caller, type Engine, type Operations, type Tokens } from "../engine/index.js";
import { checkHost, checkOrigin } from "./host-origin.js";
import { scopesOf } from "./route-scopes.js";
import { csrfHeader, sameSecret, sessionCookie, Sessions } from "./sessions.js";
import { registerTokenRoutes } from "./token-routes.js";

/** What the API checks every request with. From an engine: `engineAccess(engine)`. */
export interface ApiAccessOptions {
  /** Resolves a Bearer token (the admin token file or a created token) to its caller; with create, list and revoke, /v1/tokens serves them. */
  tokens: Pick<Tokens, "verify"> | Tokens;
  /** Where calls are audited; without it, nothing is (an API over bare operations, in tests). */
  audit?: Audit;
  /** The per-token rate limit; without it, none. */
  access?: Access;
  /** Names besides loopback and the listener's own address the API answers to in `Host` (`api.host`). */
  hosts?: readonly string[];
  /** Origins besides the API's own whose pages may call it (`api.allowed_origins`). */
  allowedOrigins?: readonly string[];
  /** The API serves HTTPS (`api.tls`): cookies are Secure. */
  tls?: boolean;
  clock?: Clock;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who made the request, once authenticated. */
    caller?: Caller;
    /** The session the request came with (cookie auth), for logout. */
    sessionId?: string;
  }
}

/** The access checks of an engine's API: its tokens, audit trail and rate limit, and `api.host`, `api.allowed_origins`, `api.tls`. */
export function engineAccess(engine: Engine): ApiAccessOptions {
  const api = engine.project.config.api;
  return { tokens: engine.tokens, audit: engine.audit, access: engine.access, hosts: api.host, allowedOrigins: api.allowed_origins, tls: api.tls !== undefined, clock: engine.clock };
}

/** An API over bare operations (no engine): only the given token, as admin. */
export function adminOnly(token: string): ApiAccessOptions {
  return { tokens: { verify: async (secret, via = "api") => (sameSecret(secret, token) ? adminCaller(via) : undefined) } };
}

/** The error code a request's handler failed with, for its audit entry. */
const failures = new WeakMap<FastifyRequest, string>();
/** Paths served without a token: health, this API's description, the login, and /mcp (which authenticates each call itself). */
function publicPath(path: string, method: string): boolean {
  return path === "/v1/health" || path === "/v1/openapi.json" || path === "/mcp" || (path === "/v1/session" && method === "POST");
}

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** A refusal of this code is audited once per minute per token at most (a flood must not flood the log). */
const quietRefusals = new Map<string, number>();

/**
 * Installs the API's access checks, in this order: Host and Origin (HOST_REJECTED, ORIGIN_REJECTED,
 * for every path, /mcp and the dashboard too), the caller (Bearer token, or the dashboard's session
 * cookie with X-CSRF-Token on unsafe methods; API_UNAUTHORIZED, CSRF_REJECTED), the rate limit
 * (RATE_LIMITED with Retry-After), then, once the body is read, the route's scopes (ACCESS_DENIED).
 * Every call that changes something is audited, allowed or refused, and so is every refused read.
 */
export function registerAccess(app: FastifyInstance, ops: Operations, options: ApiAccessOptions & { isPublic?: (path: string, method: string) => boolean }): Sessions {
  const clock = options.clock ?? systemClock;
  const sessions = new Sessions(clock);
  // Loads the cookie codec that fastifyCookie.parse and .serialize use; cookies are read by the hook below.
  void app.register(fastifyCookie, { hook: false });
  const audit = async (request: FastifyRequest, decision: "allowed" | "refused", extra: { reason?: string; result?: unknown } = {}) => {
    if (!options.audit || !request.caller) return;
    const action = `${request.method} ${request.routeOptions.url ?? request.url.split("?")[0]}`;
    const args = { params: request.params, query: request.query, ...(request.body !== undefined && { body: request.body }) };
    await options.audit.record({ caller: request.caller, action, args: args as Record<string, unknown>, decision, ...extra }).catch(() => {});
  };

  app.addHook("onRequest", async (request, reply) => {
    checkHost(request, options.hosts ?? []);
    checkOrigin(request, options.allowedOrigins ?? [], options.tls ?? false);
    const path = request.url.split("?")[0]!;
    if (publicPath(path, request.method) || options.isPublic?.(path, request.method)) return;
    let caller: Caller;
    try {
      caller = await callerOf(request, options.tokens, sessions);
    } catch (error) {
      if (request.caller) await audit(request, "refused", { reason: `${toEngineError(error).code}: ${(error as Error).message}` });
      throw error;
    }
    request.caller = caller;
    try {
      options.access?.admit(caller);
    } catch (error) {
      const refused = toEngineError(error);
      const retry = refused.details?.retryAfterSeconds;
      if (typeof retry === "number") void reply.header("retry-after", String(retry));
      const key = `${caller.tokenId}:${refused.code}`;
      const last = quietRefusals.get(key);
      if (last === undefined || clock.now() - last >= 60_000) {
        quietRefusals.set(key, clock.now());
        await audit(request, "refused", { reason: `${refused.code}: ${refused.message}` });
      }
      throw refused;
    }
  });

  app.addHook("preHandler", async (request, reply) => {
    const caller = request.caller;
    // No caller (a path without a token), or no route (answered API_NOT_FOUND): nothing to authorize.
    if (!caller || request.routeOptions.url === undefined) return;
    try {
      for (const need of await scopesOf(request, ops)) authorize(caller, need);
    } catch (error) {
      const refused = toEngineError(error);
      // A scope that cannot be resolved (an unknown alert or incident) is the request's own error, not a refusal.
      if (refused.code === "ACCESS_DENIED") await audit(request, "refused", { reason: `${refused.code}: ${refused.message}` });
      throw refused;
    }
    if (!unsafeMethods.has(request.method)) return;
    // Audited when the answer is done (a stream, too), with its status and error code if any.
    reply.raw.once("close", () => {
      const error = failures.get(request);
      void audit(request, "allowed", { result: { status: reply.raw.statusCode, ...(error && { error }) } });
    });
  });

  app.addHook("onError", async (request, _reply, error) => {
    failures.set(request, error instanceof EngineError ? error.code : "INTERNAL");
  });

  registerTokenRoutes(app, {
    ...("create" in options.tokens && { tokens: options.tokens }),
    audit: options.audit,
    access: options.access,
    verify: (secret, via) => options.tokens.verify(secret, via),
    sessions,
    tls: options.tls ?? false,
    clock,
  });
  return sessions;
}

async function callerOf(request: FastifyRequest, tokens: Pick<Tokens, "verify">, sessions: Sessions): Promise<Caller> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const secret = /^Bearer (.+)$/.exec(authorization)?.[1]?.trim();
    // The engineroom CLI says it is the CLI (its calls are audited `via: cli`); anything else is `api`.
    const via = request.headers["x-engineroom-client"] === "cli" ? "cli" : "api";
    const caller = secret === undefined ? undefined : await tokens.verify(secret, via);
    if (!caller) throw new EngineError("API_UNAUTHORIZED", "Missing or wrong API token.");
    return caller;
  }
  const cookies = fastifyCookie.parse(request.headers.cookie ?? "");
  const id = cookies[sessionCookie];
  const session = sessions.get(id);
  if (!session) {
    throw new EngineError("API_UNAUTHORIZED", id === undefined ? "Missing or wrong API token." : "The session has ended (logged out, expired, or the engine restarted).", {
      hint: id === undefined ? undefined : "Log in again with a token (POST /v1/session).",
    });
  }
  const caller = await tokens.verify(session.secret, "ui");
  if (!caller) {
    sessions.close(id);
    throw new EngineError("API_UNAUTHORIZED", "The session's token was revoked or expired.", { hint: "Log in again with a valid token (POST /v1/session)." });
  }
  request.caller = caller; // known now, so that a CSRF refusal is audited under its name
  if (unsafeMethods.has(request.method)) {
    const given = request.headers[csrfHeader];
    if (!sameSecret(typeof given === "string" ? given : undefined, session.csrf)) {
      throw new EngineError("CSRF_REJECTED", `A ${request.method} with the session cookie needs the X-CSRF-Token header.`);
    }
  }
  request.sessionId = id;
  return caller;
}

/**
 * Who acts, as the event log records it: `<via>:<token name>` for a created token (`api:ci-bot`,
 * `ui:alice`, `mcp:agent`) whatever its body says, so no token records another's name; for the state
 * folder's admin token the body's `by` (the CLI sends the OS user name, at most 100 characters), else
 * `api` (as before tokens existed).
 */
export function actorName(request: FastifyRequest): string {
  const caller = request.caller;
  if (caller?.tokenId !== undefined) return `${caller.via}:${caller.name}`;
  const by = (request.body as { by?: unknown } | undefined)?.by;
  return typeof by === "string" && by.trim() ? by.trim().slice(0, 100) : "api";
}
