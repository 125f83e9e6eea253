import type { FastifyInstance } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { actorName } from "./access.js";
import { incidentSeverities, incidentStates, type IncidentSeverity, type IncidentState } from "../store/index.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/incidents: list, show (with links and timeline), open by hand, acknowledge, update (status,
 * note, commander, severity with a reason), resolve, close. Who did it is the body's `by` (the CLI
 * sends the OS user name), or `api`.
 */
export function registerIncidentRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: { all?: string; limit?: string } }>("/v1/incidents", async (request) =>
    redactor.redactDeep({ incidents: await ops.incidents({ all: request.query.all === "true", ...(request.query.limit !== undefined && { limit: count(request.query.limit) }) }) }),
  );

  app.get<{ Params: { id: string } }>("/v1/incidents/:id", async (request) => redactor.redactDeep(await ops.incident(request.params.id)));

  app.post<{ Body: Body }>("/v1/incidents", async (request, reply) => {
    const body = request.body ?? {};
    const title = text(body.title, "title");
    const service = text(body.service, "service");
    if (!title?.trim() || !service) throw new EngineError("INCIDENT_INVALID", "An incident needs a `title` and a `service`.");
    const environment = text(body.environment, "environment");
    const commander = text(body.commander, "commander");
    const note = text(body.note, "note");
    const severity = severityOf(body.severity);
    const incident = await ops.openIncident({ title, service, by: actorName(request), ...(environment !== undefined && { environment }), ...(severity && { severity }), ...(commander !== undefined && { commander }), ...(note !== undefined && { note }) });
    void reply.status(201);
    return redactor.redactDeep(incident);
  });

  app.post<{ Params: { id: string }; Body: Body }>("/v1/incidents/:id/ack", async (request) => redactor.redactDeep(await ops.ackIncident(request.params.id, actorName(request))));

  app.post<{ Params: { id: string }; Body: Body }>("/v1/incidents/:id/update", async (request) => {
    const body = request.body ?? {};
    const status = body.status === undefined ? undefined : stateOf(body.status);
    const severity = severityOf(body.severity);
    const fields = { status, severity, reason: text(body.reason, "reason"), note: text(body.note, "note"), commander: text(body.commander, "commander") };
    const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    return redactor.redactDeep(await ops.updateIncident(request.params.id, { ...given, by: actorName(request) }));
  });

  app.post<{ Params: { id: string }; Body: Body }>("/v1/incidents/:id/resolve", async (request) => {
    const body = request.body ?? {};
    const note = text(body.note, "note");
    return redactor.redactDeep(await ops.resolveIncident(request.params.id, { by: actorName(request), ...(note !== undefined && { note }) }));
  });

  app.post<{ Params: { id: string }; Body: Body }>("/v1/incidents/:id/close", async (request) => redactor.redactDeep(await ops.closeIncident(request.params.id, actorName(request))));
}

function text(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be a string.`);
}

function severityOf(value: unknown): IncidentSeverity | undefined {
  if (value === undefined || value === null) return undefined;
  const upper = typeof value === "string" ? value.toUpperCase() : value;
  if (!(incidentSeverities as readonly unknown[]).includes(upper)) throw new EngineError("INCIDENT_INVALID", `\`severity\` must be one of ${incidentSeverities.join(", ")}, not ${JSON.stringify(value)}.`);
  return upper as IncidentSeverity;
}

function stateOf(value: unknown): IncidentState {
  if (!(incidentStates as readonly unknown[]).includes(value)) throw new EngineError("INCIDENT_INVALID", `\`status\` must be one of ${incidentStates.join(", ")}, not ${JSON.stringify(value)}.`);
  return value as IncidentState;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EngineError("API_BAD_REQUEST", `Expected a whole number, got "${value}".`);
  return n;
}
