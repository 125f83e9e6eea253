import type { FastifyInstance } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { actorOf as actor, optionalString as text } from "./params.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/runbooks and /v1/runbook-runs: the declared runbooks with their latest runs; a dry run or a
 * real run (`dry_run`, `wait`: answer once it ended or paused for an approval); one run; approve or
 * deny a run paused at its approve step. Who acts is the body's `by` (the CLI sends the OS user
 * name), or `api`; `agent: true` marks an agent's call (it may not approve the run it started).
 */
export function registerRunbookRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/runbooks", async () => redactor.redactDeep({ runbooks: await ops.runbooks() }));

  app.post<{ Params: { name: string }; Body: Body }>("/v1/runbooks/:name/run", async (request, reply) => {
    const body = request.body ?? {};
    const service = text(body.service, "service");
    const environment = text(body.environment, "environment");
    const incident = text(body.incident, "incident");
    const dryRun = flag(body.dry_run, "dry_run");
    const result = await ops.runRunbook(request.params.name, {
      by: actor(body),
      ...(body.agent === true && { agent: true }),
      ...(service !== undefined && { service }),
      ...(environment !== undefined && { environment }),
      ...(incident !== undefined && { incident }),
      dryRun,
      wait: flag(body.wait, "wait"),
    });
    if (!dryRun) void reply.status(201);
    return redactor.redactDeep(result);
  });

  app.get<{ Params: { id: string } }>("/v1/runbook-runs/:id", async (request) => redactor.redactDeep(await ops.runbookRun(request.params.id)));

  for (const decision of ["approve", "deny"] as const) {
    app.post<{ Params: { id: string }; Body: Body }>(`/v1/runbook-runs/:id/${decision}`, async (request) => {
      const body = request.body ?? {};
      const reason = text(body.reason, "reason");
      return redactor.redactDeep(await ops.decideRunbookRun(request.params.id, decision, { by: actor(body), ...(body.agent === true && { agent: true }), ...(reason !== undefined && { reason }) }));
    });
  }
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be true or false.`);
}
