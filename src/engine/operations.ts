import type { Verdict } from "../analysis/index.js";
import { EngineError } from "../core/index.js";
import { writerLockKey, type DeployResult, type Progress, type ProgressListener, type RollbackResult } from "../deploy/index.js";
import type { Plan } from "../plan/index.js";
import type { EngineEvent, EventQuery, Lock, Release, Store } from "../store/index.js";
import { applyPlan, planProject, type AppliedRevision } from "./apply.js";
import type { Drift } from "./drift.js";
import type { Engine } from "./engine.js";
import { projectStatus, requireService, serviceLogs, serviceReleases, type InstanceLogs, type ProjectStatus, type ReleaseWithProvenance } from "./queries.js";
import { alertOperations, type AlertOperations } from "./ops/alerts.js";
import { checkOperations, type CheckOperations } from "./ops/checks.js";
import { sloOperations, type SloOperations } from "./ops/slo.js";
import { metricsOperations, type MetricsOperations } from "./ops/metrics.js";
import { channelOperations, type ChannelOperations } from "./ops/channels.js";
import { reportOperations, type ReportOperations } from "./ops/report.js";
import { incidentOperations, type IncidentOperations } from "./ops/incidents.js";
import { runbookOperations, type RunbookOperations } from "./ops/runbooks.js";
import { postmortemOperations, type PostmortemOperations } from "./ops/postmortems.js";
import { drillOperations, type DrillOperations } from "./ops/drills.js";
import { artifactOperations, type ArtifactOperations } from "./ops/artifacts.js";
import { approvalGates, type ApprovalOperations } from "./ops/approvals.js";
import type { Caller } from "./access.js";
import { overviewOperations, type OverviewOperations } from "./ops/overview.js";
import { historyOperations, type HistoryOperations } from "./ops/history.js";
import { hostOperations, type HostOperations } from "./ops/hosts.js";

/** What every long operation takes: cancellation, a progress listener, and who asked (for the event log). */
export interface Call {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Who asked, e.g. "api", "cli", "mcp". */
  actor?: string;
  /** The token that asked: a change to production by one without admin passes the approval gate (plan → approval → apply). */
  caller?: Caller;
}

/** A release followed through its watch window: how it ended and its last verdict. */
export interface Followed {
  release: Release;
  verdict: Verdict | undefined;
}

/** Whom an environment's writer lock was taken from (null: it was free). */
export interface Unlocked {
  environment: string;
  from: Omit<Lock, "token" | "key"> | null;
}

/**
 * The engine's operations, as every interface (CLI over the API, the API, the MCP server) calls
 * them. None of them reaches into the engine's parts. Names, services and environments are checked
 * first, so that a bad request fails before any progress is reported.
 */
