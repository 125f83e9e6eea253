import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

type ReportQuery = { Querystring: { since?: string; env?: string; format?: string } };

/**
 * /v1/report: the scorecard as JSON (`?since=30d&env=`), or as one HTML page with `?format=html`
 * or at /v1/report.html. REPORT_PERIOD_INVALID for a bad `since`.
 */
export function registerReportRoutes(app: FastifyInstance, ops: Operations): void {
  const html = async (query: ReportQuery["Querystring"]) => redactor.redact(await ops.reportHtml({ since: query.since, environment: query.env }));

  app.get<ReportQuery>("/v1/report", async (request, reply) => {
    if (request.query.format === "html") return reply.type("text/html; charset=utf-8").send(await html(request.query));
    return redactor.redactDeep(await ops.report({ since: request.query.since, environment: request.query.env }));
  });

  app.get<ReportQuery>("/v1/report.html", async (request, reply) => reply.type("text/html; charset=utf-8").send(await html(request.query)));
}
