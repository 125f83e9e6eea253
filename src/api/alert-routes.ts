import type { FastifyInstance } from "fastify";
import { EngineError, parseDuration, redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { actorName } from "./access.js";
import { alertOutcomes, type AlertOutcome } from "../store/index.js";
import { optionalString, wholeNumber } from "./params.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/alerts and /v1/silences: list alerts, acknowledge them, set their outcome, the noise report
 * and the delivery log; create, list and expire silences. Who did it is the body's `by` (the CLI
 * sends the OS user name), or `api`.
 */
export function registerAlertRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: { all?: string; limit?: string } }>("/v1/alerts", async (request) =>
    redactor.redactDeep({ alerts: await ops.alerts({ all: request.query.all === "true", limit: wholeNumber(request.query.limit, 50) }) }),
  );

  app.get<{ Querystring: { since?: string } }>("/v1/alerts/noise", async (request) => {
    return redactor.redactDeep(await ops.alertNoise({ sinceMs: duration(request.query.since ?? "7d", "since", "7d") }));
  });

  app.get<{ Querystring: { limit?: string } }>("/v1/alerts/deliveries", async (request) =>
    redactor.redactDeep({ deliveries: await ops.deliveries({ limit: wholeNumber(request.query.limit, 50) }) }),
  );

  app.get<{ Params: { id: string } }>("/v1/alerts/:id", async (request) => redactor.redactDeep(await ops.alert(request.params.id)));

  app.post<{ Params: { id: string }; Body: Body }>("/v1/alerts/:id/ack", async (request) => {
    const body = request.body ?? {};
    const forMs = body.for === undefined ? undefined : duration(body.for, "for");
    const comment = optionalString(body.comment, "comment");
    return redactor.redactDeep(await ops.ackAlert(request.params.id, { by: actorName(request), ...(forMs !== undefined && { forMs }), ...(comment !== undefined && { comment }) }));
  });

  app.post<{ Params: { id: string }; Body: Body }>("/v1/alerts/:id/outcome", async (request) => {
    const body = request.body ?? {};
    const outcome = body.outcome;
    if (typeof outcome !== "string" || !(alertOutcomes as readonly string[]).includes(outcome) || outcome === "unclassified") {
      throw new EngineError("API_BAD_REQUEST", "`outcome` must be actionable, noise or duplicate.");
    }
    const reason = optionalString(body.reason, "reason");
    return redactor.redactDeep(await ops.setAlertOutcome(request.params.id, outcome as AlertOutcome, { by: actorName(request), ...(reason !== undefined && { reason }) }));
  });

  app.get("/v1/silences", async () => redactor.redactDeep({ silences: await ops.silences() }));

  app.post<{ Body: Body }>("/v1/silences", async (request, reply) => {
    const body = request.body ?? {};
    const matchers = Array.isArray(body.matchers) ? body.matchers : [];
    const forMs = typeof body.for === "number" ? body.for : typeof body.for === "string" ? (parseDuration(body.for) ?? Number.NaN) : Number.NaN;
    if (typeof body.for === "string" && Number.isNaN(forMs)) throw new EngineError("SILENCE_INVALID", `The silence was not created: "${body.for}" is not a duration (e.g. 2h).`);
    const silence = await ops.createSilence({ matchers: matchers as string[], reason: typeof body.reason === "string" ? body.reason : "", forMs, createdBy: actorName(request) });
    void reply.status(201);
    return redactor.redactDeep(silence);
  });

  app.post<{ Params: { id: string }; Body: Body }>("/v1/silences/:id/expire", async (request) =>
    redactor.redactDeep(await ops.expireSilence(request.params.id, actorName(request))),
  );
}

/** A duration longer than 0 (a number of ms, or written as "1h"): API_BAD_REQUEST naming the field and the value otherwise. */
function duration(value: unknown, name: string, example = "1h"): number {
  const ms = typeof value === "number" ? value : typeof value === "string" ? parseDuration(value) : undefined;
  if (ms === undefined || !(ms > 0)) throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be a duration such as ${example}, not ${JSON.stringify(value)}.`);
  return ms;
}
