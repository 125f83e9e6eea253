import { serviceConfigHash, type ProjectConfig, type RouteConfig, type ServiceConfig } from "../config/index.js";
import { diffServiceConfigs } from "./diff.js";
import { hashWith } from "./hash.js";
import type { Change, CurrentService, CurrentState, DesiredEnvironment, DesiredState, DriftNote, Plan, PlanOptions, PlanSummary } from "./types.js";

/**
 * The desired state of a project: each environment of its chain with its resolved services.
 *
 * @example
 * const loaded = loadProject("engineroom.yaml");
 * const desired = desiredState(loaded.config, loaded.fileHash);
 */
export function desiredState(project: ProjectConfig, fileHash?: string): DesiredState {
  return {
    environments: project.environments.map((environment) => ({ name: environment.name, services: environment.services })),
    ...(fileHash === undefined ? {} : { fileHash }),
  };
}

/**
 * Compares what is declared with what runs and was recorded, per environment × service:
 * - `create`: declared, nothing live. The first environment deploys the declared `artifact`; a later
 *   one promotes what is stable in the environment before, and is `blockedBy` a reason when nothing is;
 * - `update`: the declared config differs from the live release's recorded one (with attribute
 *   diffs), or reality drifted from it (instances running, routes served);
 * - `delete`: something is live that is no longer declared (a service, or a whole environment);
 * - `no-op`: nothing to do.
 *
 * Linear in the number of services: each declared config is hashed once, and attributes are walked
 * only for services whose hash differs from the live release's.
 *
 * @example
 * const p = plan(desiredState(config, fileHash), current);
 * console.log(renderPlan(p, { color: process.stdout.isTTY }));
 */
export function plan(desired: DesiredState, current: CurrentState, options: PlanOptions = {}): Plan {
  const only = options.environments ? new Set(options.environments) : undefined;
  const hashes = new Map<string, string>();
  const hashOf = (environment: string, service: string, config: ServiceConfig): string => {
    const key = `${environment}\0${service}`;
    let hash = hashes.get(key);
    if (hash === undefined) hashes.set(key, (hash = serviceConfigHash(config)));
    return hash;
  };

  const changes: Change[] = [];
  desired.environments.forEach((environment, index) => {
    if (only && !only.has(environment.name)) return;
    const live = current.environments[environment.name]?.services ?? {};
    const previous = index > 0 ? desired.environments[index - 1] : undefined;
    for (const service of Object.keys(environment.services).sort()) {
      const config = environment.services[service]!;
      const hash = hashOf(environment.name, service, config);
      const state = live[service];
      changes.push(state ? compare(environment.name, service, config, hash, state) : create(environment.name, service, config, hash, previous, current));
    }
    for (const service of Object.keys(live).sort()) {
      if (!(service in environment.services)) changes.push(remove(environment.name, service, live[service]!, `${service} is no longer declared`));
    }
  });
  const declared = new Set(desired.environments.map((environment) => environment.name));
  for (const name of Object.keys(current.environments).sort()) {
    if (declared.has(name) || (only && !only.has(name))) continue;
    const live = current.environments[name]!.services;
    for (const service of Object.keys(live).sort()) changes.push(remove(name, service, live[service]!, `environment ${name} is no longer declared`));
  }

  const applied = current.appliedFileHash;
  return {
    version: 1,
    hash: hashWith(desired, current, hashOf),
    summary: summarize(changes),
    changes,
    configFile: {
      ...(desired.fileHash === undefined ? {} : { current: desired.fileHash }),
      ...(applied === undefined ? {} : { applied }),
      changed: desired.fileHash !== undefined && applied !== undefined && desired.fileHash !== applied,
    },
  };
}

/** Counts by action; the numbers of Terraform's "Plan: 1 to create, 2 to change, 0 to destroy.". */
export function summarize(changes: readonly Change[]): PlanSummary {
  const summary = { create: 0, update: 0, delete: 0, noOp: 0, blocked: 0 };
  for (const change of changes) {
    if (change.action === "no-op") summary.noOp++;
    else summary[change.action]++;
    if (change.blockedBy !== undefined) summary.blocked++;
  }
  return summary;
}

function create(environment: string, service: string, config: ServiceConfig, configHash: string, previous: DesiredEnvironment | undefined, current: CurrentState): Change {
  const base = { environment, service, action: "create" as const, reason: "not live yet", configHash, diffs: [], drift: [] };
  if (!previous) {
    if (config.artifact === undefined) {
      return { ...base, blockedBy: `no artifact is declared for ${service}; set services.${service}.artifact, or deploy one with \`engineroom deploy ${service} <artifact>\`` };
    }
    return { ...base, step: { kind: "deploy", artifact: config.artifact } };
  }
  // Nothing reaches a later environment but what is stable in the one before it.
  const source = current.environments[previous.name]?.services[service];
  if (!source) {
    const why = service in previous.services ? `${service} is not live in ${previous.name} yet` : `${service} is not declared in ${previous.name}`;
    return { ...base, blockedBy: `${why}; ${environment} gets only a release that is stable in ${previous.name}` };
  }
  if (source.live.state !== "stable") {
    return { ...base, blockedBy: `${service} v${source.live.number} in ${previous.name} is ${source.live.state}, not stable; ${environment} gets only a stable release` };
  }
  const { id, number, artifactDigest } = source.live;
  return { ...base, step: { kind: "promote", from: previous.name, releaseId: id, number, artifactDigest, initial: true } };
}

function compare(environment: string, service: string, config: ServiceConfig, configHash: string, state: CurrentService): Change {
  const live = liveOf(state);
  const changed = configHash !== state.live.configHash;
  const recorded = state.config;
  const diffs = changed && recorded ? diffServiceConfigs(recorded, config) : [];
  // Drift is measured against what was applied (the recorded config), which is what should be running.
  const drift = driftOf(recorded ?? config, state);
  const base = { environment, service, live, configHash, diffs, drift };
  if (!changed && drift.length === 0) return { ...base, action: "no-op", reason: "up to date" };
  return {
    ...base,
    action: "update",
    reason: changed ? "config changed" : "drift",
    ...(changed && !recorded ? { recordedConfigMissing: true as const } : {}),
    step: { kind: "redeploy", artifactDigest: state.live.artifactDigest },
  };
}

function remove(environment: string, service: string, state: CurrentService, reason: string): Change {
  return { environment, service, action: "delete", reason, live: liveOf(state), diffs: [], drift: [], step: { kind: "stop", releaseId: state.live.id } };
}

function liveOf(state: CurrentService): NonNullable<Change["live"]> {
  const { id, number, artifactDigest, configHash } = state.live;
  return { id, number, artifactDigest, configHash };
}

function driftOf(expected: ServiceConfig, state: CurrentService): DriftNote[] {
  const notes: DriftNote[] = [];
  const running = state.runningInstances;
  if (running < expected.instances) notes.push({ kind: "instances", message: `${running} of ${expected.instances} instances running` });
  else if (running > expected.instances) notes.push({ kind: "instances", message: `${running} instances running where ${expected.instances} ${expected.instances === 1 ? "is" : "are"} declared` });
  const want = routeKeys(expected.routes);
  const served = routeKeys(state.routes);
  if (want.join("\n") !== served.join("\n")) {
    notes.push({ kind: "routes", message: `routes served: ${served.join(", ") || "none"}; expected: ${want.join(", ")}` });
  }
  return notes;
}

/** Routes as `host/path` strings, sorted: the proxy routes by host and longest prefix, so order does not matter. */
function routeKeys(routes: readonly RouteConfig[]): string[] {
  return routes.map((route) => `${route.host}${route.path}`).sort();
}
