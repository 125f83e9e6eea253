import { noiseReport, type AlertManager, type AlertView, type NoiseReport } from "../../alert/index.js";
import { EngineError } from "../../core/index.js";
import type { AlertOutcome, DeliveryRecord, SilenceRecord } from "../../store/index.js";
import type { Engine } from "../engine.js";

/** The alerts operations of the façade (see ../operations.ts): what `engineroom alerts` and /v1/alerts call. */
export interface AlertOperations {
  /** Firing alerts, newest first; with `all`, recent resolved ones after them. */
  alerts(options?: { all?: boolean; limit?: number }): Promise<AlertView[]>;
  alert(id: string): Promise<AlertView>;
  /** Acknowledges a firing alert (ALERT_NOT_FOUND, ALERT_NOT_FIRING); it stops repeating until `forMs` passes or it resolves. */
  ackAlert(id: string, input: { by: string; forMs?: number; comment?: string }): Promise<AlertView>;
  /** A person's outcome for an alert; inference never replaces it. */
  setAlertOutcome(id: string, outcome: AlertOutcome, input: { by: string; reason?: string }): Promise<AlertView>;
  createSilence(input: { matchers: string[]; reason: string; forMs: number; createdBy: string }): Promise<SilenceRecord>;
  silences(): Promise<SilenceRecord[]>;
  expireSilence(id: string, by: string): Promise<SilenceRecord>;
  /** The false-positive ratio per rule and overall over alerts that began in the last `sinceMs`. */
  alertNoise(options: { sinceMs: number }): Promise<NoiseReport>;
  /** The delivery log, newest first. */
  deliveries(options?: { limit?: number }): Promise<DeliveryRecord[]>;
}

export function alertOperations(engine: Engine): AlertOperations {
  const manager = (): AlertManager => {
    const alerts = engine.monitoring.alerts;
    if (!alerts) throw new EngineError("ENGINE_NOT_RUNNING", "The alert manager has not started yet.");
    return alerts;
  };
  return {
    alerts: (options) => manager().list(options),
    alert: (id) => manager().get(id),
    ackAlert: async (id, input) => {
      await manager().ack(id, input);
      return manager().get(id);
    },
    setAlertOutcome: async (id, outcome, input) => {
      await manager().setOutcome(id, outcome, input);
      return manager().get(id);
    },
    createSilence: async (input) => manager().createSilence(input),
    silences: () => manager().silences(),
    expireSilence: (id, by) => manager().expireSilence(id, by),
    alertNoise: async ({ sinceMs }) => {
      await manager().idle();
      const until = engine.clock.now();
      const since = until - sinceMs;
      return noiseReport(await engine.store.alerts.list({ since, limit: 100_000 }), since, until);
    },
    deliveries: async (options) => {
      await manager().idle();
      return engine.store.alerts.listDeliveries({ limit: options?.limit ?? 50 });
    },
  };
}
