import { EngineError } from "../core/index.js";
import { histogramQuantile } from "../metrics/index.js";
import { healthCheckName } from "../monitor/index.js";
import { alertFeed, loadRunbooks, RunbookRunner, runbookNotice, type MetricName, type RunbookActions, type RunbookDefinition, type Situation } from "../runbook/index.js";
import type { Notification } from "../notify/index.js";
import { burnRule } from "../slo/index.js";
import type { Engine } from "./engine.js";
import type { Monitoring } from "./monitoring.js";

/** The rules whose firing alerts conditions look at (the alert manager answers by rule). */
const knownRules = ["check-down", "certificate-expiring", "check-degraded", "release-rolled-back", "release-down", "deploy-failed", "drift", burnRule];

/**
 * `runbooks:` and the files of `runbooks_from:`, checked against the declared services,
 * environments and channels: CONFIG_INVALID with the paths (gathered with the other monitoring
 * sections by monitoringConfig).
 */
export function runbooksSection(engine: Pick<Engine, "project">): RunbookDefinition[] {
  const { project } = engine;
  const config = project.config as { runbooks?: unknown; runbooks_from?: string[] };
  const declared = {
    services: Object.keys(project.config.services),
    environments: project.config.environments.map((e) => e.name),
    channels: Object.keys((project.config.channels ?? {}) as Record<string, unknown>),
  };
  const loaded = loadRunbooks({ runbooks: config.runbooks, from: config.runbooks_from ?? [], dir: project.dir, file: project.file, declared });
  const problems = [...loaded.problems, ...unknownRuleRunbooks(project, loaded.names)];
  if (problems.length === 0) return loaded.runbooks;
  throw new EngineError("CONFIG_INVALID", `${project.file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
}

/** A metric rule's `runbook:` (alerts.rules) that names no declared runbook, at its path. */
function unknownRuleRunbooks(project: Engine["project"], names: readonly string[]): string[] {
  const rules = ((project.config.alerts as { rules?: unknown } | undefined)?.rules ?? []) as { runbook?: unknown }[];
  if (!Array.isArray(rules)) return [];
  return rules.flatMap((rule, i) =>
    typeof rule?.runbook === "string" && !names.includes(rule.runbook) ? [`alerts.rules.${i}.runbook: no runbook named "${rule.runbook}" under runbooks:${names.length ? ` (declared: ${names.join(", ")})` : " (none is declared)"}`] : [],
  );
}

/** The runbooks as the engine runs them: the runner and the alert feed that starts automatic runs. */
export interface RunbookParts {
  runner: RunbookRunner;
  stop(): Promise<void>;
}

/** The metric of the service's traffic over the last `windowMs`, as rules compute it. */
function metricOf(monitoring: Monitoring, service: string, environment: string, metric: MetricName, windowMs: number, now: number): { value: number | null; requests: number } {
  const s = monitoring.traffic.summary(service, environment, now - windowMs, now);
  switch (metric) {
    case "error_rate":
      return { value: s.requests === 0 ? 0 : s.errors / s.requests, requests: s.requests };
    case "rps":
      return { value: s.requests / (windowMs / 1000), requests: s.requests };
    default:
      return { value: histogramQuantile(s.latency, metric === "p95" ? 0.95 : 0.99), requests: s.requests };
  }
}

function actionsOf(engine: Engine, monitoring: Monitoring, ruleNames: string[], announceTo: readonly string[]): RunbookActions {
  const live = async (service: string, environment: string) => {
    const env = engine.environment(environment);
    const entry = await engine.store.live.get(service, env.name);
    const release = entry && (await engine.store.releases.get(entry.releaseId));
    return release ? { release, env } : undefined;
  };
  const requireLive = async (service: string, environment: string) => {
    const found = await live(service, environment);
    if (!found) throw new EngineError("RELEASE_NOT_FOUND", `${service} has no live release in ${environment}.`);
    return found;
  };
  return {
    workDir: engine.project.dir,
    chain: () => engine.environments.map((e) => e.name),
    hasService: (service) => Object.hasOwn(engine.project.config.services, service),
    situation: (service, environment, automatic): Situation => ({
      service,
      environment,
      automatic,
      checkState: (name) => monitoring.checks?.status(name)?.state,
      firingRules: () => (monitoring.alerts?.firingOf(ruleNames) ?? []).filter((a) => a.labels.service === service && (a.labels.environment ?? environment) === environment).map((a) => a.rule),
      metric: (metric, windowMs) => metricOf(monitoring, service, environment, metric, windowMs, engine.clock.now()),
    }),
    live: async (service, environment) => {
      const found = await live(service, environment);
      if (!found) return undefined;
      const views = found.env.supervisor.view(found.release.id);
      return { releaseId: found.release.id, number: found.release.number, instances: views.map((v) => ({ id: v.id, port: v.port, ...(v.pid !== undefined && { pid: v.pid }), healthy: v.healthy })) };
    },
    rollbackTarget: async (service, environment) => {
      const found = await live(service, environment);
      if (!found) return undefined;
      const [event] = await engine.store.events.list({ releaseId: found.release.id, types: ["release.live"], limit: 1 });
      const previousId = typeof event?.data.previousReleaseId === "string" ? event.data.previousReleaseId : undefined;
      const previous = previousId && (await engine.store.releases.get(previousId));
      return previous ? { releaseId: previous.id, number: previous.number } : undefined;
    },
    rollback: async (service, environment, actor) => {
      const result = await engine.environment(environment).deployer.rollback(service, { actor });
      return `switched ${service} in ${environment} from v${result.from.number} to v${result.to.number}${result.warm ? " (it was warm)" : ""} in ${Math.round(result.totalMs)} ms`;
    },
    restart: async (service, environment, actor) => {
      const { release, env } = await requireLive(service, environment);
      const done = await env.lock.run(`restart ${service} (${actor})`, () => env.supervisor.restartAll(release.id));
      return `restarted ${service} v${release.number} in ${environment}: ${done.replaced.map((id, i) => `${id} → ${done.started[i]}`).join(", ")}`;
    },
    scale: async (service, environment, instances, actor) => {
      const { release, env } = await requireLive(service, environment);
      const done = await env.lock.run(`scale ${service} (${actor})`, () => env.supervisor.scale(release.id, instances));
      await engine.store.events.append({ type: "instances.scaled", service, environment, releaseId: release.id, message: `${service} v${release.number} in ${environment} scaled from ${done.from} to ${instances} instance(s) by ${actor}, until its next release`, data: { from: done.from, to: instances, started: done.started, stopped: done.stopped } });
      return `scaled ${service} v${release.number} in ${environment} from ${done.from} to ${instances} instance(s)${done.started.length ? `; started ${done.started.join(", ")}` : ""}${done.stopped.length ? `; stopped ${done.stopped.join(", ")}` : ""}`;
    },
    channels: () => Object.keys((engine.project.config.channels ?? {}) as Record<string, unknown>),
    notify: async (channel: string, notification: Notification) => {
      const notifier = monitoring.notifier;
      if (!notifier) return { delivered: false, detail: "no channel is running" };
      const delivery = await notifier.send(channel, notification);
      return { delivered: delivery.state === "delivered", detail: delivery.state === "delivered" ? `delivered${delivery.lastStatus ? ` (${delivery.lastStatus})` : ""} after ${delivery.attempts} attempt(s)` : `not delivered: ${delivery.lastError ?? delivery.state}` };
    },
    announce: (title, text, labels) => {
      for (const channel of announceTo) {
        const notice = runbookNotice({ channel, labels, title, text, now: engine.clock.now(), reason: "runbook.automatic", externalURL: `http://${engine.project.config.api.listen}` });
        void monitoring.notifier?.send(channel, notice).catch((error) => engine.logger.warn("runbook announcement failed", { channel, error: String(error) }));
      }
    },
    recovery: async (service, environment) => {
      const evidence: string[] = [];
      let recovered = true;
      const checks = (monitoring.checks?.statuses() ?? []).filter((c) => c.name === healthCheckName(service, environment) || (c.labels.service === service && c.labels.environment === environment));
      if (checks.length === 0) evidence.push(`no check watches ${service} in ${environment}`);
      for (const c of checks) {
        if (c.state !== "up") recovered = false;
        evidence.push(`check ${c.name} is ${c.state}${c.lastResult?.error ? ` (${c.lastResult.error})` : ""}`);
      }
      const slos = (await monitoring.slos?.evaluator.statuses())?.filter((s) => s.service === service && s.environment === environment) ?? [];
      for (const s of slos) {
        for (const rule of s.policy.rules.filter((r) => r.severity === "page")) {
          const burn = s.burnRates.find((b) => b.window === rule.short)?.burnRate ?? null;
          const below = burn === null || burn < Number(rule.factor);
          if (!below) recovered = false;
          evidence.push(`SLO ${s.slo}: burn ${burn ?? "n/a"}× over ${rule.short} ${below ? "below" : "at or above"} the page threshold ${rule.factor}×`);
        }
      }
      return { recovered, evidence };
    },
    openIncident: async (service, environment) => {
      const open = (await monitoring.incidents?.list()) ?? [];
      return open.find((i) => i.services.includes(service) && i.environments.includes(environment))?.id;
    },
    requireIncident: async (id) => {
      const manager = monitoring.incidents;
      if (!manager) throw new EngineError("ENGINE_NOT_RUNNING", "The incidents have not started yet.");
      await manager.get(id);
    },
    attach: async (incidentId, runId, detail, by) => {
      await monitoring.incidents?.link(incidentId, { kind: "runbook-run", ref: runId, detail }, by);
    },
  };
}

