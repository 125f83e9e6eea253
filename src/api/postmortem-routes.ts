import type { FastifyInstance } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import { scopeFor, type Operations, type Scope } from "../engine/index.js";
import { actorName } from "./access.js";
import { optionalString, wholeNumber } from "./params.js";

type Body = Record<string, unknown> | undefined;

/** Like an incident's own changes, its action items and learnings take its responders' scope: `rollback:<env>` of its environments. */
async function responders(ops: Operations, incidentId: string | undefined, environment?: string): Promise<Scope[]> {
  const environments = incidentId ? (await ops.incident(incidentId)).incident.environments : [environment ?? ops.project().environments.at(-1)!];
  return (environments.length ? environments : ["*"]).map((e) => scopeFor("rollback", e));
}
const field = (body: unknown, name: string) => {
  const value = body && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" && value ? value : undefined;
};

/**
 * The post-mortems (/v1/incidents/:id/postmortem: show, regenerate), their action items
 * (/v1/actions) and the learning log (/v1/learnings). Who did it is the body's `by`, or `api`.
 */
export function registerPostmortemRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Params: { id: string } }>("/v1/incidents/:id/postmortem", async (request) => redactor.redactDeep(await ops.postmortem(request.params.id)));

  app.post<{ Params: { id: string }; Body: Body }>("/v1/incidents/:id/postmortem", async (request) =>
    redactor.redactDeep(await ops.postmortem(request.params.id, { regenerate: true, by: actorName(request) })),
  );

  app.get<{ Querystring: { open?: string; incident?: string } }>("/v1/actions", async (request) => {
    const { open, incident } = request.query;
    return redactor.redactDeep({ actions: await ops.actionItems({ open: open === "true", ...(incident !== undefined && { incident }) }) });
  });

  app.post<{ Body: Body }>("/v1/actions", { config: { scopes: (request) => responders(ops, field(request.body, "incident")) } }, async (request, reply) => {
    const body = request.body ?? {};
    const field = (name: string) => optionalString(body[name], name) ?? "";
    const item = await ops.addActionItem({ incidentId: field("incident"), type: field("type"), owner: field("owner"), due: field("due"), text: field("text"), by: actorName(request) });
    void reply.status(201);
    return redactor.redactDeep(item);
  });

  const closeScopes = async (id: string) => responders(ops, (await ops.actionItems()).find((a) => a.id === id)?.incidentId);
  app.post<{ Params: { id: string }; Body: Body }>("/v1/actions/:id/close", { config: { scopes: (request) => closeScopes((request.params as { id: string }).id) } }, async (request) => redactor.redactDeep(await ops.closeActionItem(request.params.id, actorName(request))));

  app.get<{ Querystring: { service?: string; since?: string } }>("/v1/learnings", async (request) => {
    const { service, since } = request.query;
    return redactor.redactDeep({ learnings: await ops.learnings({ ...(service !== undefined && { service }), ...(since !== undefined && { since }) }) });
  });

  app.get<{ Querystring: { services?: string; per?: string } }>("/v1/learnings/latest", async (request) => {
    const services = (request.query.services ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    return redactor.redactDeep({ learnings: await ops.learnedBefore(services, Math.max(1, wholeNumber(request.query.per, 3))) });
  });

  app.post<{ Body: Body }>("/v1/learnings", { config: { scopes: (request) => responders(ops, field(request.body, "incident"), field(request.body, "environment")) } }, async (request, reply) => {
    const body = request.body ?? {};
    const services = Array.isArray(body.services) ? body.services : body.service === undefined ? [] : [body.service];
    if (!services.every((s): s is string => typeof s === "string")) throw new EngineError("API_BAD_REQUEST", "`services` must be a list of service names.");
    const incident = optionalString(body.incident, "incident");
    const environment = optionalString(body.environment, "environment");
    const entry = await ops.addLearning({ services, text: optionalString(body.text, "text") ?? "", by: actorName(request), ...(incident !== undefined && { incident }), ...(environment !== undefined && { environment }) });
    void reply.status(201);
    return redactor.redactDeep(entry);
  });
}
