import { EngineError } from "../../core/index.js";
import type { DrillDefinition } from "../../drill/index.js";
import type { DrillRunRecord } from "../../store/index.js";
import type { Engine } from "../engine.js";
import type { DrillParts } from "../drill-wiring.js";

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
  last: DrillRunRecord | null;
}

/** The drills operations of the façade (see ../operations.ts): what `engineroom drill` and /v1/drills call. */
export interface DrillOperations {
  /** Every declared drill with its last run and its next one. */
  drills(): Promise<DrillView[]>;
  /** Runs the drill now and resolves with its run once it finished (DRILL_NOT_FOUND, DRILL_BUSY, DRILL_UNSUPPORTED). */
  runDrill(name: string, options?: { actor?: string }): Promise<DrillRunRecord>;
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
            last: last ?? null,
          };
        }),
      );
    },
    runDrill: (name, options = {}) => parts().runner.run(definition(name), options.actor ?? "api"),
    async drillRuns(name, options = {}) {
      if (name !== undefined) definition(name);
      return engine.store.drills.list({ ...(name !== undefined && { drill: name }), limit: options.limit ?? 50 });
    },
  };
}
