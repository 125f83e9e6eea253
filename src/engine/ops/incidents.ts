import { EngineError } from "../../core/index.js";
import type { IncidentManager, IncidentUpdate, IncidentView } from "../../incident/index.js";
import type { IncidentRecord, IncidentSeverity } from "../../store/index.js";
import type { Engine } from "../engine.js";
import { requireService } from "../queries.js";

/** The incidents operations of the façade (see ../operations.ts): what `engineroom incidents` and /v1/incidents call. */
export interface IncidentOperations {
  /** Open incidents, newest first; with `all`, the latest ones whatever their state. */
  incidents(options?: { all?: boolean; limit?: number }): Promise<IncidentRecord[]>;
  /** One incident with its links and its timeline (INCIDENT_NOT_FOUND). */
  incident(id: string): Promise<IncidentView>;
  /**
   * Opens an incident by hand: the service must be declared (SERVICE_UNKNOWN), the environment
   * defaults to the last of the chain; without a severity it is computed from the blast radius.
   */
  openIncident(input: { title: string; service: string; environment?: string; severity?: IncidentSeverity; commander?: string; note?: string; by: string }): Promise<IncidentRecord>;
  ackIncident(id: string, by: string): Promise<IncidentRecord>;
  /** Severity (with a reason), commander, note, status: each a recorded change (INCIDENT_TRANSITION_INVALID for a step that skips or goes back). */
  updateIncident(id: string, input: IncidentUpdate): Promise<IncidentRecord>;
  resolveIncident(id: string, input: { note?: string; by: string }): Promise<IncidentRecord>;
  closeIncident(id: string, by: string): Promise<IncidentRecord>;
}

export function incidentOperations(engine: Engine): IncidentOperations {
  const manager = (): IncidentManager => {
    const found = engine.monitoring.incidents;
    if (!found) throw new EngineError("ENGINE_NOT_RUNNING", "The incidents have not started yet.");
    return found;
  };
  return {
    incidents: (options) => manager().list(options),
    incident: (id) => manager().show(id),
    openIncident: async (input) => {
      requireService(engine, input.service);
      const environment = input.environment === undefined ? engine.environments.at(-1)!.name : engine.environment(input.environment).name;
      return manager().open({ ...input, environment });
    },
    ackIncident: (id, by) => manager().ack(id, by),
    updateIncident: (id, input) => manager().update(id, input),
    resolveIncident: (id, input) => manager().resolve(id, input),
    closeIncident: (id, by) => manager().close(id, by),
  };
}
