import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

/**
 * /v1/drills: every declared drill with its last run and next run; a drill run now (the answer
 * comes once it finished: it can take as long as the drill's time limit); a drill's runs.
 */
export function registerDrillRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/drills", async () => redactor.redactDeep({ drills: await ops.drills() }));

  app.get<{ Params: { name: string } }>("/v1/drills/:name/runs", async (request) => redactor.redactDeep({ runs: await ops.drillRuns(request.params.name) }));

  app.post<{ Params: { name: string }; Body: Record<string, unknown> | undefined }>("/v1/drills/:name/run", async (request) => {
    const by = request.body?.by;
    const actor = typeof by === "string" && by.trim() ? by.trim().slice(0, 100) : "api";
    return redactor.redactDeep({ run: await ops.runDrill(request.params.name, { actor }) });
  });
}
