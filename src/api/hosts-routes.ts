import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { actorName } from "./access.js";

type Query = { env?: string };
type Body = { env?: unknown } | undefined;

/**
 * /v1/hosts: every ssh host of the project checked now (reachability, pinned host key, Node.js, state
 * folder, daemon, load, free disk), and bootstrapped (admin: state folder, code, daemon).
 */
export function registerHostRoutes(app: FastifyInstance, ops: Operations): void {
  app.get<{ Querystring: Query }>("/v1/hosts", async (request) => redactor.redactDeep({ hosts: await ops.hosts(env(request.query.env)) }));

  app.post<{ Body: Body }>("/v1/hosts/bootstrap", async (request) =>
    redactor.redactDeep({ hosts: await ops.bootstrapHosts({ ...env(request.body?.env), actor: actorName(request) }) }),
  );
}

function env(value: unknown): { environment?: string } {
  return typeof value === "string" && value ? { environment: value } : {};
}
