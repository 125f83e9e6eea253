import type { ServiceConfig } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { Release, ReleaseState } from "../store/index.js";
import type { Approvals } from "./approvals.js";
import type { WriterLock } from "./locks.js";
import type { Retirer } from "./retire.js";
import { canTransition } from "./state.js";
import type { DeployerOptions, RollbackOptions, RollbackResult } from "./types.js";
import type { Watches } from "./watch.js";

/** How a watch window starts: a fresh one at a switch, or what is left of one after a restart. */
export interface WatchStart {
  /** How long the window still runs from now. */
  windowMs: number;
  switchedAt: number;
  previousReleaseId: string | null;
  /** The watch goes on after an engine restart (the message at its end says so). */
  resumed?: boolean;
}

/**
 * What the parts of a deployer share (pipeline, rollback, recovery, approvals, watch lifecycle):
 * its options, its lock, and the few operations one part calls on another. The Deployer builds it.
 */
export interface DeployContext {
  readonly o: DeployerOptions;
  readonly lock: WriterLock;
  readonly retirer: Retirer;
  readonly watches: Watches;
  readonly approvals: Approvals;
  /** The service as the project declares it now; SERVICE_UNKNOWN otherwise. */
  service(name: string): ServiceConfig;
  /** Moves a release along the state machine (an event with the reason); INTERNAL if the machine forbids it. */
  transition(release: Release, to: ReleaseState, reason: string, data?: Record<string, unknown>): Promise<Release>;
  /** Runs work in the background, logged if it fails; `close()` waits for it. */
  track(work: Promise<unknown>): void;
  rollback(serviceName: string, options: RollbackOptions): Promise<RollbackResult>;
  startWatch(release: Release, service: ServiceConfig, start: WatchStart): void;
}

export function transitionOf(o: Pick<DeployerOptions, "store">) {
  return async (release: Release, to: ReleaseState, reason: string, data?: Record<string, unknown>): Promise<Release> => {
    if (!canTransition(release.state, to)) {
      throw new EngineError("INTERNAL", `release ${release.id} cannot go from ${release.state} to ${to}`);
    }
    return o.store.releases.transition(release.id, to, reason, data);
  };
}

/** The config a release runs with: the snapshot kept at its deploy, else the service as declared now. */
export async function configOf(o: Pick<DeployerOptions, "configs">, release: Release, declared: ServiceConfig): Promise<ServiceConfig> {
  return (await o.configs.load(release.configHash)) ?? declared;
}
