import type { ServiceConfig } from "../config/index.js";
import type { Clock } from "../core/index.js";
import type { Release, Store } from "../store/index.js";
import type { Supervisor } from "./instances.js";
import type { Artifacts, TrafficControl } from "./types.js";

export interface RetirerOptions {
  environment: string;
  store: Store;
  supervisor: Supervisor;
  traffic: TrafficControl;
  artifacts: Artifacts;
  clock: Clock;
}

/** Takes releases out of service: drains and stops the ones that no longer get traffic, and removes old artifacts. */
export class Retirer {
  #o: RetirerOptions;
  #retiring = new Map<string, Promise<void>>(); // releaseId -> its drain and stop

  constructor(options: RetirerOptions) {
    this.#o = options;
  }

  /** The drain and stop of the release, if one runs now. */
  retiring(releaseId: string): Promise<void> | undefined {
    return this.#retiring.get(releaseId);
  }

  /** Drains a release that no longer gets traffic (waits for its in-flight requests, up to drain_timeout), then stops it. */
  retire(release: Release, service: ServiceConfig): Promise<void> {
    let retiring = this.#retiring.get(release.id);
    if (!retiring) {
      retiring = this.#drainAndStop(release, service).finally(() => this.#retiring.delete(release.id));
      this.#retiring.set(release.id, retiring);
    }
    return retiring;
  }

  async #drainAndStop(release: Release, service: ServiceConfig): Promise<void> {
    const { supervisor, traffic, clock, store, environment } = this.#o;
    if (!supervisor.has(release.id)) return;
    const live = await store.live.get(release.service, environment);
    if (live?.releaseId === release.id) return;
    const started = clock.now();
    let inFlight = await traffic.inFlight(release.id);
    while (inFlight > 0 && clock.now() - started < service.release.drain_timeout) {
      await clock.sleep(50);
      inFlight = await traffic.inFlight(release.id);
    }
    const drainedMs = clock.now() - started;
    await supervisor.stop(release.id, service.release.stop_grace);
    await store.events.append({
      type: "release.stopped",
      service: release.service,
      environment,
      releaseId: release.id,
      message: inFlight > 0 ? `v${release.number} stopped with ${inFlight} request(s) still in flight after ${drainedMs}ms` : `v${release.number} drained in ${drainedMs}ms and stopped`,
      data: { drainedMs, inFlightLeft: inFlight },
    });
  }

  /** Removes the artifacts of releases beyond the newest `keep` that are neither live nor the rollback target. */
  async prune(serviceName: string, keep: number): Promise<void> {
    const { store, environment, artifacts } = this.#o;
    const releases = await store.releases.list({ service: serviceName, environment, limit: 1000 });
    const live = await store.live.get(serviceName, environment);
    const keepDigests = new Set(releases.slice(0, keep).map((r) => r.artifactDigest));
    for (const id of [live?.releaseId, live?.previousReleaseId]) {
      const release = releases.find((r) => r.id === id);
      if (release) keepDigests.add(release.artifactDigest);
    }
    for (const release of releases.slice(keep)) {
      if (!keepDigests.has(release.artifactDigest) && (await artifacts.has(release.artifactDigest))) {
        await artifacts.remove(release.artifactDigest);
        keepDigests.add(release.artifactDigest);
      }
    }
  }

}