export interface Operations extends CheckOperations, SloOperations, AlertOperations, MetricsOperations, ChannelOperations, ReportOperations, IncidentOperations, RunbookOperations, PostmortemOperations, DrillOperations, ApprovalOperations, OverviewOperations, HistoryOperations, ArtifactOperations, HostOperations {
  /** The project's name and its promotion chain, first to last. */
  project(): { name: string; environments: string[] };
  /** Deploys into the first environment (naming another one is DEPLOY_WRONG_ENVIRONMENT); with `watch`, resolves when the watch window ends. */
  deploy(service: string, options?: Call & { artifact?: string; environment?: string; watch?: boolean }): Promise<DeployResult | (DeployResult & Followed)>;
  /**
   * Promotes the stable release of the environment before `to` (default: the second) into `to`.
   * Refused with SLO_BUDGET_EXHAUSTED while the service's error budget there is spent, unless
   * `overrideBudget` gives a reason (recorded as a `slo.budget-overridden` event).
   */
  promote(service: string, options?: Call & { to?: string; initial?: boolean; skipWatch?: boolean; overrideBudget?: string }): Promise<DeployResult>;
  /** Switches back to the previous release; `environment` is required when the chain has more than one. */
  rollback(service: string, options?: Call & { environment?: string }): Promise<RollbackResult>;
  /** Rolls back the release in its watch window now. */
  abort(service: string, options?: Call & { environment?: string }): Promise<RollbackResult>;
  /** Approves a verified release that waits for approval, and switches to it. */
  approve(releaseId: string, options?: Call): Promise<DeployResult>;
  /** Follows the analysis of the live (or the given) release until its watch ends; RELEASE_ROLLED_BACK if it was rolled back. */
  follow(service: string, options?: Call & { environment?: string; releaseId?: string }): Promise<Followed>;
  /** What apply would change; with `refreshOnly`, drift is scanned afresh. */
  plan(options?: { refreshOnly?: boolean }): Promise<{ plan: Plan; drift: readonly Drift[] }>;
  /**
   * Applies `saved` (refused when stale) or a fresh plan. A promotion it makes is refused with
   * SLO_BUDGET_EXHAUSTED, before anything changes, while the budget there is spent, unless
   * `overrideBudget` gives a reason (recorded as a `slo.budget-overridden` event). A plan that raises
   * the monthly cost over `cost.budget.max_monthly_increase` is refused with COST_BUDGET_EXCEEDED, before
   * anything changes, unless `approveCost` (recorded as a `cost.budget-approved` event).
   */
  apply(saved: Plan | undefined, options?: Call & { overrideBudget?: string; approveCost?: boolean }): Promise<{ plan: Plan; done: string[]; revision: AppliedRevision }>;
  status(environment?: string): Promise<ProjectStatus>;
  events(query?: EventQuery): Promise<EngineEvent[]>;
  /** Newest first, each with its artifact's provenance when the artifact was uploaded from CI. */
  releases(service: string, options?: { environment?: string; limit?: number }): Promise<ReleaseWithProvenance[]>;
  logs(service: string, options?: { environment?: string; lines?: number }): Promise<InstanceLogs[]>;
  /** Takes the environment's (default: the first) writer lock from its holder, recorded as `lock.forced`. */
  unlock(environment?: string, options?: { actor?: string }): Promise<Unlocked>;
}

