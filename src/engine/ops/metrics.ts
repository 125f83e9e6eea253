import type { Engine } from "../engine.js";

/** The Prometheus exposition of the façade (see ../operations.ts). */
export interface MetricsOperations {
  /** Every metric of the engine in Prometheus text format (0.0.4), pulled from its parts now. */
  metrics(): Promise<{ contentType: string; text: string }>;
}

export function metricsOperations(engine: Engine): MetricsOperations {
  return { metrics: () => engine.monitoring.metrics.render() };
}
