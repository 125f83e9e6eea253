import { EngineError } from "../../core/index.js";
import type { SloStatus } from "../../slo/index.js";
import type { Engine } from "../engine.js";

/** Every SLO in each of its environments, as `engineroom slo` shows them. */
export interface SloReport {
  slos: SloStatus[];
  /** The end of the request history the figures are computed to (every minute before it is recorded). */
  recordedUntil: number;
}

/** The slo operations of the façade (see ../operations.ts). */
export interface SloOperations {
  /** Every SLO (or those kept in `environment`), evaluated now. */
  slos(options?: { environment?: string }): Promise<SloReport>;
  /** One SLO in each of its environments, evaluated now; SLO_UNKNOWN for a name not declared. */
  slo(name: string, options?: { environment?: string }): Promise<SloReport>;
}

export function sloOperations(engine: Engine): SloOperations {
  const report = async (environment: string | undefined, name?: string): Promise<SloReport> => {
    if (environment !== undefined) engine.environment(environment);
    const parts = engine.monitoring.slos;
    const declared = parts?.evaluator.slos ?? [];
    if (name !== undefined && !declared.some((s) => s.name === name)) {
      const names = declared.map((s) => s.name).join(", ") || "none";
      throw new EngineError("SLO_UNKNOWN", `No SLO named "${name}" (declared: ${names}).`);
    }
    const statuses = parts ? await parts.evaluator.evaluate() : [];
    return {
      slos: statuses.filter((s) => (environment === undefined || s.environment === environment) && (name === undefined || s.slo === name)),
      recordedUntil: parts?.recorder.recordedUntil ?? engine.clock.now(),
    };
  };
  return {
    slos: (options = {}) => report(options.environment),
    slo: (name, options = {}) => report(options.environment, name),
  };
}
