import type { FastifyInstance, FastifyRequest } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import type { Caller, Operations } from "../engine/index.js";
import { optionalString } from "./params.js";

/**
 * /v1/approvals: the requests that wait for a person (plan approvals bound to a plan hash, and
 * releases that wait in require_approval environments), granted or denied with the `approve` scope
 * by another token than the one that asked (APPROVAL_SELF).
 */
export function registerApprovalRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: { all?: string } }>("/v1/approvals", async (request) => redactor.redactDeep({ approvals: await ops.approvals({ all: request.query.all === "true" }) }));

  app.get<{ Params: { id: string } }>("/v1/approvals/:id", async (request) => redactor.redactDeep(await ops.approval(request.params.id)));

  app.post<{ Params: { id: string } }>("/v1/approvals/:id/grant", { config: { scopes: () => ["approve"] } }, async (request) =>
    redactor.redactDeep(await ops.grantApproval(request.params.id, callerOf(request))),
  );

  app.post<{ Params: { id: string }; Body: { reason?: unknown } | undefined }>("/v1/approvals/:id/deny", { config: { scopes: () => ["approve"] } }, async (request) =>
    redactor.redactDeep(await ops.denyApproval(request.params.id, callerOf(request), optionalString(request.body?.reason, "reason"))),
  );
}

function callerOf(request: FastifyRequest): Caller {
  const caller = (request as FastifyRequest & { caller?: Caller }).caller;
  if (!caller) throw new EngineError("API_UNAUTHORIZED", "Missing or wrong API token.");
  return caller;
}
