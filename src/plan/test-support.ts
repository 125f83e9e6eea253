/**
 * Helpers for the plan domain's tests and bench/plan.ts: services with the schema's defaults, and a
 * CurrentState in which everything declared runs exactly as declared.
 */
import { serviceConfigHash, serviceSchema, type ServiceConfig } from "../config/index.js";
import type { ReleaseState } from "../store/index.js";
import type { CurrentService, CurrentState, DesiredState } from "./types.js";

/** A resolved service config: `run` and `artifact` set, every other key from `keys` or the defaults. */
export function service(keys: Record<string, unknown> = {}): ServiceConfig {
  return serviceSchema.parse({ run: "node server.js", artifact: "./app", ...keys });
}

/** A live release of `config`, recorded, with every instance running and every route served. */
export function running(config: ServiceConfig, release: { number?: number; state?: ReleaseState; digest?: string } = {}): CurrentService {
  const number = release.number ?? 1;
  return {
    live: {
      id: `rel_${number}_${serviceConfigHash(config).slice(7, 15)}`,
      number,
      artifactDigest: release.digest ?? `sha256:${"ab".repeat(32)}`,
      configHash: serviceConfigHash(config),
      state: release.state ?? "stable",
    },
    config,
    runningInstances: config.instances,
    routes: config.routes,
  };
}

/** The CurrentState in which every declared service of every environment runs as declared. */
export function matchingState(desired: DesiredState, state: ReleaseState = "stable"): CurrentState {
  return {
    environments: Object.fromEntries(
      desired.environments.map((environment) => [
        environment.name,
        { services: Object.fromEntries(Object.entries(environment.services).map(([name, config]) => [name, running(config, { state })])) },
      ]),
    ),
    ...(desired.fileHash === undefined ? {} : { appliedFileHash: desired.fileHash }),
  };
}
