import { createHash } from "node:crypto";
import { serviceConfigHash, stableStringify, type ServiceConfig } from "../config/index.js";
import type { CurrentState, DesiredState } from "./types.js";

/** Bumped when the canonical form changes, so an old saved plan never matches by accident. */
const canonicalVersion = 1;

/**
 * sha256 over a canonical form of what a plan was made from: the declared config of every service
 * (by its config hash), engineroom.yaml's hashes, and every live release with its recorded-config
 * presence, running instance count and served routes. Key order, route order and the order of
 * environments in `current` do not change it; any change of state does. `apply plan.json` re-plans
 * and refuses the saved plan when this differs.
 *
 * @example
 * const saved = JSON.parse(readFileSync("plan.json", "utf8"));
 * if (saved.hash !== planHash(desired, current)) throw ...; // the state changed since the plan
 */
export function planHash(desired: DesiredState, current: CurrentState): string {
  return hashWith(desired, current, (_environment, _service, config) => serviceConfigHash(config));
}

/**
 * planHash with the declared configs' hashes supplied, so that plan() hashes each config once.
 * @internal
 */
export function hashWith(desired: DesiredState, current: CurrentState, configHash: (environment: string, service: string, config: ServiceConfig) => string): string {
  const canonical = {
    v: canonicalVersion,
    desired: {
      // The chain's order matters (it decides what is promoted from where), so it stays a list.
      environments: desired.environments.map((environment) => ({
        name: environment.name,
        services: Object.fromEntries(Object.entries(environment.services).map(([name, config]) => [name, configHash(environment.name, name, config)])),
      })),
      fileHash: desired.fileHash ?? null,
    },
    current: {
      environments: Object.fromEntries(
        Object.entries(current.environments).map(([name, environment]) => [
          name,
          Object.fromEntries(
            Object.entries(environment.services).map(([service, state]) => [
              service,
              {
                live: { id: state.live.id, number: state.live.number, artifactDigest: state.live.artifactDigest, configHash: state.live.configHash, state: state.live.state },
                // The snapshot is content-addressed by live.configHash: whether it exists is all that can change.
                recorded: state.config !== undefined,
                running: state.runningInstances,
                routes: state.routes.map((route) => `${route.host} ${route.path}`).sort(),
              },
            ]),
          ),
        ]),
      ),
      appliedFileHash: current.appliedFileHash ?? null,
    },
  };
  return "sha256:" + createHash("sha256").update(stableStringify(canonical)).digest("hex");
}
