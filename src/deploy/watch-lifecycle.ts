import type { ServiceConfig } from "../config/index.js";
import type { Release } from "../store/index.js";
import type { DeployContext, WatchStart } from "./context.js";
import { canTransition } from "./state.js";
import { downVerdict, type WatchOutcome } from "./watch.js";

/**
 * Starts (or, after an engine restart, resumes) the watch window of a live release. When it ends
 * with a failing verdict (or an inconclusive one the policy rolls back on) the release is rolled
 * back; otherwise it becomes stable, its route drops the fallback, and the previous release drains.
 */
export function startWatch(ctx: DeployContext, release: Release, service: ServiceConfig, start: WatchStart): void {
  const { supervisor, clock } = ctx.o;
  const input = {
    release,
    service,
    windowMs: start.windowMs,
    switchedAt: start.switchedAt,
    previousReleaseId: start.previousReleaseId,
    source: ctx.o.metricSource(service),
    clock,
    health: () => supervisor.health(release.id),
  };
  ctx.track(ctx.watches.start(input, (result) => endWatch(ctx, release, service, start, result)));
}

async function endWatch(ctx: DeployContext, release: Release, service: ServiceConfig, start: WatchStart, result: WatchOutcome): Promise<void> {
  const { verdict } = result;
  if (result.outcome === "fail" || (result.outcome === "inconclusive" && result.policy.whenInconclusive === "rollback")) {
    await ctx
      .rollback(release.service, {
        actor: "analysis",
        internal: true,
        expectLive: release.id,
        reason: `analysis ${result.outcome === "fail" ? "failed" : "stayed inconclusive"}: ${verdict?.reason ?? "no verdict"}`,
        evidence: verdict ? { verdict } : undefined,
      })
      .catch((error) => ctx.o.logger.error("automatic rollback failed", { release: release.id, error: String(error) }));
    return;
  }
  const why = verdict ? `watch window passed, analysis ${verdict.outcome}: ${verdict.reason}` : passedWithoutVerdict(service, start);
  const { store, environment, supervisor, traffic } = ctx.o;
  // An internal task: if a deploy or rollback of the service runs as the window ends, it waits for
  // that to finish rather than being refused (which left the release watching for good).
  const previous = await ctx.lock
    .run(
      `finish watch of ${release.service}`,
      async () => {
        const latest = await store.releases.get(release.id);
        if (!latest || !canTransition(latest.state, "stable")) return undefined;
        await ctx.transition(latest, "stable", why, verdict ? { verdict } : undefined);
        await ctx.retirer.prune(release.service, service.release.keep);
        const live = await store.live.get(release.service, environment);
        if (live?.releaseId !== release.id) return undefined;
        // The watch is over: the previous release is about to drain, so the proxy no longer falls back to it.
        if (start.previousReleaseId) await traffic.route(release.service, release.id, supervisor.upstreams(release.id));
        return live.previousReleaseId ? store.releases.get(live.previousReleaseId) : undefined;
      },
      { internal: true },
    )
    .catch((error) => void ctx.o.logger.warn("watch could not finish", { release: release.id, error: String(error) }));
  // Draining may take up to drain_timeout: not under the lock, so that a rollback need not wait for it.
  if (previous) await ctx.retirer.retire(previous, service);
}

/** Why a watch that ended with no verdict passed: analysis is off, or the window ran out while the engine was away. */
function passedWithoutVerdict(service: ServiceConfig, start: WatchStart): string {
  if (!service.analysis.enabled) return `watch window of ${service.release.watch}ms passed without rollback (analysis disabled)`;
  if (start.resumed) {
    return `watch window of ${service.release.watch}ms passed without rollback; the engine restarted with ${Math.round(start.windowMs)}ms of it left, too little for another analysis look`;
  }
  return `watch window of ${service.release.watch}ms passed without rollback (no analysis look fell within it)`;
}

/** Rolls back a watched, live release on the engine's own word (`actor: engine`), if it still is both. */
async function rollbackWatched(ctx: DeployContext, releaseId: string, reason: (release: Release) => string, evidence?: (release: Release, service: ServiceConfig) => Record<string, unknown>): Promise<void> {
  const release = await ctx.o.store.releases.get(releaseId);
  const live = release && (await ctx.o.store.live.get(release.service, release.environment));
  if (!release || release.state !== "watching" || live?.releaseId !== release.id) return;
  const service = ctx.o.services()[release.service];
  await ctx.rollback(release.service, {
    actor: "engine",
    internal: true,
    expectLive: release.id,
    reason: reason(release),
    evidence: service && evidence ? evidence(release, service) : undefined,
  });
}

/**
 * An instance of the release kept crashing past its restart budget. While the release is still
 * being watched, and its predecessor can take the traffic back, that is a failed release: roll back.
 */
export function handleGaveUp(ctx: DeployContext, releaseId: string, instanceId: string): void {
  ctx.track(rollbackWatched(ctx, releaseId, (release) => `instance ${instanceId} of v${release.number} kept crashing during the watch window`));
}

/**
 * A watched release lost all its instances (`release.down`): rolled back at once, not at the next
 * analysis look, with the health of its instances as the verdict's evidence.
 */
export function handleDown(ctx: DeployContext, releaseId: string): void {
  const reason = (release: Release) => `release.down: v${release.number} has no healthy instance left during its watch window`;
  ctx.track(
    rollbackWatched(ctx, releaseId, reason, (release, service) => {
      const live = ctx.o.supervisor.health(release.id);
      const verdict = downVerdict(ctx.watches.analysis.last(release.id), live, service, ctx.o.clock.now() - release.updatedAt, reason(release));
      ctx.watches.analysis.verdict(release.id, verdict);
      return { verdict };
    }),
  );
}
