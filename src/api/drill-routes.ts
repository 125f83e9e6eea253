import type { FastifyInstance } from "fastify";
import { EngineError, redactor } from "../core/index.js";
import type { MeasuredDrill, Operations } from "../engine/index.js";
import { actorName } from "./access.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/drills: every declared drill with its last run and next run; a drill run now (the answer
 * comes once it finished: it can take as long as the drill's time limit); a restart drill's run as
 * the CLI measured it, handed in; a drill's runs.
 */
export function registerDrillRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/drills", async () => redactor.redactDeep({ drills: await ops.drills() }));

  app.get<{ Params: { name: string } }>("/v1/drills/:name/runs", async (request) => redactor.redactDeep({ runs: await ops.drillRuns(request.params.name) }));

  app.post<{ Params: { name: string }; Body: Body }>("/v1/drills/:name/run", async (request) => redactor.redactDeep({ run: await ops.runDrill(request.params.name, { actor: actorName(request) }) }));

  app.post<{ Params: { name: string } }>("/v1/drills/:name/check", async (request) => {
    await ops.checkDrill(request.params.name);
    return { ready: true };
  });

  app.post<{ Params: { name: string }; Body: Body }>("/v1/drills/:name/results", async (request) =>
    redactor.redactDeep({ run: await ops.recordDrill(request.params.name, measured(request.body ?? {}), { actor: actorName(request) }) }),
  );
}

/** The body of a restart drill's measured run: epoch ms (null for what did not happen), the load's count and failures. */
function measured(body: Record<string, unknown>): MeasuredDrill {
  const time = (key: string, nullable = true): number | null => {
    const value = body[key];
    if (value === null && nullable) return null;
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
    throw new EngineError("API_BAD_REQUEST", `\`${key}\` must be a time in epoch ms${nullable ? " or null" : ""}.`);
  };
  const sent = body.sent;
  if (typeof sent !== "number" || !Number.isInteger(sent) || sent < 0) throw new EngineError("API_BAD_REQUEST", "`sent` must be a whole number of requests.");
  if (!Array.isArray(body.failures)) throw new EngineError("API_BAD_REQUEST", "`failures` must be a list of {at, fault, detail}.");
  const failures = body.failures.map((f: unknown) => {
    const failure = (f ?? {}) as Record<string, unknown>;
    if (typeof failure.at !== "number") throw new EngineError("API_BAD_REQUEST", "Each failure needs `at` (epoch ms).");
    return { at: failure.at, fault: failure.fault === true, detail: String(failure.detail ?? "").slice(0, 200) };
  });
  const error = typeof body.error === "string" && body.error ? body.error.slice(0, 500) : undefined;
  return { startedAt: time("startedAt", false)!, outcome: { faultAt: time("faultAt"), faultEndedAt: time("faultEndedAt"), healthyAt: time("healthyAt"), ...(error && { error }) }, sent, failures };
}
