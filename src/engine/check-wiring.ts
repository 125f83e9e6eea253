import { DerivedChecks, Monitor, monitorSettingsSchema, parseChecks, type CheckDefinition } from "../monitor/index.js";
import { parseSection, type Engine } from "./engine.js";

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

  /** Parses `monitor:` and `checks:` (CONFIG_INVALID with paths, before anything runs), then starts every check. */
  static async start(engine: Engine): Promise<EngineChecks> {
    const { project } = engine;
    const settings = parseSection(project, "monitor", monitorSettingsSchema, project.config.monitor ?? {});
    const declared = parseChecks((project.config.checks ?? {}) as Record<string, unknown>, { path: ["checks"], dir: project.dir });
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
