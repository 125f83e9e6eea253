import { EngineError } from "../../core/index.js";
import { histogramQuantile } from "../../metrics/index.js";
import type { CheckStatus } from "../../monitor/index.js";
import type { LiveRecord } from "../../store/index.js";
import type { Engine } from "../engine.js";
import type { EnvironmentRuntime } from "../environment.js";

/** A service's health in one environment, worst first: what the dashboard colours. */
export type ServiceHealth = "down" | "degraded" | "up" | "idle";

/** One point per step of a service's traffic, oldest first (`null` p95: no requests in the step). */
export interface TrafficSeries {
  /** Start of each step, epoch seconds (uPlot's x axis). */
  t: number[];
  rps: number[];
  errorRate: number[];
  p95: (number | null)[];
}

export interface ServiceOverview {
  name: string;
  health: ServiceHealth;
  /** Why it has that health, in words ("1 of 2 instances unhealthy", "check web-health down"). */
  healthReason: string;
  /** What runs for the service now, e.g. "deploy web". */
  busy: string | null;
  live: { id: string; number: number; state: string; artifactDigest: string; switchedAt: number } | null;
  instances: { healthy: number; total: number };
  checks: { up: number; down: number; pending: number; degraded: number };
  /** The service's traffic (its releases summed) over the last minute. */
  traffic: { rps: number; errorRate: number; p95: number | null };
  series: TrafficSeries;
}

export interface Overview {
  project: string;
  environments: string[];
  environment: string;
  requireApproval: boolean;
  /** Server-side pagination: `services` is page `page` (from 1) of `pages`, `size` a page, `total` matching `search`. */
  page: number;
  pages: number;
  size: number;
  total: number;
  search: string;
  services: ServiceOverview[];
  /** Over every service of the environment and every check of the project, not only the page. */
  totals: {
    services: Record<ServiceHealth, number>;
    checks: { up: number; down: number; pending: number; degraded: number };
    alertsFiring: number;
    incidentsOpen: number;
  };
  generatedAt: number;
}

export interface OverviewQuery {
  environment?: string;
  /** From 1 (default 1); a page past the last answers the last. */
  page?: number;
  /** Services per page, 1 to 200 (default 50). */
  size?: number;
  /** Only services whose name contains this (case-insensitive). */
  search?: string;
  /** How far back the series reach (default 5 minutes, at most the metrics window's 15) and in how many steps (default 20). */
  seriesMs?: number;
  steps?: number;
}

/** A service's health and state per environment, with nothing internal: what `/status` shows. */
export interface PublicStatus {
  project: string;
  environments: { name: string; services: { name: string; health: ServiceHealth }[] }[];
  incidents: { severity: string; state: string; services: string[]; openedAt: number }[];
  generatedAt: number;
}

/** One page of checks, with the counts over all of them. */
export interface CheckPage {
  page: number;
  pages: number;
  size: number;
  /** Checks matching the search and state. */
  total: number;
  /** Over every check of the project: up (degraded counted apart), degraded, down, pending. */
  states: { up: number; down: number; pending: number; degraded: number };
  checks: (Pick<CheckStatus, "name" | "type" | "labels" | "derived" | "intervalMs" | "since" | "consecutiveFailures"> & {
    state: "up" | "down" | "pending" | "degraded";
    last: { ok: boolean; at: number; durationMs: number; failed: readonly string[]; error: string | null } | null;
  })[];
}

export interface CheckPageQuery {
  page?: number;
  /** 1 to 500 (default 100). */
  size?: number;
  /** Only checks whose name or a label value contains this (case-insensitive). */
  search?: string;
  state?: "up" | "down" | "pending" | "degraded";
}

/** The dashboard's aggregated, paginated reads (see ../operations.ts). */
export interface OverviewOperations {
  /** The checks, a page at a time, filtered on the server; the counts over all of them. */
  checkPage(query?: CheckPageQuery): Promise<CheckPage>;
  /** One environment's services with health, live release and traffic series, one page at a time; totals over all of them. */
  overview(query?: OverviewQuery): Promise<Overview>;
  /** The read-only public status (API_NOT_FOUND unless `dashboard.public_status: true`). */
  publicStatus(): Promise<PublicStatus>;
}

