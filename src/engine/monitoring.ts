import type { Engine } from "./engine.js";

/**
 * Monitoring as the engine runs it, built from engineroom.yaml once the environments have started:
 * checks (monitor/), SLOs (slo/), alerts (alert/) and their channels (notify/), fed by the proxies'
 * metrics, the checks' results and the event log. Each part has its own section below.
 */
export class Monitoring {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** Starts every part; a config problem throws CONFIG_INVALID before anything starts. */
  async start(): Promise<void> {
    void this.#engine;
    // --- checks (monitor/) ---
    // --- SLOs (slo/) ---
    // --- channels (notify/) ---
    // --- alerts (alert/) ---
  }

  /** Stops every part: no check, evaluation or notification runs after it resolves. */
  async stop(): Promise<void> {
    // --- alerts (alert/) ---
    // --- channels (notify/) ---
    // --- SLOs (slo/) ---
    // --- checks (monitor/) ---
  }
}
