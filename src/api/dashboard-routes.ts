import type { FastifyInstance } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { wholeNumber } from "./params.js";

/**
 * What the dashboard reads, aggregated on the server: `/v1/overview` (one environment's services,
 * a page at a time, with health, live release and traffic series; totals over all) and
 * `/v1/overview/checks` (the checks a page at a time, filtered by name, label or state, with the
 * counts over all) and `/v1/services/:service/history` (releases with commit, who, config diff,
 * analysis evidence).
 */
const checkStates = ["up", "degraded", "down", "pending"] as const;

export function registerDashboardRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: { env?: string; page?: string; size?: string; q?: string } }>("/v1/overview", async (request) => {
    const { env, page, size, q } = request.query;
    return redactor.redactDeep(await ops.overview({ environment: env, page: wholeNumber(page, 1), size: wholeNumber(size, 50), search: q }));
  });

  app.get<{ Querystring: { page?: string; size?: string; q?: string; state?: string } }>("/v1/overview/checks", async (request) => {
    const { page, size, q, state } = request.query;
    if (state !== undefined && !checkStates.includes(state as (typeof checkStates)[number])) {
      throw new EngineError("API_BAD_REQUEST", `\`state\` must be one of ${checkStates.join(", ")}, not ${JSON.stringify(state)}.`);
    }
    return redactor.redactDeep(await ops.checkPage({ page: wholeNumber(page, 1), size: wholeNumber(size, 100), search: q, ...(state !== undefined && { state: state as (typeof checkStates)[number] }) }));
  });

  app.get<{ Params: { service: string }; Querystring: { env?: string; limit?: string } }>("/v1/services/:service/history", async (request) => ({
    history: redactor.redactDeep(await ops.releaseHistory(request.params.service, { environment: request.query.env, limit: wholeNumber(request.query.limit, 20) })),
  }));
}
