import type { FastifyInstance, FastifyRequest } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import { scopeFor, type Caller, type Operations, type Scope } from "../engine/index.js";
import { actorName } from "./access.js";
import { optionalString as text } from "./params.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/runbooks and /v1/runbook-runs: the declared runbooks with their latest runs; a dry run (scope
 * `read`) or a real run (`rollback:<env>`, the responders' scope; `wait`: answer once it ended or
 * paused for an approval); one run; approve or deny a run paused at its approve step (`approve`; not
 * with the created token that started it). Who acts is the body's `by` (the CLI sends the OS user
 * name), else the token's name.
 */
export function registerRunbookRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/runbooks", async () => redactor.redactDeep({ runbooks: await ops.runbooks() }));

  app.post<{ Params: { name: string }; Body: Body }>("/v1/runbooks/:name/run", { config: { scopes: runScopes } }, async (request, reply) => {
    const body = request.body ?? {};
    const service = text(body.service, "service");
    const environment = text(body.environment, "environment");
    const incident = text(body.incident, "incident");
    const dryRun = flag(body.dry_run, "dry_run");
    const result = await ops.runRunbook(request.params.name, {
      ...who(request),
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
    app.post<{ Params: { id: string }; Body: Body }>(`/v1/runbook-runs/:id/${decision}`, { config: { scopes: () => ["approve"] } }, async (request) => {
      const body = request.body ?? {};
      const reason = text(body.reason, "reason");
      return redactor.redactDeep(await ops.decideRunbookRun(request.params.id, decision, { ...who(request), ...(reason !== undefined && { reason }) }));
    });
  }
}

/** A dry run reads; a real run acts in its environment as a responder does (`rollback:<env>`). */
async function runScopes(request: FastifyRequest, ops: Operations): Promise<Scope[]> {
  const body = (request.body && typeof request.body === "object" ? request.body : {}) as Record<string, unknown>;
  if (body.dry_run === true) return ["read"];
  const name = (request.params as { name?: string }).name;
  const declared = (await ops.runbooks()).find((r) => r.name === name)?.environment ?? undefined;
  const environment = (typeof body.environment === "string" && body.environment) || declared || ops.project().environments.at(-1)!;
  return [scopeFor("rollback", environment)];
}

/** Who acts (see actorName) and the created token it came with. */
function who(request: FastifyRequest): { by: string; token?: string } {
  const caller = (request as FastifyRequest & { caller?: Caller }).caller;
  const by = actorName(request);
  return { by, ...(caller?.tokenId !== undefined && { token: caller.tokenId }) };
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  throw new EngineError("API_BAD_REQUEST", `\`${name}\` must be true or false.`);
}
