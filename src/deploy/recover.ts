import type { ServiceConfig } from "../config/index.js";
import { toEngineError } from "../core/index.js";
import type { InstanceInfo } from "../runtime/index.js";
import type { LiveRecord, Release } from "../store/index.js";
import { configOf, type DeployContext } from "./context.js";
import { failRelease, startAndGate } from "./pipeline.js";
import { progressOf } from "./progress.js";
import { beforeSwitchStates } from "./state.js";
import type { Progress, RunOptions } from "./types.js";

export interface RecoverOptions extends RunOptions {
  /** Instances of this environment that an earlier engine started and that still run (`Runtime.adopt()`). */
  adopted?: InstanceInfo[];
}

/**
 * Restores an environment after an engine start, around the data plane that kept serving:
 * - a deploy cut off before its switch is failed and its instances stopped — unless it was verified
 *   and waiting for approval: its instances are adopted and it goes on waiting;
 * - each live release adopts its instances (healthy ones are kept, failing or missing ones replaced
 *   through the health gate), is supervised, and gets its route once the group is ready (until then
 *   the proxy's table still points at what serves);
 * - a live release cut off in its watch window goes on being watched for the rest of it, with its
 *   warm previous release adopted too as the rollback target;
 * - every other adopted instance is stopped.
 * What cannot be restored is stopped and said as `release.down`.
 */
export async function recover(ctx: DeployContext, options: RecoverOptions): Promise<void> {
  const { store, environment } = ctx.o;
  const progress = progressOf(options.onProgress);
  const signal = options.signal ?? new AbortController().signal;
  const byRelease = new Map<string, InstanceInfo[]>();
  for (const instance of options.adopted ?? []) {
    if ((instance.labels.environment ?? environment) !== environment) continue;
    byRelease.set(instance.releaseId, [...(byRelease.get(instance.releaseId) ?? []), instance]);
  }
  /** Takes the adopted instances of a release out of the pool (what is left over is stopped). */
  const claim = (releaseId: string) => {
    const instances = byRelease.get(releaseId) ?? [];
    byRelease.delete(releaseId);
    return instances;
  };

  for (const release of await store.releases.listInStates(beforeSwitchStates)) {
    if (release.environment !== environment) continue;
    const declared = ctx.o.services()[release.service];
    if (declared && (await ctx.approvals.isWaiting(release))) {
      await keepWaiting(ctx, release, await configOf(ctx.o, release, declared), claim(release.id), signal, progress);
      continue;
    }
    const stopped = await stopInstances(ctx, claim(release.id), declared?.release.stop_grace ?? 10_000);
    await ctx.transition(release, "failed", `the engine stopped during this deploy; the switch never happened${stopped ? ` (${stopped} instance(s) it had started were stopped)` : ""}`);
  }

  for (const live of await store.live.list(environment)) {
    const release = await store.releases.get(live.releaseId);
    const declared = ctx.o.services()[live.service];
    if (!release || !declared) continue;
    const watched = release.state === "watching" || release.state === "live";
    const previous = watched && live.previousReleaseId ? await store.releases.get(live.previousReleaseId) : undefined;
    await restoreLive(ctx, live, release, await configOf(ctx.o, release, declared), claim(release.id), previous, previous ? claim(previous.id) : [], signal, progress);
  }

  const leftovers = [...byRelease.values()].flat();
  const stopped = await stopInstances(ctx, leftovers, 10_000);
  if (stopped) {
    await store.events.append({
      type: "instance.stopped",
      environment,
      message: `${stopped} instance(s) left by the earlier engine belong to no live release, rollback target or pending approval: stopped`,
      data: { instances: leftovers.map((i) => ({ id: i.id, releaseId: i.releaseId, pid: i.pid })) },
    });
  }
}