const emptyChecks = () => ({ up: 0, down: 0, pending: 0, degraded: 0 });

export function overviewOperations(engine: Engine): OverviewOperations {
  /** Checks by "service\0environment", counted by state; a check without both labels counts for the project only. */
  const checksByService = () => {
    const statuses: CheckStatus[] = engine.monitoring.checks?.statuses() ?? [];
    const totals = emptyChecks();
    const byService = new Map<string, { counts: ReturnType<typeof emptyChecks>; down: string[] }>();
    for (const s of statuses) {
      const state = s.state === "up" && s.degraded ? "degraded" : s.state;
      totals[state]++;
      const { service, environment } = s.labels;
      if (service === undefined) continue;
      for (const key of environment === undefined ? engine.environments.map((e) => `${service}\0${e.name}`) : [`${service}\0${environment}`]) {
        let entry = byService.get(key);
        if (!entry) byService.set(key, (entry = { counts: emptyChecks(), down: [] }));
        entry.counts[state]++;
        if (state === "down") entry.down.push(s.name);
      }
    }
    return { totals, byService };
  };

  /** Every service's live record in the environment, in one read. */
  const liveOf = async (environment: EnvironmentRuntime) => new Map((await engine.store.live.list(environment.name)).map((r) => [r.service, r]));
  const healthOf = (environment: EnvironmentRuntime, service: string, checks: ReturnType<typeof checksByService>["byService"], record: LiveRecord | undefined) => {
    const instances = record ? environment.supervisor.view(record.releaseId) : [];
    const healthy = instances.filter((i) => i.healthy).length;
    const mine = checks.get(`${service}\0${environment.name}`);
    const counts = mine?.counts ?? emptyChecks();
    let health: ServiceHealth = "up";
    let reason = `${healthy} of ${instances.length} instances healthy`;
    if (!record) [health, reason] = ["idle", "no live release"];
    else if (healthy === 0) [health, reason] = ["down", `no healthy instance (${instances.length} running)`];
    else if (counts.down > 0) [health, reason] = ["down", `check ${mine!.down.slice(0, 3).join(", ")} down`];
    else if (healthy < instances.length) [health, reason] = ["degraded", `${instances.length - healthy} of ${instances.length} instances unhealthy`];
    else if (counts.degraded > 0) [health, reason] = ["degraded", `${counts.degraded} check(s) degraded`];
    return { record, health, reason, instances: { healthy, total: instances.length }, checks: counts };
  };

  return {
    async checkPage(query = {}) {
      const statuses = engine.monitoring.checks?.statuses() ?? [];
      const states = emptyChecks();
      const search = (query.search ?? "").trim().toLowerCase();
      const matching: { s: CheckStatus; state: CheckPage["checks"][number]["state"] }[] = [];
      for (const s of statuses) {
        const state = s.state === "up" && s.degraded ? "degraded" : s.state;
        states[state]++;
        if (query.state !== undefined && state !== query.state) continue;
        if (search && !s.name.toLowerCase().includes(search) && !Object.values(s.labels).some((v) => v.toLowerCase().includes(search))) continue;
        matching.push({ s, state });
      }
      const size = Math.min(500, Math.max(1, Math.trunc(query.size ?? 100)));
      const pages = Math.max(1, Math.ceil(matching.length / size));
      const page = Math.min(pages, Math.max(1, Math.trunc(query.page ?? 1)));
      const checks = matching.slice((page - 1) * size, page * size).map(({ s, state }) => {
        const r = s.lastResult;
        return {
          name: s.name,
          type: s.type,
          labels: s.labels,
          derived: s.derived,
          intervalMs: s.intervalMs,
          since: s.since,
          consecutiveFailures: s.consecutiveFailures,
          state,
          last: r ? { ok: r.ok, at: r.startedAt, durationMs: r.durationMs, failed: r.failed, error: r.error ?? null } : null,
        };
      });
      return { page, pages, size, total: matching.length, states, checks };
    },

    async overview(query = {}) {
      const environment = engine.environment(query.environment);
      const size = Math.min(200, Math.max(1, Math.trunc(query.size ?? 50)));
      const search = (query.search ?? "").trim().toLowerCase();
      const names = Object.keys(environment.config.services)
        .filter((n) => !search || n.toLowerCase().includes(search))
        .sort();
      const pages = Math.max(1, Math.ceil(names.length / size));
      const page = Math.min(pages, Math.max(1, Math.trunc(query.page ?? 1)));
      const checks = checksByService();
      const services: Record<ServiceHealth, number> = { down: 0, degraded: 0, up: 0, idle: 0 };
      const shown = new Set(names.slice((page - 1) * size, page * size));
      const rows: ServiceOverview[] = [];
      const now = engine.clock.now();
      const seriesMs = Math.min(15 * 60_000, Math.max(10_000, query.seriesMs ?? 5 * 60_000));
      const steps = Math.min(120, Math.max(2, Math.trunc(query.steps ?? 20)));
      const live = await liveOf(environment);
      for (const name of Object.keys(environment.config.services)) {
        const h = healthOf(environment, name, checks.byService, live.get(name));
        services[h.health]++;
        if (!shown.has(name)) continue;
        const release = h.record ? await engine.store.releases.get(h.record.releaseId) : undefined;
        rows.push({
          name,
          health: h.health,
          healthReason: h.reason,
          busy: environment.deployer.busy(name) ?? null,
          live: release && h.record ? { id: release.id, number: release.number, state: release.state, artifactDigest: release.artifactDigest, switchedAt: h.record.switchedAt } : null,
          instances: h.instances,
          checks: h.checks,
          traffic: trafficOf(engine, name, environment.name, now - 60_000, now),
          series: seriesOf(engine, name, environment.name, now, seriesMs, steps),
        });
      }
      rows.sort((a, b) => a.name.localeCompare(b.name));
      const alertsFiring = (await engine.monitoring.alerts?.list({ limit: 10_000 }))?.length ?? 0;
      const incidentsOpen = (await engine.monitoring.incidents?.list({ limit: 10_000 }))?.length ?? 0;
      return {
        project: engine.project.config.project,
        environments: engine.environments.map((e) => e.name),
        environment: environment.name,
        requireApproval: environment.config.require_approval,
        page,
        pages,
        size,
        total: names.length,
        search,
        services: rows,
        totals: { services, checks: checks.totals, alertsFiring, incidentsOpen },
        generatedAt: now,
      };
    },

    async publicStatus() {
      if (!engine.project.config.dashboard?.public_status) {
        throw new EngineError("API_NOT_FOUND", "No public status page here.", { hint: "Set dashboard.public_status: true in engineroom.yaml to serve /status without login." });
      }
      const checks = checksByService();
      const environments = [];
      for (const environment of engine.environments) {
        const live = await liveOf(environment);
        const services = Object.keys(environment.config.services)
          .sort()
          .map((name) => ({ name, health: healthOf(environment, name, checks.byService, live.get(name)).health }));
        environments.push({ name: environment.name, services });
      }
      const open = (await engine.monitoring.incidents?.list({ limit: 100 })) ?? [];
      return {
        project: engine.project.config.project,
        environments,
        incidents: open.map((i) => ({ severity: i.severity, state: i.state, services: i.services, openedAt: i.openedAt })),
        generatedAt: engine.clock.now(),
      };
    },
  };
}

function trafficOf(engine: Engine, service: string, environment: string, fromMs: number, toMs: number): ServiceOverview["traffic"] {
  const s = engine.monitoring.traffic.summary(service, environment, fromMs, toMs);
  return { rps: s.requests / Math.max(1, (toMs - fromMs) / 1000), errorRate: s.requests === 0 ? 0 : s.errors / s.requests, p95: histogramQuantile(s.latency, 0.95) };
}

function seriesOf(engine: Engine, service: string, environment: string, now: number, spanMs: number, steps: number): TrafficSeries {
  const stepMs = Math.ceil(spanMs / steps / 1000) * 1000;
  const end = Math.floor(now / 1000) * 1000;
  const series: TrafficSeries = { t: [], rps: [], errorRate: [], p95: [] };
  for (let from = end - steps * stepMs; from < end; from += stepMs) {
    const point = trafficOf(engine, service, environment, from, from + stepMs);
    series.t.push(from / 1000);
    series.rps.push(Math.round(point.rps * 100) / 100);
    series.errorRate.push(Math.round(point.errorRate * 10_000) / 10_000);
    series.p95.push(point.p95);
  }
  return series;
}
