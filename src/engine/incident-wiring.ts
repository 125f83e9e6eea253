import { IncidentManager, IncidentTriggers, incidentsSchemaFor, type ImpactSource, type IncidentsConfig } from "../incident/index.js";
import type { Notifier } from "../notify/index.js";
import type { SloParts } from "./slo-wiring.js";
import type { ServiceTrafficIndex } from "./service-traffic.js";
import { parseSection, type Engine } from "./engine.js";

/** What the incidents read of monitoring (started before them). */
export interface IncidentMonitoring {
  readonly notifier: Notifier | undefined;
  readonly slos: SloParts | undefined;
  readonly traffic: ServiceTrafficIndex;
}

/** The incidents as the engine runs them: the manager and the event source that feeds it. */
export interface IncidentParts {
  manager: IncidentManager;
  triggers: IncidentTriggers;
  stop(): Promise<void>;
}

/** `incidents:` of engineroom.yaml, checked against the declared channels: CONFIG_INVALID with the paths. */
export function incidentsConfig(engine: Pick<Engine, "project">): IncidentsConfig {
  const channels = Object.keys((engine.project.config.channels ?? {}) as Record<string, unknown>);
  return parseSection(engine.project, "incidents", incidentsSchemaFor(channels), engine.project.config.incidents);
}

/**
 * The blast radius over the engine's parts: routes from the environments' config, requests from the
 * proxies' metrics window (the last 15 minutes) or else the stored request history, budgets from the
 * SLO evaluator.
 */
export function impactOf(engine: Engine, monitoring: IncidentMonitoring): ImpactSource {
  return {
    chain: () => engine.environments.map((e) => e.name),
    routes: (service, environment) => {
      const config = engine.environments.find((e) => e.name === environment)?.config.services[service] as { routes?: unknown[] } | undefined;
      return config?.routes?.length ?? 0;
    },
    requests: async ({ service, environment, releaseId, fromMs, toMs }) => {
      const env = engine.environments.find((e) => e.name === environment);
      let live = { requests: 0, errors: 0 };
      if (env && releaseId) {
        const s = env.metrics.summary(releaseId, fromMs, toMs);
        const unanswered = s.upstreamErrors - s.retried;
        live = { requests: s.requests + unanswered, errors: s.status["5xx"] + unanswered };
      } else if (env) {
        live = monitoring.traffic.summary(service, environment, fromMs, toMs);
      }
      if (live.requests > 0) return { requests: live.requests, errors: live.errors };
      const stored = await engine.store.requests.counts({ service, environment, ...(releaseId && { releaseId }), fromMs, toMs });
      return { requests: stored.requests, errors: stored.errors };
    },
    budgets: async (service, environment) => {
      const evaluator = monitoring.slos?.evaluator;
      if (!evaluator) return [];
      const statuses = await evaluator.statuses();
      return statuses.filter((s) => s.service === service && s.environment === environment).map((s) => ({ slo: s.slo, budgetLeft: s.budgetLeft, exhausted: s.exhausted }));
    },
  };
}

/**
 * Starts the incidents: the manager (its escalation on the engine's clock) and the event-log source,
 * from this engine's `engine.started` event on, as the alerts' event source reads.
 */
export async function startIncidents(engine: Engine, monitoring: IncidentMonitoring, config: IncidentsConfig): Promise<IncidentParts> {
  const onError = (what: string) => (error: unknown) => engine.logger.warn(`incidents: ${what} failed`, { error: String(error) });
  const manager = new IncidentManager({
    store: engine.store,
    clock: engine.clock,
    config,
    outbox: { send: (channel, notification) => void monitoring.notifier?.send(channel, notification).catch(onError(`a notice to ${channel}`)) },
    impact: impactOf(engine, monitoring),
    configs: engine.configSnapshots,
    externalURL: `http://${engine.project.config.api.listen}`,
    onError: onError("escalation"),
  });
  const triggers = new IncidentTriggers({ events: engine.store.events, alerts: engine.store.alerts, releases: engine.store.releases, sink: manager, clock: engine.clock, onError: onError("event source") });
  manager.start();
  const [started] = await engine.store.events.list({ types: ["engine.started"], limit: 1 });
  await triggers.start(started ? started.id - 1 : undefined);
  return {
    manager,
    triggers,
    stop: async () => {
      await triggers.stop();
      await manager.stop();
    },
  };
}
