import { EngineError } from "../../core/index.js";
import type { DrillDefinition, DrillOutcome, LoadFailure, LoadTarget } from "../../drill/index.js";
import type { DrillRunRecord } from "../../store/index.js";
import type { Engine } from "../engine.js";
import { loadTarget, type DrillParts } from "../drill-wiring.js";

/** A declared drill as `engineroom drill list` shows it: its definition, its last run, its next scheduled run. */
export interface DrillView {
  name: string;
  type: DrillDefinition["type"];
  service: string;
  environment: string;
  schedule: string | null;
  /** Epoch ms of the next scheduled run, or null. */
  nextRun: number | null;
  running: boolean;
  fault: DrillDefinition["fault"] | null;
  pass: DrillDefinition["pass"];
  load: DrillDefinition["load"];
  timeoutMs: number;
  /** Where the drill's load goes: the environment's proxy, with the route's Host and path. */
  target: LoadTarget;
  last: DrillRunRecord | null;
}

/** A restart drill as the CLI measured it around the engine's restart (epoch ms), handed in to be judged and recorded. */
export interface MeasuredDrill {
  startedAt: number;
  outcome: Pick<DrillOutcome, "faultAt" | "faultEndedAt" | "healthyAt"> & { error?: string };
  sent: number;
  failures: LoadFailure[];
}

/** The drills operations of the façade (see ../operations.ts): what `engineroom drill` and /v1/drills call. */
export interface DrillOperations {
  /** Every declared drill with its last run and its next one. */
  drills(): Promise<DrillView[]>;
  /** Runs the drill now and resolves with its run once it finished (DRILL_NOT_FOUND, DRILL_BUSY, DRILL_UNSUPPORTED). */
  runDrill(name: string, options?: { actor?: string }): Promise<DrillRunRecord>;
  /** Records a restart drill the CLI ran around an engine restart: judged by its pass rule and recorded as any run (API_BAD_REQUEST for another type). */
  recordDrill(name: string, measured: MeasuredDrill, options?: { actor?: string }): Promise<DrillRunRecord>;
  /** Refuses (DRILL_BUSY, RELEASE_NOT_FOUND) a drill that could not start now; what `drill run` of a restart drill asks before it stops the engine. */
  checkDrill(name: string): Promise<void>;
  /** The drill's runs, newest first. */
  drillRuns(name?: string, options?: { limit?: number }): Promise<DrillRunRecord[]>;
}

export function drillOperations(engine: Engine): DrillOperations {
  const parts = (): DrillParts => {
    if (!engine.drills) throw new EngineError("ENGINE_NOT_RUNNING", "The drills have not started yet.");
    return engine.drills;
  };
  const definition = (name: string): DrillDefinition => {
    const found = parts().definitions.find((d) => d.name === name);
    if (!found) {
      const names = parts().definitions.map((d) => d.name);
      throw new EngineError("DRILL_NOT_FOUND", `No drill named "${name}" (${names.length ? `declared: ${names.join(", ")}` : "none is declared under drills:"}).`);
    }
    return found;
  };
  return {
    async drills() {
      const { definitions, runner, schedule } = parts();
      return Promise.all(
        definitions.map(async (d): Promise<DrillView> => {
          const [last] = await engine.store.drills.list({ drill: d.name, limit: 1 });
          return {
            name: d.name,
            type: d.type,
            service: d.service,
            environment: d.environment,
            schedule: d.schedule ?? null,
            nextRun: schedule.next(d.name) ?? null,
            running: runner.running() === d.name,
            fault: d.fault ?? null,
            pass: d.pass,
            load: d.load,
            timeoutMs: d.timeoutMs,
            target: loadTarget(engine, d),
            last: last ?? null,
          };
        }),
      );
    },
    runDrill: (name, options = {}) => parts().runner.run(definition(name), options.actor ?? "api"),
    async recordDrill(name, measured, options = {}) {
      const drill = definition(name);
      if (drill.type !== "restart") throw new EngineError("API_BAD_REQUEST", `Drill ${name} is a ${drill.type} drill: the engine runs it itself (POST /v1/drills/${name}/run); only restart drills are handed in.`);
      const live = await engine.store.live.get(drill.service, drill.environment);
      const outcome: DrillOutcome = { releaseId: live?.releaseId ?? null, detectedAt: null, rolledBackAt: null, ...measured.outcome };
      return parts().runner.record(drill, options.actor ?? "api", { startedAt: measured.startedAt, outcome, sent: measured.sent, failures: measured.failures });
    },
    checkDrill: (name) => parts().ready(definition(name)),
    async drillRuns(name, options = {}) {
      if (name !== undefined) definition(name);
      return engine.store.drills.list({ ...(name !== undefined && { drill: name }), limit: options.limit ?? 50 });
    },
  };
}
