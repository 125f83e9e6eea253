import type { ServiceConfig } from "../config/index.js";
import type { Release } from "../store/index.js";
import { rollbackTargetStates } from "./state.js";
import type { DeployerOptions } from "./types.js";

/**
 * The release a rollback goes to: the one that was live before (`previousReleaseId`) if it can run
 * again, else the newest earlier release that went live, was not rolled back, and is warm or still
 * has its artifact.
 */
export async function rollbackTarget(
  o: Pick<DeployerOptions, "store" | "artifacts" | "supervisor">,
  from: Release,
  previousReleaseId: string | null,
): Promise<Release | undefined> {
  const usable = async (r: Release | undefined) =>
    !!r && r.id !== from.id && rollbackTargetStates.includes(r.state) && (o.supervisor.isWarm(r.id) || (await o.artifacts.has(r.artifactDigest)));
  const previous = previousReleaseId ? await o.store.releases.get(previousReleaseId) : undefined;
  if (await usable(previous)) return previous;
  for (const r of await o.store.releases.list({ service: from.service, environment: from.environment, limit: 1000 })) {
    if (r.number < from.number && (await usable(r))) return r;
  }
  return undefined;
}

/** An instance's environment: the service's `env` with secret references resolved, and the release's identity. */
export async function instanceEnv(o: Pick<DeployerOptions, "resolveEnv">, release: Release, service: ServiceConfig): Promise<Record<string, string>> {
  return {
    ...(await o.resolveEnv(service.env)),
    ENGINEROOM_SERVICE: release.service,
    ENGINEROOM_ENVIRONMENT: release.environment,
    ENGINEROOM_RELEASE: `v${release.number}`,
    ENGINEROOM_RELEASE_ID: release.id,
    ENGINEROOM_ARTIFACT: release.artifactDigest,
  };
}
