import type { ServiceConfig } from "../config/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import type { Release } from "../store/index.js";
import { configOf, type DeployContext } from "./context.js";
import { startAndGate } from "./pipeline.js";
import { progressOf } from "./progress.js";
import { rollbackTarget } from "./release-helpers.js";
import type { RollbackOptions, RollbackResult } from "./types.js";

/**
 * Switches the service back to its previous release: at once if that one is warm, else after
 * starting it and passing health. The release serving again says what it is: a `stable` one stays
 * stable; a `superseded` one is live again and gets a watch window of its own to earn `stable`.
 * Run under the environment's lock by the Deployer.
 */
export async function rollbackService(ctx: DeployContext, serviceName: string, options: RollbackOptions): Promise<RollbackResult> {
  const service = ctx.service(serviceName);
  const started = ctx.o.clock.now();
  const signal = options.signal ?? new AbortController().signal;
  const progress = progressOf(options.onProgress);
  const { store, environment, supervisor } = ctx.o;
  const live = await store.live.get(serviceName, environment);
  const from = live && (await store.releases.get(live.releaseId));
  if (!live || !from) throw new EngineError("ROLLBACK_NO_TARGET", `${serviceName} has no live release to roll back from.`);
  if (options.expectLive && options.expectLive !== from.id) {
    throw new EngineError("ROLLBACK_NO_TARGET", `The release to roll back is no longer live (v${from.number} is).`);
  }
  const to = await rollbackTarget(ctx.o, from, live.previousReleaseId);
  if (!to) throw new EngineError("ROLLBACK_NO_TARGET", `${serviceName} has no earlier release that went live and can be run again.`);
  const warm = supervisor.isWarm(to.id);
  const config = await configOf(ctx.o, to, service);
  progress({ step: "target", releaseId: to.id, message: `rolling back v${from.number} → v${to.number} (${warm ? "warm" : "cold: starting it"})` });
  if (!warm) {
    await ctx.retirer.retiring(to.id); // it may be draining right now: let it stop, then start it afresh
    if (!(await ctx.o.artifacts.has(to.artifactDigest))) {
      throw new EngineError("ROLLBACK_NO_TARGET", `The artifact of v${to.number} (${to.artifactDigest}) is no longer stored.`);
    }
    try {
      await supervisor.stop(to.id, config.release.stop_grace);
      const { gateMs } = await startAndGate(ctx, to, config, signal, { supervise: true });
      progress({ step: "healthy", releaseId: to.id, message: `v${to.number} healthy in ${gateMs}ms` });
    } catch (error) {
      await supervisor.stop(to.id, config.release.stop_grace);
      const failure = toEngineError(error);
      throw new EngineError("ROLLBACK_FAILED", `v${to.number} did not come back: ${failure.message}; v${from.number} keeps serving.`, {
        details: failure.details,
      });
    }
  }
  // Whoever follows the watch hears of its end once the release is recorded as rolled back.
  let recorded!: () => void;
  ctx.watches.cancel(from.id, new Promise<void>((resolve) => (recorded = resolve)));
  try {
    const switchStarted = performance.now();
    const result = await ctx.o.traffic.route(serviceName, to.id, supervisor.upstreams(to.id));
    await store.live.set(serviceName, environment, to.id, null);
    const switchMs = performance.now() - switchStarted;
    const reason = options.reason ?? `rolled back to v${to.number}${options.actor ? ` by ${options.actor}` : ""}`;
    const rolledBack = await ctx.transition(from, "rolled-back", reason, { to: to.id, warm, switchMs, ackMs: result.ackMs, routeVersion: result.version, ...options.evidence });
    progress({ step: "switched", releaseId: to.id, message: `traffic on v${to.number} (switch ${switchMs.toFixed(1)}ms)`, data: { switchMs } });
    const serving = await liveAgain(ctx, to, from, config);
    ctx.track(ctx.retirer.retire(from, service));
    return { from: rolledBack, to: serving, warm, switchMs, ackMs: result.ackMs, totalMs: ctx.o.clock.now() - started };
  } finally {
    recorded();
  }
}

/** A superseded release that serves again is live again and is watched anew; a stable one stays stable. */
async function liveAgain(ctx: DeployContext, to: Release, from: Release, config: ServiceConfig): Promise<Release> {
  if (to.state !== "superseded") return to;
  const live = await ctx.transition(to, "live", `live again: v${from.number} was rolled back`, { rolledBack: from.id });
  const watching = await ctx.transition(live, "watching", `watching for ${config.release.watch}ms again after the rollback of v${from.number}`);
  // v(from) was rolled back and is no target; an earlier stable release still is (the rollback target rules find it).
  ctx.startWatch(watching, config, { windowMs: config.release.watch, switchedAt: ctx.o.clock.now(), previousReleaseId: null });
  return watching;
}
