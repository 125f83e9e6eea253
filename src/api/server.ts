import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { EngineError, redactor, toEngineError } from "../core/index.js";
import { applyPlan, planProject, projectStatus, requireService, serviceLogs, serviceReleases, type Engine } from "../engine/index.js";
import { parsePlan, type Plan } from "../plan/index.js";
import type { DeployResult, Progress } from "../deploy/index.js";
import { openApiDocument } from "./openapi.js";

export interface ApiOptions {
  engine: Engine;
  token: string;
}

/**
 * The engine's HTTP API under /v1: token-authenticated, thin. Errors are answered with their
 * catalogue status and `{ error: { code, message, hint } }`. Deploys and rollbacks answer a stream
 * of NDJSON lines (`{"progress": …}` then `{"result": …}` or `{"error": …}`); a client that goes
 * away before the switch cancels the deploy.
 */
export function createApi({ engine, token }: ApiOptions): FastifyInstance {
  // On shutdown every API connection is closed at once, streams included: the engine is going away.
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true });
  const expected = Buffer.from(`Bearer ${token}`);

  app.addHook("onRequest", async (request) => {
    const path = request.url.split("?")[0];
    if (path === "/v1/health" || path === "/v1/openapi.json") return;
    const given = Buffer.from(request.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new EngineError("API_UNAUTHORIZED", "Missing or wrong API token.");
    }
  });

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

  app.get<{ Querystring: { env?: string } }>("/v1/status", async (request) => redactor.redactDeep(await projectStatus(engine, request.query.env)));

  app.get<{ Params: { service: string }; Querystring: { limit?: string; env?: string } }>("/v1/services/:service/releases", async (request) => ({
    releases: redactor.redactDeep(await serviceReleases(engine, request.params.service, request.query.env, positiveInt(request.query.limit, 20))),
  }));

  app.get<{ Params: { service: string }; Querystring: { lines?: string; env?: string } }>("/v1/services/:service/logs", async (request) =>
    redactor.redactDeep({ instances: await serviceLogs(engine, request.params.service, request.query.env, positiveInt(request.query.lines, 100)) }),
  );

  app.get<{ Querystring: { service?: string; env?: string; after?: string; limit?: string } }>("/v1/events", async (request) => ({
    events: redactor.redactDeep(
      await engine.store.events.list({
        service: request.query.service,
        environment: request.query.env,
        afterId: request.query.after === undefined ? undefined : positiveInt(request.query.after, 0),
        limit: positiveInt(request.query.limit, 100),
      }),
    ),
  }));

  // Deploys, promotions, rollbacks and approvals stream their progress. What can be checked before
  // the stream starts is checked first, so that an unknown service is a 404, not a 200 with an error inside.
  app.post<{ Params: { service: string }; Body: { artifact?: unknown; env?: unknown; watch?: unknown } | undefined }>("/v1/services/:service/deploys", async (request, reply) => {
    const artifact = optionalString(request.body?.artifact, "artifact");
    const env = optionalString(request.body?.env, "env");
    const service = request.params.service;
    requireService(engine, service);
    engine.environment(env);
    await stream(reply, async (signal, onProgress) => {
      const result = await engine.deploy(service, artifact, { environment: env, signal, onProgress, actor: "api" });
      if (request.body?.watch !== true || result.awaitingApproval) return result;
      // Attached through the watch window: the answer is the release as its watch ended.
      return watched(engine, service, result.release.environment, result.release.id, signal, onProgress, result);
    });
  });

  app.get<{ Params: { service: string }; Querystring: { env?: string } }>("/v1/services/:service/watch", async (request, reply) => {
    const service = request.params.service;
    requireService(engine, service);
    const environment = engine.environment(request.query.env).name;
    await stream(reply, (signal, onProgress) => watched(engine, service, environment, undefined, signal, onProgress));
  });

  app.post<{ Params: { service: string }; Body: { env?: unknown } | undefined }>("/v1/services/:service/abort", async (request, reply) => {
    const env = optionalString(request.body?.env, "env");
    requireService(engine, request.params.service);
    engine.environment(env);
    await stream(reply, (signal, onProgress) => engine.abort(request.params.service, { environment: env, signal, onProgress, actor: "api" }));
  });

  app.post<{ Params: { service: string }; Body: { to?: unknown; initial?: unknown; skipWatch?: unknown } | undefined }>("/v1/services/:service/promote", async (request, reply) => {
    const to = optionalString(request.body?.to, "to");
    const initial = request.body?.initial === true;
    const skipWatch = request.body?.skipWatch === true;
    requireService(engine, request.params.service);
    if (to !== undefined) engine.environment(to);
    await stream(reply, (signal, onProgress) => engine.promote(request.params.service, { to, initial, skipWatch, signal, onProgress, actor: "api" }));
  });

  app.post<{ Params: { service: string }; Body: { env?: unknown } | undefined }>("/v1/services/:service/rollback", async (request, reply) => {
    const env = optionalString(request.body?.env, "env");
    requireService(engine, request.params.service);
    if (env === undefined && engine.environments.length > 1) {
      throw new EngineError("API_BAD_REQUEST", `Name the environment to roll back (${engine.environments.map((e) => e.name).join(", ")}).`);
    }
    const environment = engine.environment(env);
    await stream(reply, (signal, onProgress) => environment.deployer.rollback(request.params.service, { signal, onProgress, actor: "api" }));
  });

  app.post<{ Body: { refreshOnly?: unknown } | undefined }>("/v1/plan", async (request) => {
    const drift = request.body?.refreshOnly === true ? await engine.drift.scan() : engine.drift.findings;
    const { plan } = await planProject(engine);
    return redactor.redactDeep({ plan, drift });
  });

  app.post<{ Body: { plan?: unknown } | undefined }>("/v1/apply", async (request, reply) => {
    let saved: Plan | undefined;
    if (request.body?.plan !== undefined) {
      const parsed = parsePlan(JSON.stringify(request.body.plan));
      if (!parsed.ok) throw new EngineError("PLAN_INVALID", `The plan cannot be read: ${parsed.problem}.`);
      saved = parsed.plan;
    }
    await stream(reply, (signal, onProgress) => applyPlan(engine, saved, { signal, onProgress, actor: "api" }));
  });

  app.post<{ Params: { release: string } }>("/v1/releases/:release/approve", async (request, reply) => {
    await stream(reply, (signal, onProgress) => engine.approve(request.params.release, { signal, onProgress, actor: "api" }));
  });

  return app;
}

