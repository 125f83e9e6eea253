import { serviceConfigHash, type ServiceConfig } from "../config/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import type { InstanceInfo } from "../runtime/index.js";
import type { Release } from "../store/index.js";
import type { ArtifactCommit } from "./commit.js";
import type { DeployContext } from "./context.js";
import { healthGate, smokeGate } from "./gate.js";
import type { AdoptResult } from "./instances.js";
import { cancelled, progressOf } from "./progress.js";
import { instanceEnv } from "./release-helpers.js";
import { canTransition } from "./state.js";
import type { DeployResult, Progress, RunOptions } from "./types.js";

export interface StartOptions {
  /** Instances an earlier engine left running for this release: adopted where they pass health, the rest started afresh. */
  adopted?: InstanceInfo[];
  /** Supervise the group once it passed the gate (restarts and live health); a deploy waits for its switch. */
  supervise: boolean;
  /** Told once the fresh instances are spawned, before the gate. */
  onStarted?: (instances: InstanceInfo[]) => void;
}

/**
 * The one path every release's instances come up by — a deploy, a cold rollback, a recovery:
 * start the instances (or adopt the ones an earlier engine left, starting only what is missing or
 * failing), hold them to the health gate, and supervise them. Throws what the gate throws; the
 * caller stops the release.
 */
export async function startAndGate(ctx: DeployContext, release: Release, config: ServiceConfig, signal: AbortSignal, options: StartOptions): Promise<AdoptResult & { gateMs: number }> {
  const { supervisor, artifacts } = ctx.o;
  // A release this machine never had (a cold rollback on a standby) is fetched from the shared artifact store first.
  const cwd = artifacts.local ? await artifacts.local(release.artifactDigest) : artifacts.path(release.artifactDigest);
  const env = await instanceEnv(ctx.o, release, config);
  const result: AdoptResult = options.adopted
    ? await supervisor.adopt(release, config, cwd, env, options.adopted)
    : { kept: [], started: await supervisor.start(release, config, cwd, env), stopped: [] };
  options.onStarted?.(result.started);
  // Adopted instances passed their probe just now: only the fresh ones wait for the threshold of passes.
  const gate = await healthGate(release.id, config, ctx.o, signal, options.adopted ? result.started.map((i) => i.id) : undefined);
  if (options.supervise) supervisor.supervise(release.id);
  return { ...result, gateMs: gate.ms };
}

/** The artifact goes through the whole pipeline: release, instances, health gate, smoke tests, switch (or a wait for approval). */
export async function runPipeline(ctx: DeployContext, serviceName: string, service: ServiceConfig, digest: string, reason: string, options: RunOptions & { commit?: ArtifactCommit }): Promise<DeployResult> {
  const started = ctx.o.clock.now();
  const signal = options.signal ?? new AbortController().signal;
  const progress = progressOf(options.onProgress);
  const { store, environment } = ctx.o;
  await ctx.approvals.drop(serviceName, "a newer release of the service was started");
  const configHash = serviceConfigHash(service);
  await ctx.o.configs.save(configHash, service);
  // An artifact uploaded from CI carries its provenance into every release of it (a promotion too),
  // and its commit time is where lead time for changes starts.
  const provenance = (await store.artifacts.get(digest))?.provenance;
  const commit = options.commit ?? (provenance && provenance.commitTime !== null ? { sha: provenance.commit, time: provenance.commitTime } : undefined);
  const release = await store.releases.create({ service: serviceName, environment, artifactDigest: digest, configHash, reason, ...(commit && { commit }), ...(provenance && { provenance }) });
  progress({ step: "release", releaseId: release.id, message: `release v${release.number} of ${digest.slice(0, 19)} in ${environment}` });
  try {
    const current = await bringUp(ctx, release, service, signal, progress);
    if (signal.aborted) throw cancelled(signal);
    if (ctx.o.requireApproval) {
      await ctx.approvals.wait(current, service);
      progress({ step: "approval", releaseId: release.id, message: `v${release.number} is verified and waits for approval: engineroom approve ${release.id}` });
      return { release: current, previousReleaseId: null, switchMs: 0, ackMs: 0, totalMs: ctx.o.clock.now() - started, awaitingApproval: true };
    }
    // From here on the deploy finishes even if the caller goes away: the switch is atomic.
    const switched = await switchTo(ctx, current, service, progress);
    return { ...switched, totalMs: ctx.o.clock.now() - started };
  } catch (error) {
    const failure = signal.aborted && !(error instanceof EngineError) ? cancelled(signal) : toEngineError(error);
    await failRelease(ctx, release.id, service, failure);
    progress({ step: "failed", releaseId: release.id, message: failure.message });
    throw failure;
  }
}

