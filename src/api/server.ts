import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { EngineError, redactor, toEngineError } from "../core/index.js";
import { projectStatus, requireService, serviceLogs, serviceReleases, type Engine } from "../engine/index.js";
import type { Progress } from "../deploy/index.js";
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

  app.get("/v1/status", async () => redactor.redactDeep(await projectStatus(engine)));

  app.get<{ Params: { service: string }; Querystring: { limit?: string } }>("/v1/services/:service/releases", async (request) => ({
    releases: await serviceReleases(engine, request.params.service, positiveInt(request.query.limit, 20)),
  }));

  app.get<{ Params: { service: string }; Querystring: { lines?: string } }>("/v1/services/:service/logs", async (request) =>
    redactor.redactDeep({ instances: await serviceLogs(engine, request.params.service, positiveInt(request.query.lines, 100)) }),
  );

  app.get<{ Querystring: { service?: string; after?: string; limit?: string } }>("/v1/events", async (request) => ({
    events: redactor.redactDeep(
      await engine.store.events.list({
        service: request.query.service,
        afterId: request.query.after === undefined ? undefined : positiveInt(request.query.after, 0),
        limit: positiveInt(request.query.limit, 100),
      }),
    ),
  }));

  app.post<{ Params: { service: string }; Body: { artifact?: string } | undefined }>("/v1/services/:service/deploys", async (request, reply) => {
    const artifact = request.body?.artifact;
    if (artifact !== undefined && typeof artifact !== "string") throw new EngineError("API_BAD_REQUEST", "`artifact` must be a path string.");
    // Checked before the stream starts, so an unknown service is a 404, not a 200 with an error inside.
    requireService(engine, request.params.service);
    await stream(reply, (signal, onProgress) =>
      engine.deployer.deploy(request.params.service, artifact, { signal, onProgress, actor: "api" }),
    );
  });

  app.post<{ Params: { service: string } }>("/v1/services/:service/rollback", async (request, reply) => {
    requireService(engine, request.params.service);
    await stream(reply, (signal, onProgress) => engine.deployer.rollback(request.params.service, { signal, onProgress, actor: "api" }));
  });

  return app;
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

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EngineError("API_BAD_REQUEST", `Expected a whole number, got "${value}".`);
  return n;
}
