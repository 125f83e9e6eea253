import type { FastifyRequest } from "fastify";
import { scopeFor, type Operations, type Scope } from "../engine/index.js";

/**
 * What a route needs, resolved from its request (params, query, body) before its handler runs. A
 * route may also declare it itself: `app.post(url, { config: { scopes: (request, ops) => [...] } }, handler)`.
 */
export type RouteScopes = (request: FastifyRequest, ops: Operations) => Scope[] | Promise<Scope[]>;

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scopes the route needs; without it, routeScopes' entry, else `read` for GET and `admin` for anything else. */
    scopes?: RouteScopes;
  }
}

type Loose = Record<string, unknown>;
const body = (request: FastifyRequest): Loose => (request.body && typeof request.body === "object" ? (request.body as Loose) : {});
const params = (request: FastifyRequest) => request.params as Loose;
const text = (value: unknown) => (typeof value === "string" && value ? value : undefined);
const chain = (ops: Operations) => ops.project().environments;
const first = (ops: Operations) => chain(ops)[0]!;
const last = (ops: Operations) => chain(ops).at(-1)!;

/** Responders (alerts, incidents) need `rollback:<env>`: the right to take a release back is the right to handle what goes wrong there. */
const respond = (environments: readonly (string | undefined)[]): Scope[] => {
  const named = [...new Set(environments.map((e) => e ?? "*"))];
  return named.length ? named.map((e) => scopeFor("rollback", e)) : [scopeFor("rollback", "*")];
};

const alertScopes: RouteScopes = async (request, ops) => respond([(await ops.alert(String(params(request).id))).labels.environment]);

const incidentScopes: RouteScopes = async (request, ops) => respond((await ops.incident(String(params(request).id))).incident.environments);

/** The environment an `environment=<name>` matcher of a silence names, if any. */
function silencedEnvironment(matchers: unknown): string | undefined {
  if (!Array.isArray(matchers)) return undefined;
  for (const m of matchers) {
    const found = typeof m === "string" ? /^environment=([^~].*)$/.exec(m.trim()) : null;
    if (found) return found[1];
  }
  return undefined;
}

/** Every route's scopes by `METHOD url` (Fastify's url form); see RouteScopes. */
export const routeScopes: Record<string, RouteScopes> = {
  "POST /v1/services/:service/deploys": (r, ops) => [scopeFor("deploy", text(body(r).env) ?? first(ops))],
  "POST /v1/services/:service/promote": (r, ops) => [scopeFor("promote", text(body(r).to) ?? chain(ops)[1] ?? first(ops))],
  "POST /v1/services/:service/rollback": (r, ops) => [scopeFor("rollback", text(body(r).env) ?? (chain(ops).length === 1 ? first(ops) : "*"))],
  "POST /v1/services/:service/abort": (r, ops) => [scopeFor("rollback", text(body(r).env) ?? first(ops))],
  "POST /v1/releases/:release/approve": () => ["approve"],
  "POST /v1/artifacts": (_r, ops) => [scopeFor("deploy", first(ops))],
  "POST /v1/plan": () => ["read"],
  "POST /v1/apply": async (_r, ops) => {
    // Every environment the plan changes (a saved plan is refused when it is not today's plan anyway).
    const { plan } = await ops.plan();
    const touched = [...new Set(plan.changes.filter((c) => c.action !== "no-op" || c.drift.length > 0).map((c) => c.environment))];
    return touched.length ? touched.map((e) => scopeFor("apply", e)) : [scopeFor("apply", first(ops))];
  },
  "POST /v1/unlock": (r, ops) => [scopeFor("deploy", text(body(r).env) ?? first(ops))],
  "POST /v1/alerts/:id/ack": alertScopes,
  "POST /v1/alerts/:id/outcome": alertScopes,
  "POST /v1/silences": (r) => respond([silencedEnvironment(body(r).matchers)]),
  "POST /v1/silences/:id/expire": async (r, ops) => respond([silencedEnvironment((await ops.silences()).find((s) => s.id === params(r).id)?.matchers)]),
  "POST /v1/incidents": (r, ops) => respond([text(body(r).environment) ?? last(ops)]),
  "POST /v1/incidents/:id/ack": incidentScopes,
  "POST /v1/incidents/:id/update": incidentScopes,
  "POST /v1/incidents/:id/resolve": incidentScopes,
  "POST /v1/incidents/:id/close": incidentScopes,
  "POST /v1/incidents/:id/postmortem": incidentScopes,
  "POST /v1/runbooks/:name/run": (r, ops) => (body(r).dry_run === true ? ["read"] : respond([text(body(r).environment) ?? last(ops)])),
  "POST /v1/runbook-runs/:id/approve": () => ["approve"],
  "POST /v1/runbook-runs/:id/deny": () => ["approve"],
  // A drill changes its environment as a deploy does (the MCP tool run_drill asks the same).
  "POST /v1/drills/:name/run": async (r, ops) => {
    const drill = (await ops.drills()).find((d) => d.name === params(r).name);
    return [scopeFor("deploy", drill?.environment ?? "*")];
  },
  "POST /v1/channels/:name/test": () => ["admin"],
  "GET /v1/tokens": () => ["admin"],
  "POST /v1/tokens": () => ["admin"],
  "DELETE /v1/tokens/:token": () => ["admin"],
  "GET /v1/audit": () => ["admin"],
};

/** The scopes a request needs: its route's own, the table's, else `read` for a GET and `admin` for anything else. */
export async function scopesOf(request: FastifyRequest, ops: Operations): Promise<Scope[]> {
  const own = request.routeOptions.config?.scopes;
  const listed = routeScopes[`${request.method} ${request.routeOptions.url ?? ""}`];
  const resolve = own ?? listed;
  if (resolve) return resolve(request, ops);
  return request.method === "GET" || request.method === "HEAD" ? ["read"] : ["admin"];
}