async function restoreLive(
  ctx: DeployContext,
  live: LiveRecord,
  release: Release,
  config: ServiceConfig,
  instances: InstanceInfo[],
  previous: Release | undefined,
  previousInstances: InstanceInfo[],
  signal: AbortSignal,
  progress: (p: Progress) => void,
): Promise<void> {
  const { supervisor, store, environment, traffic, clock } = ctx.o;
  const watched = release.state === "watching" || release.state === "live";
  try {
    await ctx.lock.run(
      `restore ${live.service}`,
      async () => {
        const adopted = await startAndGate(ctx, release, config, signal, { adopted: instances, supervise: true });
        const warmPrevious = previous && (await adoptPrevious(ctx, previous, config, previousInstances, signal));
        const fallback = warmPrevious ? supervisor.upstreams(previous.id) : [];
        await traffic.route(live.service, release.id, supervisor.upstreams(release.id), fallback.length ? { fallback, fallbackReleaseId: previous!.id } : undefined);
        await store.events.append({
          type: "release.restored",
          service: live.service,
          environment,
          releaseId: release.id,
          message: `v${release.number} serving again after an engine start: ${adopted.kept.length} instance(s) adopted, ${adopted.started.length} started${adopted.stopped.length ? `, ${adopted.stopped.length} stopped` : ""}`,
          data: { kept: adopted.kept.map((i) => i.id), started: adopted.started.map((i) => i.id), stopped: adopted.stopped, previousWarm: !!warmPrevious },
        });
        progress({ step: "restored", releaseId: release.id, message: `${live.service}: v${release.number} serving again (${adopted.kept.length} adopted, ${adopted.started.length} started)` });
      },
      { restore: {} },
    );
  } catch (error) {
    await supervisor.stop(release.id, config.release.stop_grace);
    if (previous) await supervisor.stop(previous.id, config.release.stop_grace);
    const failure = toEngineError(error);
    ctx.o.logger.error(`could not restore ${live.service} v${release.number}`, { error: failure.message });
    await store.events.append({
      type: "release.down",
      service: live.service,
      environment,
      releaseId: release.id,
      message: `v${release.number} could not be started again after an engine restart: ${failure.message}`,
    });
    return;
  }
  if (watched) {
    const watching = release.state === "live" ? await ctx.transition(release, "watching", `watching again after an engine restart`) : release;
    const remaining = Math.max(0, config.release.watch - (clock.now() - live.switchedAt));
    ctx.startWatch(watching, config, { windowMs: remaining, switchedAt: live.switchedAt, previousReleaseId: live.previousReleaseId, resumed: true });
  }
}

/** The warm previous release of a watched one: its adopted instances kept, its group made whole. Undefined (and stopped) if it cannot be. */
async function adoptPrevious(ctx: DeployContext, previous: Release, declared: ServiceConfig, instances: InstanceInfo[], signal: AbortSignal): Promise<boolean> {
  // A rollback target that no longer ran when the engine stopped stays cold: a rollback starts it.
  if (instances.length === 0 || !(await ctx.o.artifacts.has(previous.artifactDigest))) return false;
  const config = await configOf(ctx.o, previous, declared);
  try {
    await startAndGate(ctx, previous, config, signal, { adopted: instances, supervise: true });
    return true;
  } catch (error) {
    await ctx.o.supervisor.stop(previous.id, config.release.stop_grace);
    ctx.o.logger.warn(`the previous release v${previous.number} could not be kept warm`, { error: toEngineError(error).message });
    return false;
  }
}

/** A verified release waiting for approval at the restart: adopted, and it goes on waiting; failed if it cannot be. */
async function keepWaiting(ctx: DeployContext, release: Release, config: ServiceConfig, instances: InstanceInfo[], signal: AbortSignal, progress: (p: Progress) => void): Promise<void> {
  try {
    await ctx.lock.run(`restore ${release.service} v${release.number} (awaiting approval)`, () => startAndGate(ctx, release, config, signal, { adopted: instances, supervise: false }), { restore: {} });
    progress({ step: "approval", releaseId: release.id, message: `v${release.number} still waits for approval: engineroom approve ${release.id}` });
  } catch (error) {
    const failure = toEngineError(error);
    await failRelease(ctx, release.id, config, failure);
  }
}

async function stopInstances(ctx: DeployContext, instances: InstanceInfo[], graceMs: number): Promise<number> {
  await Promise.all(
    instances.map(async (instance) => {
      await ctx.o.runtime.stop(instance.id, { graceMs });
      ctx.o.runtime.forget(instance.id);
    }),
  );
  return instances.length;
}
