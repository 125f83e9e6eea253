import type { ServiceConfig } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { Release } from "../store/index.js";
import { configOf } from "./context.js";
import type { DeployerOptions } from "./types.js";

/** The event that marks a verified release as waiting for `approve()`; the store keeps it across engine restarts. */
export const awaitingApprovalEvent = "release.awaiting-approval";

/**
 * Releases that wait for approval (the environment has require_approval): verified, with their
 * instances running, and an `release.awaiting-approval` event in the store — so that a wait
 * survives an engine restart (the recovery adopts the release's instances and it goes on waiting).
 */
export class Approvals {
  #o: DeployerOptions;
  /** What failing a release that is no longer approved takes (the pipeline's, given by the deployer). */
  #fail: (release: Release, service: ServiceConfig, failure: EngineError) => Promise<void>;

  constructor(o: DeployerOptions, fail: (release: Release, service: ServiceConfig, failure: EngineError) => Promise<void>) {
    this.#o = o;
    this.#fail = fail;
  }

  /** Records that the verified release waits for approval. */
  async wait(release: Release, service: ServiceConfig): Promise<void> {
    await this.#o.store.events.append({
      type: awaitingApprovalEvent,
      service: release.service,
      environment: release.environment,
      releaseId: release.id,
      message: `v${release.number} is verified and waits for approval: engineroom approve ${release.id}`,
      data: { instances: service.instances },
    });
  }

  /** True when the release waits for approval according to the store (whether or not its instances run). */
  async isWaiting(release: Release): Promise<boolean> {
    if (release.state !== "verified" || release.environment !== this.#o.environment) return false;
    const marks = await this.#o.store.events.list({ releaseId: release.id, types: [awaitingApprovalEvent], limit: 1 });
    return marks.length > 0;
  }

  /** The release that waits for approval, with the config it runs with; APPROVAL_NOT_PENDING otherwise. */
  async pending(releaseId: string): Promise<{ release: Release; service: ServiceConfig }> {
    const release = await this.#o.store.releases.get(releaseId);
    const declared = release && this.#o.services()[release.service];
    if (!release || !declared || !(await this.isWaiting(release)) || !this.#o.supervisor.has(release.id)) {
      throw new EngineError("APPROVAL_NOT_PENDING", `Release ${releaseId} does not wait for approval${release ? ` (it is ${release.state})` : ""}.`);
    }
    return { release, service: await configOf(this.#o, release, declared) };
  }

  /** A release of the service that waited for approval when a newer one starts never gets traffic: it fails and stops. */
  async drop(serviceName: string, why: string): Promise<void> {
    for (const release of await this.#o.store.releases.listInStates(["verified"])) {
      if (release.service !== serviceName || !(await this.isWaiting(release))) continue;
      const declared = this.#o.services()[serviceName];
      if (!declared) continue;
      await this.#fail(release, await configOf(this.#o, release, declared), new EngineError("DEPLOY_CANCELLED", `v${release.number} was never approved: ${why}`));
    }
  }
}
