import type { AlertSignal, AlertSink } from "../alert/index.js";
import type { Clock, Logger } from "../core/index.js";
import type { EventLog } from "../store/index.js";
import type { SloDefinition } from "./config.js";
import { evaluateSlo, type SloSources, type SloStatus } from "./status.js";

export interface EvaluatorOptions extends SloSources {
  slos: readonly SloDefinition[];
  clock: Clock;
  /** Where burn alerts go (the alert manager); without one, alert states are only shown. */
  sink?: AlertSink;
  /**
   * The end of the request history, a minute boundary: every minute before it is recorded. Called
   * before each evaluation, which it may first bring up to date (the recorder's flush).
   */
  recordedUntil: () => Promise<number>;
  /** Where a budget's exhaustion and recovery are recorded (`slo.budget-exhausted`, `slo.budget-recovered`). */
  events?: Pick<EventLog, "append" | "list">;
  logger?: Logger;
}

/** The alert rule name of every SLO burn alert. */
export const burnRule = "slo-burn";

/**
 * Evaluates every SLO in each of its environments, every 30 s by default: budget, burn rates, and
 * the multi-window multi-burn-rate alerts, reported to the alert sink as one alert per SLO,
 * environment and severity (not one per window): `active` while any of its pairs fires, then once
 * `active: false` when none does.
 */
export class SloEvaluator {
  readonly #options: EvaluatorOptions;
  #statuses = new Map<string, SloStatus>();
  #reported = new Map<string, boolean>();
  /** Per SLO and environment: whether its budget was last recorded exhausted. */
  #exhausted = new Map<string, boolean>();
  #running: Promise<SloStatus[]> | undefined;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: EvaluatorOptions) {
    this.#options = options;
  }

  get slos(): readonly SloDefinition[] {
    return this.#options.slos;
  }

  /** Evaluates now and reports what changed; concurrent calls share one evaluation. */
  evaluate(): Promise<SloStatus[]> {
    this.#running ??= this.#evaluate().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The statuses of the last evaluation (evaluating first when there was none). */
  async statuses(): Promise<SloStatus[]> {
    if (this.#statuses.size === 0 && this.#options.slos.length > 0) return this.evaluate();
    return [...this.#statuses.values()];
  }

  /** The SLOs of the service whose budget is exhausted in the environment, evaluated afresh. */
  async exhausted(service: string, environment: string): Promise<SloStatus[]> {
    const statuses = await this.evaluate();
    return statuses.filter((s) => s.service === service && s.environment === environment && s.exhausted);
  }

  /** Evaluates every `intervalMs` (default 30 s), the first time after `firstMs`, until `stop`. */
  start(intervalMs = 30_000, firstMs = 0): void {
    if (this.#stop) return;
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      if (firstMs > 0) await this.#options.clock.sleep(firstMs, stop.signal).catch(() => {});
      while (!stop.signal.aborted) {
        await this.evaluate().catch((error) => this.#options.logger?.warn("SLO evaluation failed", { error: String(error) }));
        await this.#options.clock.sleep(intervalMs, stop.signal).catch(() => {});
      }
    })();
  }

  /** Stops the loop; no evaluation runs after it resolves. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    await this.#running?.catch(() => {});
    this.#stop = undefined;
  }

  async #evaluate(): Promise<SloStatus[]> {
    const to = await this.#options.recordedUntil();
    // SLOs of one service (availability and latency) read the same windows: each sum once per evaluation.
    const sums = new Map<string, ReturnType<SloSources["requests"]["counts"]>>();
    const requests: SloSources["requests"] = {
      counts: (query) => {
        const key = JSON.stringify(query);
        if (!sums.has(key)) sums.set(key, this.#options.requests.counts(query));
        return sums.get(key)!;
      },
    };
    const sources: SloSources = { requests, ...(this.#options.checks ? { checks: this.#options.checks } : {}) };
    const results: SloStatus[] = [];
    for (const slo of this.#options.slos) {
      for (const environment of slo.environments) {
        const key = `${slo.name}\u0000${environment}`;
        const status = await evaluateSlo(slo, environment, to, sources, this.#statuses.get(key));
        this.#statuses.set(key, status);
        this.#report(status);
        await this.#recordBudget(key, status);
        results.push(status);
      }
    }
    return results;
  }

  /** Records a budget that became exhausted, or recovered; the last such event tells a restarted engine where it stood. */
  async #recordBudget(key: string, status: SloStatus): Promise<void> {
    const events = this.#options.events;
    if (!events) return;
    if (!this.#exhausted.has(key)) {
      const past = await events.list({ types: ["slo.budget-exhausted", "slo.budget-recovered"], service: status.service, environment: status.environment, limit: 1000 });
      const last = past.filter((e) => e.data.slo === status.slo).at(-1);
      this.#exhausted.set(key, last?.type === "slo.budget-exhausted");
    }
    if (this.#exhausted.get(key) === status.exhausted) return;
    this.#exhausted.set(key, status.exhausted);
    const what = status.exhausted ? "is exhausted: promotions into it are refused" : "has recovered";
    await events.append({
      type: status.exhausted ? "slo.budget-exhausted" : "slo.budget-recovered",
      service: status.service,
      environment: status.environment,
      message: `the error budget of SLO ${status.slo} (${status.service} in ${status.environment}) ${what}; budget left ${status.budgetLeft}% of ${status.window}`,
      data: { slo: status.slo, budgetLeft: status.budgetLeft, bad: status.events.bad, valid: status.events.valid, window: status.window },
    });
  }

  /** Active alerts every evaluation (their annotations carry the burn now); inactive ones once, when they clear (or at the first evaluation). */
  #report(status: SloStatus): void {
    const sink = this.#options.sink;
    if (!sink) return;
    for (const alert of status.alerts) {
      const key = `${status.slo}\u0000${status.environment}\u0000${alert.severity}`;
      if (!alert.active && this.#reported.get(key) === false) continue;
      this.#reported.set(key, alert.active);
      sink.report(burnSignal(status, alert.severity));
    }
  }
}

/** The alert signal of one severity of an SLO in an environment. */
export function burnSignal(status: SloStatus, severity: SloStatus["alerts"][number]["severity"]): AlertSignal {
  const alert = status.alerts.find((a) => a.severity === severity)!;
  const rates = Object.fromEntries(status.burnRates.map((b) => [`burn_rate_${b.window}`, b.burnRate === null ? "no events" : `${b.burnRate}`]));
  const where = `${status.service} in ${status.environment}`;
  const summary = alert.active
    ? `SLO ${status.slo} (${where}) burns its error budget: ${alert.firing.join("; ")}`
    : `SLO ${status.slo} (${where}) no longer burns its budget fast enough to ${severity}`;
  return {
    rule: burnRule,
    severity,
    labels: { slo: status.slo, service: status.service, environment: status.environment },
    annotations: {
      summary,
      description: `${status.kind} ${status.target}% over ${status.window}: attained ${status.attained ?? "–"}%, budget left ${status.budgetLeft}%`,
      budget_left: `${status.budgetLeft}%`,
      policy: status.policy.text,
      ...rates,
    },
    active: alert.active,
    ...(alert.since === null ? {} : { since: alert.since }),
  };
}