/** Follows a release's analysis as progress lines; throws RELEASE_ROLLED_BACK with the evidence if it was rolled back. */
async function watched(
  engine: Engine,
  service: string,
  environment: string,
  releaseId: string | undefined,
  signal: AbortSignal,
  onProgress: (p: Progress) => void,
  deployed?: DeployResult,
): Promise<unknown> {
  const { release, verdict } = await engine.follow(service, {
    environment,
    releaseId,
    signal,
    onVerdict: (v) => onProgress({ step: "analysis", releaseId, message: `${v.outcome}: ${v.reason}`, data: { verdict: v } }),
  });
  if (release.state === "rolled-back") {
    throw new EngineError("RELEASE_ROLLED_BACK", `${service} v${release.number} was rolled back: ${release.reason}`, { details: { release, verdict } });
  }
  return deployed ? { ...deployed, release, verdict } : { release, verdict };
}

/** Runs `work`, streaming its progress as NDJSON; aborts it when the client disconnects first. */
async function stream(
  reply: FastifyReply,
  work: (signal: AbortSignal, onProgress: (p: Progress) => void) => Promise<unknown>,
): Promise<void> {
  const controller = new AbortController();
  let done = false;
  reply.raw.on("close", () => {
    if (!done) controller.abort(new Error("the client disconnected"));
  });
  reply.hijack();
  reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  const send = (line: unknown) => {
    if (!reply.raw.destroyed) reply.raw.write(redactor.redact(JSON.stringify(line)) + "\n");
  };
  try {
    const result = await work(controller.signal, (progress) => send({ progress }));
    send({ result });
  } catch (error) {
    send({ error: toEngineError(error).toJSON() });
  } finally {
    done = true;
    reply.raw.end();
  }
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be a string.`);
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EngineError("API_BAD_REQUEST", `Expected a whole number, got "${value}".`);
  return n;
}
