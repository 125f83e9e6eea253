import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { EngineError, redactor, toEngineError } from "../core/index.js";
import { createOperations, type Engine, type Operations } from "../engine/index.js";
import { parsePlan, type Plan } from "../plan/index.js";
import type { Progress } from "../deploy/index.js";
import { registerAlertRoutes } from "./alert-routes.js";
import { registerCheckRoutes } from "./check-routes.js";
import { registerChannelRoutes } from "./channel-routes.js";
import { registerIncidentRoutes } from "./incident-routes.js";
import { registerRunbookRoutes } from "./runbook-routes.js";
import { registerApprovalRoutes } from "./approval-routes.js";
import { registerMcpRoutes } from "../mcp/index.js";
import { registerPostmortemRoutes } from "./postmortem-routes.js";
import { registerDrillRoutes } from "./drill-routes.js";
import { registerHostRoutes } from "./hosts-routes.js";
import { registerArtifactRoutes } from "./artifact-routes.js";
import { registerSloRoutes } from "./slo-routes.js";
import { registerReportRoutes } from "./report-routes.js";
import { registerDashboardRoutes } from "./dashboard-routes.js";
import { isDashboardPath, registerDashboard } from "../ui/index.js";
import { openApiDocument } from "./openapi.js";
import { actorName, adminOnly, engineAccess, registerAccess, type ApiAccessOptions } from "./access.js";
import { optionalString, wholeNumber } from "./params.js";

/** The operations to serve (`createOperations(engine)`), or an engine to build them from. */
export type ApiOptions = {
  /** The admin token, when no `access` or engine gives the API its checks. */
  token: string;
  /** The access checks; default: the engine's (engineAccess), else the admin token alone. */
  access?: ApiAccessOptions;
  /** Serve HTTPS with this certificate and key (PEM). */
  https?: { cert: string | Buffer; key: string | Buffer };
} & ({ operations: Operations } | { engine: Engine });

/**
 * The engine's HTTP API under /v1: token-authenticated, thin: every route calls one operation of
 * the engine's façade. Errors are answered with their catalogue status and
 * `{ error: { code, message, hint } }`. Deploys, promotions, rollbacks, aborts, approvals, applies
 * and watches answer a stream of NDJSON lines (`{"progress": …}` then `{"result": …}` or
 * `{"error": …}`); an error before the first progress line is an ordinary error answer with its
 * status. A client that goes away before the switch cancels the deploy.
 *
 * @example
 * const api = createApi({ operations: createOperations(engine), token });
 * await api.listen({ host: "127.0.0.1", port: 0 });
 */
