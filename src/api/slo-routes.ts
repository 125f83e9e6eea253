import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

/** /v1/slos: every SLO in each of its environments (or one SLO: SLO_UNKNOWN when not declared), evaluated now. */
export function registerSloRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: { env?: string } }>("/v1/slos", async (request) => redactor.redactDeep(await ops.slos({ environment: request.query.env })));

  app.get<{ Params: { slo: string }; Querystring: { env?: string } }>("/v1/slos/:slo", async (request) =>
    redactor.redactDeep(await ops.slo(request.params.slo, { environment: request.query.env })),
  );
}
