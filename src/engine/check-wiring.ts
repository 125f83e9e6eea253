import type { z } from "zod";
import { closest } from "../config/index.js";
import { DerivedChecks, Monitor, type CheckDefinition, type monitorSettingsSchema } from "../monitor/index.js";
import type { Engine } from "./engine.js";

/** How often the derived checks follow the live table (a service's first release going live, a service removed). */
const refreshMs = 2_000;

/**
 * The engine's checks: the declared ones (`checks:`), and every service's own — its health through
 * each environment's proxy while it has a live release there, and each proxy's address — on one
 * Monitor with the engine's store and clock, under the caps of `monitor:`.
 */
export class EngineChecks {
  readonly monitor: Monitor;
  readonly #engine: Engine;
  readonly #declared: CheckDefinition[];
  readonly #derived: DerivedChecks;
  readonly #stopped = new AbortController();
  #following: Promise<void> | undefined;

  private constructor(engine: Engine, monitor: Monitor, declared: CheckDefinition[], serviceCheckIntervalMs: number) {
    this.#engine = engine;
    this.#derived = new DerivedChecks({ intervalMs: serviceCheckIntervalMs });
    this.monitor = monitor;
    this.#declared = declared;
  }

  /** Starts every check: the declared ones and every service's own, under the caps of `monitor:` (both parsed at the engine's start, see monitoring-config.ts). */
  static async start(engine: Engine, config: { monitor: z.output<typeof monitorSettingsSchema>; checks: CheckDefinition[] }): Promise<EngineChecks> {
    const { monitor: settings, checks: declared } = config;
    const monitor = new Monitor({
      store: engine.store,
      clock: engine.clock,
      logger: engine.logger.child({ component: "checks" }),
      maxConcurrency: settings.max_concurrency,
      maxPerTarget: settings.max_per_target,
    });
    const checks = new EngineChecks(engine, monitor, declared, settings.service_check_interval);
    await monitor.start([...declared, ...(await checks.#derive())]);
    checks.#following = checks.#follow();
    return checks;
  }

  /** Brings the derived checks up to date with the live table now (a deploy just went live). */
  async refresh(): Promise<void> {
    const derived = await this.#derive();
    if (!this.#stopped.signal.aborted) this.monitor.set([...this.#declared, ...derived]);
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#following;
    await this.monitor.stop();
  }

  async #derive(): Promise<CheckDefinition[]> {
    const live = new Set((await this.#engine.store.live.list()).map((r) => `${r.service}\n${r.environment}`));
    return this.#derived.derive({
      environments: this.#engine.environments.map((e) => ({ name: e.name, proxyAddress: e.proxyAddress, services: e.config.services })),
      isLive: (service, environment) => live.has(`${service}\n${environment}`),
    });
  }

  async #follow(): Promise<void> {
    while (!this.#stopped.signal.aborted) {
      try {
        await this.#engine.clock.sleep(refreshMs, this.#stopped.signal);
        await this.refresh();
      } catch (error) {
        if (this.#stopped.signal.aborted) return;
        this.#engine.logger.warn("derived checks: could not read the live table", { error: String(error) });
      }
    }
  }
}

/**
 * The problems of declared checks whose `service` or `environment` the project does not declare
 * (monitor/ cannot see them), as `checks.<name>.service: message`, with the nearest declared name.
 */
export function unknownCheckTargets(section: Record<string, unknown>, declared: { services: readonly string[]; environments: readonly string[] }): string[] {
  const problems: string[] = [];
  const unknown = (path: string, kind: string, name: unknown, names: readonly string[], listed: string) => {
    if (typeof name !== "string" || names.includes(name)) return;
    const guess = closest(name, names);
    problems.push(`${path}: no ${kind} named "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; ${listed}: ${names.join(", ")}`);
  };
  for (const [name, config] of Object.entries(section)) {
    if (config === null || typeof config !== "object" || Array.isArray(config)) continue;
    const { service, environment } = config as Record<string, unknown>;
    unknown(`checks.${name}.service`, "service", service, declared.services, "declared");
    unknown(`checks.${name}.environment`, "environment", environment, declared.environments, "the chain");
  }
  return problems;
}