export function createApi(options: ApiOptions): FastifyInstance {
  const ops = "operations" in options ? options.operations : createOperations(options.engine);
  // On shutdown every API connection is closed at once, streams included: the engine is going away.
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true, ...(options.https && { https: options.https }) }) as unknown as FastifyInstance;
  const routes: ApiRoute[] = [];
  registered.set(app, routes);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) if (method !== "HEAD") routes.push({ method, url: route.url });
  });

  // Host and Origin, the caller (token or session), its rate limit and the route's scopes; audit; /v1/tokens, /v1/audit, /v1/session.
  const access = options.access ?? ("engine" in options ? engineAccess(options.engine) : adminOnly(options.token));
  registerAccess(app, ops, { ...access, isPublic: isDashboardPath });

  app.setErrorHandler((error, _request, reply) => {
    // Fastify's own 4xx errors (a body that is not JSON, an unsupported content type, a body too
    // large) are the client's mistakes, not bugs of ours.
    const status = (error as { statusCode?: unknown }).statusCode;
    const clientError = typeof status === "number" && status >= 400 && status < 500;
    const engineError =
      error instanceof EngineError
        ? error
        : (error as { validation?: unknown }).validation || clientError
          ? new EngineError("API_BAD_REQUEST", (error as Error).message)
          : toEngineError(error);
    void reply.status(engineError.status).send(redactor.redactDeep({ error: engineError.toJSON() }));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new EngineError("API_NOT_FOUND", `No API route ${request.method} ${request.url.split("?")[0]}.`);
    void reply.status(error.status).send({ error: error.toJSON() });
  });

  app.get("/v1/health", async () => ({ ok: true }));
  app.get("/v1/openapi.json", async () => openApiDocument());
  // Prometheus scrapes it with the API token (`authorization: { type: Bearer, credentials_file: <state_dir>/api-token }`).
  app.get("/metrics", async (_request, reply) => {
    const { contentType, text } = await ops.metrics();
    return reply.type(contentType).send(redactor.redact(text));
  });

  app.get<{ Querystring: { env?: string } }>("/v1/status", async (request) => redactor.redactDeep(await ops.status(request.query.env)));

  app.get<{ Params: { service: string }; Querystring: { limit?: string; env?: string } }>("/v1/services/:service/releases", async (request) => ({
    releases: redactor.redactDeep(await ops.releases(request.params.service, { environment: request.query.env, limit: wholeNumber(request.query.limit, 20) })),
  }));

  app.get<{ Params: { service: string }; Querystring: { lines?: string; env?: string } }>("/v1/services/:service/logs", async (request) =>
    redactor.redactDeep({ instances: await ops.logs(request.params.service, { environment: request.query.env, lines: wholeNumber(request.query.lines, 100) }) }),
  );

  app.get<{ Querystring: { service?: string; env?: string; after?: string; limit?: string } }>("/v1/events", async (request) => ({
    events: redactor.redactDeep(
      await ops.events({
        service: request.query.service,
        environment: request.query.env,
        afterId: request.query.after === undefined ? undefined : wholeNumber(request.query.after, 0),
        limit: wholeNumber(request.query.limit, 100),
      }),
    ),
  }));

  app.post<{ Params: { service: string }; Body: { artifact?: unknown; env?: unknown; watch?: unknown } | undefined }>("/v1/services/:service/deploys", async (request, reply) => {
    const artifact = optionalString(request.body?.artifact, "artifact");
    const environment = optionalString(request.body?.env, "env");
    const watch = request.body?.watch === true;
    await stream(reply, (call) => ops.deploy(request.params.service, { ...call, caller: request.caller, artifact, environment, watch }));
  });

  app.get<{ Params: { service: string }; Querystring: { env?: string } }>("/v1/services/:service/watch", async (request, reply) => {
    await stream(reply, (call) => ops.follow(request.params.service, { ...call, environment: request.query.env }));
  });

  app.post<{ Params: { service: string }; Body: { env?: unknown } | undefined }>("/v1/services/:service/abort", async (request, reply) => {
    const environment = optionalString(request.body?.env, "env");
    await stream(reply, (call) => ops.abort(request.params.service, { ...call, environment }));
  });

  app.post<{ Params: { service: string }; Body: { to?: unknown; initial?: unknown; skipWatch?: unknown; overrideBudget?: unknown } | undefined }>("/v1/services/:service/promote", async (request, reply) => {
    const to = optionalString(request.body?.to, "to");
    const initial = request.body?.initial === true;
    const skipWatch = request.body?.skipWatch === true;
    const overrideBudget = optionalString(request.body?.overrideBudget, "overrideBudget");
    await stream(reply, (call) => ops.promote(request.params.service, { ...call, caller: request.caller, to, initial, skipWatch, overrideBudget }));
  });

  app.post<{ Params: { service: string }; Body: { env?: unknown } | undefined }>("/v1/services/:service/rollback", async (request, reply) => {
    const environment = optionalString(request.body?.env, "env");
    await stream(reply, (call) => ops.rollback(request.params.service, { ...call, environment }));
  });

  app.post<{ Params: { release: string } }>("/v1/releases/:release/approve", async (request, reply) => {
    await stream(reply, (call) => ops.approve(request.params.release, { ...call, caller: request.caller }));
  });

  app.post<{ Body: { refreshOnly?: unknown } | undefined }>("/v1/plan", async (request) =>
    redactor.redactDeep(await ops.plan({ refreshOnly: request.body?.refreshOnly === true })),
  );

  app.post<{ Body: { plan?: unknown; overrideBudget?: unknown; approveCost?: unknown } | undefined }>("/v1/apply", async (request, reply) => {
    let saved: Plan | undefined;
    if (request.body?.plan !== undefined) {
      const parsed = parsePlan(JSON.stringify(request.body.plan));
      if (!parsed.ok) throw new EngineError("PLAN_INVALID", `The plan cannot be read: ${parsed.problem}.`);
      saved = parsed.plan;
    }
    const overrideBudget = optionalString(request.body?.overrideBudget, "overrideBudget");
    await stream(reply, (call) => ops.apply(saved, { ...call, caller: request.caller, overrideBudget, approveCost: request.body?.approveCost === true }));
  });

  app.post<{ Body: { env?: unknown } | undefined }>("/v1/unlock", async (request) =>
    redactor.redactDeep(await ops.unlock(optionalString(request.body?.env, "env"), { actor: actorName(request) })),
  );

  registerAlertRoutes(app, ops);
  registerCheckRoutes(app, ops);
  registerSloRoutes(app, ops);
  registerChannelRoutes(app, ops);
  registerReportRoutes(app, ops);
  registerIncidentRoutes(app, ops);
  registerRunbookRoutes(app, ops);
  registerApprovalRoutes(app, ops);
  // MCP over streamable HTTP: each POST authenticates its own Bearer token; the tools check scopes, rate and audit themselves.
  registerMcpRoutes(app, { ops, authenticate: (secret) => access.tokens.verify(secret, "mcp"), guard: { admit: (caller) => access.access?.admit(caller), record: async (input) => access.audit?.record(input) } });
  registerPostmortemRoutes(app, ops);
  registerDrillRoutes(app, ops);
  registerHostRoutes(app, ops);
  registerArtifactRoutes(app, ops);
  registerDashboardRoutes(app, ops);
  registerDashboard(app, ops);

  return app;
}

