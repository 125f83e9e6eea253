import type { LeadershipStatus } from "./leadership.js";
import type { Verdict } from "../analysis/index.js";
import { EngineError } from "../core/index.js";
import type { InstanceView } from "../deploy/index.js";
import type { TrafficSummary } from "../metrics/index.js";
import type { ArtifactProvenance, EngineEvent, Release } from "../store/index.js";
import type { Engine } from "./engine.js";
import type { Drift } from "./drift.js";
import { hostsStatus, type HostStatus } from "./fleet-wiring.js";
import type { EnvironmentRuntime } from "./environment.js";

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
  /** The latest analysis verdict of the live release (while it is watched, and after). */
  analysis: Verdict | null;
  /** What its running instances (warm ones included) cost a month at the current rate, from the price sheet; null without one. */
  cost: { monthly: string; text: string } | null;
}

export interface EnvironmentStatus {
  name: string;
  proxy: string;
  requireApproval: boolean;
  /** The writer lease, when something holds the environment. */
  lock: { command: string; pid: number; host: string; acquiredAt: number; expiresAt: number } | null;
  services: ServiceStatus[];
}

export interface ProjectStatus {
  project: string;
  store: string;
  /** The data-plane process that serves the proxies; it outlives the engine. */
  dataPlane: { pid: number; version: string; startedAt: string };
  /** The promotion chain, first to last. */
  environments: EnvironmentStatus[];
  /** Changes made outside the engine, from the last drift scan. */
  drift: readonly Drift[];
  events: EngineEvent[];
  /** With `runtime: ssh`: each host, whether its daemon answers, its load and free disk. */
  hosts?: HostStatus[];
  /** Leader or standby (PostgreSQL), or the single engine (SQLite); its term and the leader's address. */
  leadership: LeadershipStatus;
}

/** Everything `engineroom status` shows, for every environment or only `only`. */
export async function projectStatus(engine: Engine, only?: string): Promise<ProjectStatus> {
  const environments = only === undefined ? engine.environments : [engine.environment(only)];
  return {
    project: engine.project.config.project,
    store: engine.store.kind,
    dataPlane: { pid: engine.dataPlane.info.pid, version: engine.dataPlane.info.version, startedAt: engine.dataPlane.info.startedAt },
    environments: await Promise.all(environments.map((e) => environmentStatus(engine, e))),
    drift: engine.drift.findings,
    events: await engine.store.events.list({ limit: 10, environment: only }),
    hosts: await hostsStatus(engine.runtime),
    leadership: engine.leadership.status(),
  };
}

async function environmentStatus(engine: Engine, environment: EnvironmentRuntime): Promise<EnvironmentStatus> {
  const { store } = engine;
  const { supervisor, name: envName } = environment;
  const services: ServiceStatus[] = [];
  const measured = engine.cost.sheet ? await engine.cost.measured() : undefined;
  for (const [name, service] of Object.entries(environment.config.services)) {
    const record = await store.live.get(name, envName);
    const live = record ? await store.releases.get(record.releaseId) : undefined;
    const previous = record?.previousReleaseId ? await store.releases.get(record.previousReleaseId) : undefined;
    const mine = new Set((await store.releases.list({ service: name, environment: envName, limit: 50 })).map((r) => r.id));
    const now = engine.clock.now();
    const instances = supervisor.releaseIds().filter((id) => mine.has(id)).flatMap((id) => supervisor.view(id));
    const running = instances.filter((i) => i.status === "running").length;
    services.push({
      name,
      routes: service.routes.map((r) => `${r.host}${r.path}`),
      busy: environment.deployer.busy(name) ?? null,
      live: live && record ? { ...live, switchedAt: record.switchedAt } : null,
      previous: previous ? { ...previous, warm: supervisor.isWarm(previous.id) } : null,
      instances,
      traffic: live ? environment.metrics.summary(live.id, now - 60_000, now) : null,
      analysis: (live && environment.deployer.analysis.last(live.id)) || null,
      cost: measured ? ((await engine.cost.monthlyRate(envName, name, running, measured)) ?? null) : null,
    });
  }
  const lease = await environment.lock.lease();
  const lock = lease ? { command: lease.command, pid: lease.pid, host: lease.host, acquiredAt: lease.acquiredAt, expiresAt: lease.expiresAt } : null;
  return { name: envName, proxy: environment.proxyAddress, requireApproval: environment.config.require_approval, lock, services };
}

/** A release with where its artifact came from: the signed provenance of a CI upload, else null. */
export type ReleaseWithProvenance = Release & { provenance: ArtifactProvenance | null };

/** The service's releases in an environment (default: the first), newest first, each with its artifact's provenance. */
export async function serviceReleases(engine: Engine, service: string, environment?: string, limit = 20): Promise<ReleaseWithProvenance[]> {
  requireService(engine, service);
  const releases = await engine.store.releases.list({ service, environment: engine.environment(environment).name, limit });
  const byDigest = new Map<string, Promise<ArtifactProvenance | null>>();
  const provenanceOf = (digest: string) => {
    if (!byDigest.has(digest)) byDigest.set(digest, engine.store.artifacts.get(digest).then((record) => record?.provenance ?? null));
    return byDigest.get(digest)!;
  };
  return Promise.all(releases.map(async (release) => ({ ...release, provenance: await provenanceOf(release.artifactDigest) })));
}

export interface InstanceLogs {
  instanceId: string;
  releaseId: string;
  lines: string[];
}

/** The last lines each running instance of the service printed, in one environment or all. */
export async function serviceLogs(engine: Engine, service: string, environment?: string, lines = 100): Promise<InstanceLogs[]> {
  requireService(engine, service);
  const releaseIds = new Set((environment === undefined ? engine.environments : [engine.environment(environment)]).flatMap((e) => e.supervisor.releaseIds()));
  const instances = engine.runtime.list().filter((i) => i.service === service && releaseIds.has(i.releaseId));
  return Promise.all(
    instances.map(async (i) => ({ instanceId: i.id, releaseId: i.releaseId, lines: await engine.runtime.logs(i.id, { lines }) })),
  );
}

export function requireService(engine: Engine, service: string): void {
  if (!Object.hasOwn(engine.project.config.services, service)) {
    throw new EngineError(
      "SERVICE_UNKNOWN",
      `No service named "${service}" in this project (declared: ${Object.keys(engine.project.config.services).join(", ")}).`,
    );
  }
}
