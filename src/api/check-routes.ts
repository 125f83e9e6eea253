import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

/** /v1/checks: every check with its state, uptime and latency; one check's history per minute, hour or day. */
export function registerCheckRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/checks", async () => redactor.redactDeep(await ops.checks()));

  app.get<{ Params: { name: string }; Querystring: { resolution?: string; since?: string } }>("/v1/checks/:name/history", async (request) =>
    redactor.redactDeep(await ops.checkHistory(request.params.name, { resolution: request.query.resolution, since: request.query.since })),
  );
}