export interface ApiRoute {
  method: string;
  /** Fastify's form: `/v1/services/:service/releases`. */
  url: string;
}

const registered = new WeakMap<FastifyInstance, ApiRoute[]>();

/** The routes `createApi` registered on `app` (HEAD routes of GETs left out), e.g. to check the OpenAPI document. */
export function apiRoutes(app: FastifyInstance): readonly ApiRoute[] {
  return registered.get(app) ?? [];
}

/**
 * Runs `work`, streaming its progress as NDJSON; aborts it when the client disconnects first.
 * Nothing is sent until the first progress line (or the result): an error before it is an ordinary
 * error answer with the code's HTTP status, so that a bad request is never "200 with an error inside".
 * Once a line was sent the status is 200, and the stream's last line is `{"result": …}` or
 * `{"error": {code, message, hint, details?}}`; a stream that ends without either means the engine
 * went away.
 */
async function stream(reply: FastifyReply, work: (call: { signal: AbortSignal; onProgress: (p: Progress) => void; actor: string }) => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  let done = false;
  let started = false;
  reply.raw.on("close", () => {
    if (!done) controller.abort(new Error("the client disconnected"));
  });
  const send = (line: unknown) => {
    if (!started) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    }
    if (!reply.raw.destroyed) reply.raw.write(redactor.redact(JSON.stringify(line)) + "\n");
  };
  try {
    const result = await work({ signal: controller.signal, onProgress: (progress) => send({ progress }), actor: actorName(reply.request) });
    send({ result });
  } catch (error) {
    if (!started) throw error; // answered by the error handler, with the code's status
    send({ error: toEngineError(error).toJSON() });
  } finally {
    done = true;
    if (started) reply.raw.end();
  }
}