/** The operations of a running engine. */
export function createOperations(engine: Engine): Operations {
  const environmentName = (name?: string) => engine.environment(name).name;
  const followed = async (service: string, environment: string, releaseId: string | undefined, call: Call): Promise<Followed> => {
    const { release, verdict } = await engine.follow(service, {
      environment,
      releaseId,
      signal: call.signal,
      onVerdict: (v) => call.onProgress?.({ step: "analysis", releaseId, message: `${v.outcome}: ${v.reason}`, data: { verdict: v } }),
    });
    if (release.state === "rolled-back") {
      throw new EngineError("RELEASE_ROLLED_BACK", `${service} v${release.number} was rolled back: ${release.reason}`, { details: { release, verdict } });
    }
    return { release, verdict };
  };

  const gates = approvalGates(engine, (releaseId, call) => operations.approve(releaseId, call));
  const operations: Operations = {
    ...checkOperations(engine),
    ...sloOperations(engine),
    ...alertOperations(engine),
    ...metricsOperations(engine),
    ...channelOperations(engine),
    ...reportOperations(engine),
    ...incidentOperations(engine),
    ...runbookOperations(engine),
    ...postmortemOperations(engine),
    ...drillOperations(engine),
    ...artifactOperations(engine),
    ...gates.operations,
    ...overviewOperations(engine),
    ...historyOperations(engine),
    ...hostOperations(engine),
    project: () => ({ name: engine.project.config.project, environments: engine.environments.map((e) => e.name) }),

    async deploy(service, options = {}) {
      requireService(engine, service);
      const environment = environmentName(options.environment);
      const passed = await gates.beforeRelease("deploy", options.caller, service, environment, options.artifact);
      const onProgress = await withLiveRelease(engine.store, service, environment, options.onProgress);
      const result = await engine.deploy(service, options.artifact, { signal: options.signal, onProgress, actor: options.actor, environment });
      await passed();
      await gates.afterRelease("deploy", options.caller, result);
      if (!options.watch || result.awaitingApproval) return result;
      // Attached through the watch window: the answer is the release as its watch ended.
      return { ...result, ...(await followed(service, environment, result.release.id, options)) };
    },

    async promote(service, options = {}) {
      requireService(engine, service);
      if (options.to !== undefined) engine.environment(options.to);
      const to = options.to ?? engine.environments[1]?.name;
      // The error-budget guardrail first: a refusal changes nothing.
      if (to !== undefined) await engine.monitoring.guardPromotion(service, to, options.overrideBudget, options.actor);
      const onProgress = to === undefined ? options.onProgress : await withLiveRelease(engine.store, service, to, options.onProgress);
      const passed = to === undefined ? undefined : await gates.beforeRelease("promote", options.caller, service, to);
      const result = await engine.promote(service, { ...options, onProgress });
      await passed?.();
      await gates.afterRelease("promote", options.caller, result);
      return result;
    },

    async rollback(service, options = {}) {
      requireService(engine, service);
      if (options.environment === undefined && engine.environments.length > 1) {
        const names = engine.environments.map((e) => e.name).join(", ");
        throw new EngineError("API_BAD_REQUEST", `Name the environment to roll back (${names}).`, { hint: `Pass --env (one of ${names}).` });
      }
      return engine.environment(options.environment).deployer.rollback(service, { signal: options.signal, onProgress: options.onProgress, actor: options.actor });
    },

    async abort(service, options = {}) {
      requireService(engine, service);
      return engine.abort(service, { ...options, environment: environmentName(options.environment) });
    },

    async approve(releaseId, options = {}) {
      await gates.beforeApprove(options.caller, releaseId);
      return engine.approve(releaseId, options);
    },

    async follow(service, options = {}) {
      requireService(engine, service);
      return followed(service, environmentName(options.environment), options.releaseId, options);
    },

    async plan(options = {}) {
      const drift = options.refreshOnly ? await engine.drift.scan() : engine.drift.findings;
      const { plan } = await planProject(engine);
      return { plan, drift };
    },

    async apply(saved, options = {}) {
      if (!options.caller) return applyPlan(engine, saved, options);
      // What is gated is what would be applied now: the fresh plan, applied as a saved one so that a change in between is PLAN_STALE.
      const { plan } = await planProject(engine);
      const passed = await gates.beforeApply(options.caller, plan);
      const applied = await applyPlan(engine, saved ?? plan, options);
      await passed();
      return applied;
    },

    status: (environment) => projectStatus(engine, environment),

    async events(query = {}) {
      if (query.service !== undefined) requireService(engine, query.service);
      if (query.environment !== undefined) engine.environment(query.environment);
      return engine.store.events.list(query);
    },

    releases: (service, options = {}) => serviceReleases(engine, service, options.environment, options.limit),

    logs: (service, options = {}) => serviceLogs(engine, service, options.environment, options.lines),

    async unlock(environment, options = {}) {
      return forceUnlock(engine.store, environmentName(environment), options.actor);
    },
  };
  return operations;
}

/**
 * Takes an environment's writer lock from whoever holds it, straight in the store, and records it.
 * The one implementation of unlock: the engine's, and the CLI's when no engine runs (the holder may
 * be a dead process on another host).
 */
export async function forceUnlock(store: Store, environment: string, actor?: string): Promise<Unlocked> {
  const from = await store.locks.forceRelease(writerLockKey(environment));
  const holder = from && { command: from.command, pid: from.pid, host: from.host, acquiredAt: from.acquiredAt };
  const by = actor ? ` by ${actor}` : "";
  await store.events.append({
    type: "lock.forced",
    environment,
    message: from ? `writer lock of ${environment} taken from "${from.command}" (pid ${from.pid} on ${from.host})${by}` : `writer lock of ${environment} forced while free${by}`,
    data: holder ?? {},
  });
  return { environment, from: from && holder ? { ...holder, expiresAt: from.expiresAt } : null };
}

/**
 * Adds what serves now (`data.live`: the release number and id, or null) to the `release` progress
 * line of a new release, so that a client that loses the engine mid-way can say what still serves.
 */
async function withLiveRelease(store: Store, service: string, environment: string, listener: ProgressListener | undefined): Promise<ProgressListener | undefined> {
  if (!listener) return undefined;
  const record = await store.live.get(service, environment);
  const release = record && (await store.releases.get(record.releaseId));
  const live = release ? { number: release.number, id: release.id } : null;
  return (progress: Progress) => listener(progress.step === "release" ? { ...progress, data: { ...progress.data, live } } : progress);
}