/** Stops a release that never got traffic and marks it failed with the reason. */
export async function failRelease(ctx: DeployContext, releaseId: string, service: ServiceConfig, failure: EngineError): Promise<void> {
  await ctx.o.supervisor.stop(releaseId, service.release.stop_grace);
  const latest = await ctx.o.store.releases.get(releaseId);
  if (latest && canTransition(latest.state, "failed")) {
    await ctx.transition(latest, "failed", `${failure.code}: ${failure.message}`, { error: failure.toJSON() });
  }
}

async function bringUp(ctx: DeployContext, release: Release, service: ServiceConfig, signal: AbortSignal, progress: (p: Progress) => void): Promise<Release> {
  let current = await ctx.transition(release, "starting", `starting ${service.instances} instance(s)`);
  const onStarted = (instances: InstanceInfo[]) =>
    progress({
      step: "starting",
      releaseId: release.id,
      message: `started ${instances.map((i) => `${i.id} on :${i.port}`).join(", ")}`,
      data: { instances: instances.map((i) => ({ id: i.id, port: i.port, pid: i.pid })) },
    });
  const { gateMs } = await startAndGate(ctx, current, service, signal, { supervise: false, onStarted });
  current = await ctx.transition(current, "healthy", `all ${service.instances} instance(s) passed GET ${service.health.path} ${service.health.healthy_threshold}× in ${gateMs}ms`);
  progress({ step: "healthy", releaseId: release.id, message: current.reason });
  await smokeGate(release.id, service, ctx.o, signal);
  current = await ctx.transition(current, "verified", service.smoke.length ? `${service.smoke.length} smoke test(s) passed on every instance` : "no smoke tests declared");
  progress({ step: "verified", releaseId: release.id, message: current.reason });
  return current;
}

/**
 * The switch: the service's routes go to the release (with the warm previous release as the
 * proxy's fallback through the watch window), the release goes live and is watched; a release that
 * was still watching is superseded, and the one before it, no longer anyone's rollback target, retires.
 */
export async function switchTo(ctx: DeployContext, release: Release, service: ServiceConfig, progress: (p: Progress) => void): Promise<Omit<DeployResult, "totalMs">> {
  const { store, environment, supervisor, traffic } = ctx.o;
  supervisor.supervise(release.id);
  const before = await store.live.get(release.service, environment);
  const fallback = before && supervisor.has(before.releaseId) ? supervisor.upstreams(before.releaseId) : [];
  const switchStarted = performance.now();
  const result = await traffic.route(release.service, release.id, supervisor.upstreams(release.id), fallback.length ? { fallback, fallbackReleaseId: before!.releaseId } : undefined);
  await store.live.set(release.service, environment, release.id, before?.releaseId ?? null);
  const switchMs = performance.now() - switchStarted;
  const leftOut = result.hostsLeftOut ?? [];
  const without = leftOut.length > 0 ? `; without host${leftOut.length > 1 ? "s" : ""} ${leftOut.map((h) => h.host).join(", ")} (min_hosts)` : "";
  let current = await ctx.transition(release, "live", `switched in ${switchMs.toFixed(1)}ms (route table v${result.version})${without}`, {
    previousReleaseId: before?.releaseId ?? null,
    switchMs,
    ackMs: result.ackMs,
    ...(leftOut.length > 0 ? { hostsLeftOut: leftOut } : {}),
  });
  if (leftOut.length > 0) {
    await store.events.append({
      type: "deploy.partial",
      service: release.service,
      environment,
      releaseId: release.id,
      message: `v${release.number} went live without host${leftOut.length > 1 ? "s" : ""} ${leftOut.map((h) => `${h.host} (${h.reason})`).join(", ")}: they get no traffic for it`,
      data: { hostsLeftOut: leftOut },
    });
  }
  progress({ step: "live", releaseId: release.id, message: `live: traffic switched in ${switchMs.toFixed(1)}ms`, data: { switchMs } });
  current = await ctx.transition(current, "watching", `watching for ${service.release.watch}ms; the previous release stays warm`);
  if (before) {
    const previous = await store.releases.get(before.releaseId);
    if (previous?.state === "watching") {
      ctx.watches.cancel(previous.id);
      await ctx.transition(previous, "superseded", `replaced by v${release.number} before its watch window ended`);
    }
    // The release before the previous one is no longer anyone's rollback target: drain and stop it.
    const older = before.previousReleaseId && (await store.releases.get(before.previousReleaseId));
    if (older && supervisor.has(older.id)) ctx.track(ctx.retirer.retire(older, service));
  }
  ctx.startWatch(current, service, { windowMs: service.release.watch, switchedAt: ctx.o.clock.now(), previousReleaseId: before?.releaseId ?? null });
  return { release: current, previousReleaseId: before?.releaseId ?? null, switchMs, ackMs: result.ackMs, ...(leftOut.length > 0 ? { hostsLeftOut: leftOut } : {}) };
}
