import { EngineError } from "../core/index.js";
import type { Store } from "../store/index.js";
import type { Deployer, DeployResult, RunOptions } from "./deployer.js";

export interface PromoteOptions extends RunOptions {
  /** The service's first release in the target environment: no rollback target is needed. */
  initial?: boolean;
  /** Ends the source release's watch window now (recorded) so that it is stable and can be promoted. */
  skipWatch?: boolean;
  /** The source environment's deployer, for skipWatch. */
  fromDeployer?: Deployer;
}

/**
 * Promotes the exact artifact that is live and stable in `from` into `to`'s environment. Nothing else
 * can reach a later environment of the chain: a release still watching, rolled back or failed is
 * refused with the reason.
 */
export async function promote(store: Store, service: string, from: string, to: Deployer, options: PromoteOptions = {}): Promise<DeployResult> {
  const live = await store.live.get(service, from);
  const source = live && (await store.releases.get(live.releaseId));
  if (!live || !source) {
    throw new EngineError("PROMOTE_NO_SOURCE", `${service} has no live release in ${from} to promote to ${to.environment}.`);
  }
  let stableSource = source;
  if (source.state === "watching" && options.skipWatch && options.fromDeployer) {
    stableSource = await options.fromDeployer.skipWatch(source.id, options.actor);
  }
  if (stableSource.state !== "stable") {
    throw new EngineError(
      "PROMOTE_NOT_STABLE",
      `${service} v${source.number} in ${from} is ${source.state} (${source.reason}); only a stable release is promoted to ${to.environment}.`,
    );
  }
  const target = await store.live.get(service, to.environment);
  const targetRelease = target && (await store.releases.get(target.releaseId));
  if (targetRelease?.artifactDigest === source.artifactDigest) {
    throw new EngineError("PROMOTE_ALREADY_LIVE", `${source.artifactDigest.slice(0, 19)} is already live in ${to.environment} as v${targetRelease.number}.`);
  }
  return to.deployDigest(service, source.artifactDigest, {
    ...options,
    reason: `promotion of ${from} v${source.number} (${source.artifactDigest.slice(0, 19)})${options.actor ? ` by ${options.actor}` : ""}`,
  });
}