/**
 * Starts the runbooks: the runner over the engine's parts (runs an earlier engine left going on
 * are recorded aborted) and the alert feed from this engine's `engine.started` on.
 */
export async function startRunbooks(engine: Engine, monitoring: Monitoring, config: { runbooks: RunbookDefinition[]; metricRules: readonly string[]; announceTo: readonly string[] }): Promise<RunbookParts> {
  const { runbooks, metricRules } = config;
  const onError = (what: string) => (error: unknown) => engine.logger.warn(`runbooks: ${what} failed`, { error: String(error) });
  const conditionRules = runbooks.flatMap((r) => r.steps.flatMap((s) => [s.when?.alert_firing, s.abort_if?.alert_firing])).filter((r): r is string => r !== undefined && r !== "any");
  const actions = actionsOf(engine, monitoring, [...new Set([...knownRules, ...metricRules, ...conditionRules])], config.announceTo);
  const runner = new RunbookRunner({ store: engine.store, clock: engine.clock, runbooks, actions, onError: onError("a run") });
  await runner.recoverInterrupted();
  const feed = alertFeed({ runner, events: engine.store.events, alerts: engine.store.alerts, clock: engine.clock, chain: actions.chain, announce: actions.announce, onError: onError("automatic mitigation") });
  const [started] = await engine.store.events.list({ types: ["engine.started"], limit: 1 });
  feed.start(started ? started.id - 1 : 0);
  return {
    runner,
    stop: async () => {
      await feed.stop();
      await runner.stop();
    },
  };
}
