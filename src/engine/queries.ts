import { EngineError } from "../core/index.js";
import type { InstanceView } from "../deploy/index.js";
import type { TrafficSummary } from "../metrics/index.js";
import type { EngineEvent, Release } from "../store/index.js";
import type { Engine } from "./engine.js";

export interface ServiceStatus {
  name: string;
  routes: string[];
  /** What runs for the service now, e.g. "deploy web". */
  busy: string | null;
  live: (Release & { switchedAt: number }) | null;
  /** The rollback target: the release that was live before, and whether it still runs (warm). */
  previous: (Release & { warm: boolean }) | null;
  instances: InstanceView[];
  /** The live release's traffic over the last minute. */
  traffic: TrafficSummary | null;
}

export interface ProjectStatus {
  project: string;
  environment: string;
  proxy: string;
  store: string;
  services: ServiceStatus[];
  events: EngineEvent[];
}

/** Everything `engineroom status` shows. */
export async function projectStatus(engine: Engine): Promise<ProjectStatus> {
  const { store, environment, supervisor, project } = engine;
  const services: ServiceStatus[] = [];
  for (const [name, service] of Object.entries(project.config.services)) {
    const record = await store.live.get(name, environment);
    const live = record ? await store.releases.get(record.releaseId) : undefined;
    const previous = record?.previousReleaseId ? await store.releases.get(record.previousReleaseId) : undefined;
    const releaseIds = supervisor.releaseIds();
    const mine = new Set((await store.releases.list({ service: name, environment, limit: 50 })).map((r) => r.id));
    const now = engine.clock.now();
    services.push({
      name,
      routes: service.routes.map((r) => `${r.host}${r.path}`),
      busy: engine.deployer.busy(name) ?? null,
      live: live && record ? { ...live, switchedAt: record.switchedAt } : null,
      previous: previous ? { ...previous, warm: supervisor.isWarm(previous.id) } : null,
      instances: releaseIds.filter((id) => mine.has(id)).flatMap((id) => supervisor.view(id)),
      traffic: live ? engine.metrics.summary(live.id, now - 60_000, now) : null,
    });
  }
  return {
    project: project.config.project,
    environment,
    proxy: engine.proxyAddress,
    store: store.kind,
    services,
    events: await store.events.list({ limit: 10 }),
  };
}

/** The service's releases, newest first. */
export async function serviceReleases(engine: Engine, service: string, limit = 20): Promise<Release[]> {
  requireService(engine, service);
  return engine.store.releases.list({ service, environment: engine.environment, limit });
}

export interface InstanceLogs {
  instanceId: string;
  releaseId: string;
  lines: string[];
}

/** The last lines each running instance of the service printed. */
export async function serviceLogs(engine: Engine, service: string, lines = 100): Promise<InstanceLogs[]> {
  requireService(engine, service);
  const instances = engine.runtime.list().filter((i) => i.service === service);
  return Promise.all(
    instances.map(async (i) => ({ instanceId: i.id, releaseId: i.releaseId, lines: await engine.runtime.logs(i.id, { lines }) })),
  );
}

export function requireService(engine: Engine, service: string): void {
  if (!engine.project.config.services[service]) {
    throw new EngineError(
      "SERVICE_UNKNOWN",
      `No service named "${service}" in this project (declared: ${Object.keys(engine.project.config.services).join(", ")}).`,
    );
  }
}
