import { resolve } from "node:path";
import type { ServiceConfig } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { Release } from "../store/index.js";
import { Approvals } from "./approvals.js";
import { artifactCommit } from "./commit.js";
import { transitionOf, type DeployContext } from "./context.js";
import { WriterLock } from "./locks.js";
import { failRelease, runPipeline, switchTo } from "./pipeline.js";
import { progressOf } from "./progress.js";
import { recover, type RecoverOptions } from "./recover.js";
import { Retirer } from "./retire.js";
import { rollbackService } from "./rollback.js";
import { handleDown, handleGaveUp, startWatch } from "./watch-lifecycle.js";
import { Watches } from "./watch.js";
import type { DeployerOptions, DeployResult, RollbackOptions, RollbackResult, RunOptions } from "./types.js";

export type { ConfigSnapshots, DeployerOptions, DeployResult, RollbackOptions, RollbackResult, RunOptions } from "./types.js";
export type { RecoverOptions } from "./recover.js";

/** An artifact named by its digest rather than a path: `deploy web sha256:…`. */
const artifactDigest = /^sha256:[0-9a-f]{64}$/;

/**
 * Runs deploys and rollbacks of one environment: artifact → release → instances → health gate →
 * smoke tests → atomic switch → watch window → stable, keeping the previous release warm through
 * the watch so a rollback is a switch and nothing more.
 *
 * A façade: it takes the environment's lock and hands the work to its parts — pipeline.ts (the
 * shared start → gate → supervise path, the switch), rollback.ts, recover.ts (adoption after an
 * engine start), approvals.ts, watch-lifecycle.ts.
 */
export class Deployer {
  #o: DeployerOptions;
  #lock: WriterLock;
  #ctx: DeployContext;
  readonly #watches = new Watches();
  /** Verdicts of the releases being watched, for `engineroom watch` and status. */
  readonly analysis = this.#watches.analysis;
  #background = new Set<Promise<unknown>>();
  #unsubscribe: () => void;

  /** The environment this deployer releases into. */
  get environment(): string {
    return this.#o.environment;
  }

  constructor(options: DeployerOptions) {
    this.#o = options;
    // Lock events (a dead holder's lease released, a restore waiting) go to the store's event log.
    this.#lock = options.lock ?? new WriterLock(options.store.locks, options.environment, { events: options.store.events, clock: options.clock });
    const transition = transitionOf(options);
    const ctx: DeployContext = {
      o: options,
      lock: this.#lock,
      retirer: new Retirer(options),
      watches: this.#watches,
      approvals: new Approvals(options, (release, service, failure) => failRelease(ctx, release.id, service, failure)),
      service: (name) => this.#service(name),
      transition,
      track: (work) => this.#track(work),
      rollback: (service, o) => this.rollback(service, o),
      startWatch: (release, service, start) => startWatch(ctx, release, service, start),
    };
    this.#ctx = ctx;
    this.#unsubscribe = options.supervisor.onReleaseDown((releaseId) => handleDown(ctx, releaseId));
  }

  /** Deploys `source` (a folder or .tgz, or the `sha256:…` digest of a stored artifact; default: the service's declared artifact) and returns once the release is live. */
  async deploy(serviceName: string, source: string | undefined, options: RunOptions = {}): Promise<DeployResult> {
    const service = this.#service(serviceName);
    const artifactSource = source ?? service.artifact;
    if (!artifactSource) {
      throw new EngineError("ARTIFACT_NOT_FOUND", `No artifact given for ${serviceName}, and the service declares none.`, {
        hint: `Pass one: engineroom deploy ${serviceName} <folder-or-tgz>, or set services.${serviceName}.artifact.`,
      });
    }
    if (artifactDigest.test(artifactSource)) return this.#deployStored(serviceName, service, artifactSource, options);
    return this.#lock.run(`deploy ${serviceName}`, async () => {
      progressOf(options.onProgress)({ step: "artifact", message: `storing artifact ${artifactSource}` });
      const artifact = await this.#o.artifacts.add(resolve(this.#o.projectDir, artifactSource));
      await this.#o.store.artifacts.put({ digest: artifact.digest, source: artifactSource, sizeBytes: artifact.sizeBytes, fileCount: artifact.fileCount });
      // The commit it was built from, for lead time for changes (a promotion reuses the digest: reports look it up by digest).
      const commit = await artifactCommit(resolve(this.#o.projectDir, artifactSource));
      return runPipeline(this.#ctx, serviceName, service, artifact.digest, `deploy of ${artifactSource}${options.actor ? ` by ${options.actor}` : ""}`, { ...options, commit });
    });
  }

  /**
   * Deploys an artifact that is already stored, named by its digest (one uploaded from CI; the
   * pipeline records its provenance with the release). ARTIFACT_NOT_FOUND when it is not stored.
   */
  #deployStored(serviceName: string, service: ServiceConfig, digest: string, options: RunOptions): Promise<DeployResult> {
    return this.#lock.run(`deploy ${serviceName}`, async () => {
      if (!(await this.#o.artifacts.has(digest))) {
        throw new EngineError("ARTIFACT_NOT_FOUND", `No artifact ${digest} is stored.`, { hint: "Upload it first (`engineroom ci upload <dir|tgz> --key <file> …`), or pass a folder or .tgz." });
      }
      const provenance = (await this.#o.store.artifacts.get(digest))?.provenance;
      progressOf(options.onProgress)({ step: "artifact", message: `stored artifact ${digest.slice(0, 19)}${provenance ? ` (commit ${provenance.commit.slice(0, 12)} on ${provenance.branch})` : ""}` });
      return runPipeline(this.#ctx, serviceName, service, digest, `deploy of ${digest.slice(0, 19)}${options.actor ? ` by ${options.actor}` : ""}`, options);
    });
  }

  /**
   * Releases an artifact that is already stored (a promotion) into this environment. Refused without
   * a rollback target — a live release to go back to — unless `initial` says it is the first release.
   */
  async deployDigest(serviceName: string, digest: string, options: RunOptions & { reason: string; initial?: boolean }): Promise<DeployResult> {
    const service = this.#service(serviceName);
    return this.#lock.run(`promote ${serviceName}`, async () => {
      const live = await this.#o.store.live.get(serviceName, this.#o.environment);
      if (!live && !options.initial) {
        throw new EngineError("PROMOTE_NO_ROLLBACK_TARGET", `${serviceName} has no live release in ${this.#o.environment} to roll back to.`);
      }
      if (!(await this.#o.artifacts.has(digest))) throw new EngineError("ARTIFACT_NOT_FOUND", `The artifact ${digest} is no longer stored.`);
      return runPipeline(this.#ctx, serviceName, service, digest, options.reason, options);
    });
  }

  /** Switches a release that waits for approval (the environment has require_approval) and returns once it is live. */
  async approve(releaseId: string, options: RunOptions = {}): Promise<DeployResult> {
    const { release } = await this.#ctx.approvals.pending(releaseId);
    return this.#lock.run(`approve ${release.service} v${release.number}`, async () => {
      const { release: waiting, service } = await this.#ctx.approvals.pending(releaseId); // still waiting, under the lock
      const started = this.#o.clock.now();
      await this.#o.store.events.append({
        type: "release.approved",
        service: waiting.service,
        environment: waiting.environment,
        releaseId,
        message: `v${waiting.number} approved${options.actor ? ` by ${options.actor}` : ""}`,
      });
      const switched = await switchTo(this.#ctx, waiting, service, progressOf(options.onProgress));
      return { ...switched, totalMs: this.#o.clock.now() - started };
    });
  }

  /** Switches the service back to its previous release: at once if that one is warm, else after starting it and passing health. */
  async rollback(serviceName: string, options: RollbackOptions = {}): Promise<RollbackResult> {
    this.#service(serviceName);
    return this.#lock.run(`rollback ${serviceName}`, () => rollbackService(this.#ctx, serviceName, options), { internal: options.internal });
  }

  /**
   * Restores the environment after an engine start (see recover.ts): interrupted deploys fail, live
   * releases adopt the instances in `adopted` (from `Runtime.adopt()`) or start again, watch windows go on.
   */
  recover(options: RecoverOptions = {}): Promise<void> {
    return recover(this.#ctx, options);
  }

  /**
   * An instance of the release kept crashing past its restart budget. While the release is still
   * being watched, and its predecessor can take the traffic back, that is a failed release: roll back.
   */
  handleGaveUp(releaseId: string, instanceId: string): void {
    handleGaveUp(this.#ctx, releaseId, instanceId);
  }

  /** Waits for background work (watch windows are cancelled, drains finish) — for shutdown. */
  async close(): Promise<void> {
    this.#unsubscribe();
    this.#watches.cancelAll();
    await Promise.allSettled([...this.#background]);
  }

  /** What runs for the service now ("deploy web"), if anything. */
  busy(serviceName: string): string | undefined {
    return this.#lock.holder();
  }

  /** Takes a service that is no longer declared out of service: its routes go, its releases are drained and stopped. */
  async remove(serviceName: string, releaseId: string, options: RunOptions = {}): Promise<void> {
    await this.#lock.run(`remove ${serviceName}`, async () => {
      const { store, environment } = this.#o;
      const live = await store.live.get(serviceName, environment);
      if (!live || live.releaseId !== releaseId) return;
      this.#watches.cancel(live.releaseId);
      await this.#o.traffic.unroute(serviceName);
      await store.live.remove(serviceName, environment);
      const config = (await store.releases.get(live.releaseId).then((r) => r && this.#o.configs.load(r.configHash))) ?? undefined;
      for (const id of [live.releaseId, live.previousReleaseId]) {
        const release = id ? await store.releases.get(id) : undefined;
        if (release && config) await this.#ctx.retirer.retire(release, config);
        else if (id) await this.#o.supervisor.stop(id, 10_000);
      }
      await store.events.append({
        type: "service.removed",
        service: serviceName,
        environment,
        releaseId: live.releaseId,
        message: `${serviceName} removed from ${environment}${options.actor ? ` by ${options.actor}` : ""}: no longer declared`,
      });
    });
  }

  /**
   * Ends a release's watch window now and makes it stable, on an operator's word (`promote
   * --skip-watch`): recorded as such, with the last verdict. Throws NOT_WATCHING otherwise.
   */
  async skipWatch(releaseId: string, actor = "an operator"): Promise<Release> {
    const release = await this.#o.store.releases.get(releaseId);
    if (!release || release.state !== "watching" || !this.#watches.has(releaseId)) {
      throw new EngineError("NOT_WATCHING", `Release ${releaseId} is not in its watch window${release ? ` (it is ${release.state})` : ""}.`);
    }
    const service = this.#service(release.service);
    const stable = await this.#lock.run(`skip watch of ${release.service}`, async () => {
      this.#watches.cancel(releaseId);
      const verdict = this.analysis.last(releaseId);
      const made = await this.#ctx.transition(release, "stable", `watch skipped by ${actor}${verdict ? `; last verdict ${verdict.outcome}: ${verdict.reason}` : ""}`, {
        skipped: true,
        ...(verdict ? { verdict } : {}),
      });
      // The previous release drains next: the proxy no longer falls back to it.
      const live = await this.#o.store.live.get(release.service, this.#o.environment);
      if (live?.releaseId === releaseId && live.previousReleaseId) await this.#o.traffic.route(release.service, releaseId, this.#o.supervisor.upstreams(releaseId));
      return made;
    });
    const live = await this.#o.store.live.get(release.service, this.#o.environment);
    const previous = live?.previousReleaseId ? await this.#o.store.releases.get(live.previousReleaseId) : undefined;
    if (previous) this.#track(this.#ctx.retirer.retire(previous, service));
    return stable;
  }

  #service(name: string): ServiceConfig {
    // Own keys only: "__proto__" or "constructor" must not find Object.prototype's members.
    const services = this.#o.services();
    const service = Object.hasOwn(services, name) ? services[name] : undefined;
    if (!service) {
      throw new EngineError("SERVICE_UNKNOWN", `No service named "${name}" in this project (declared: ${Object.keys(services).join(", ") || "none"}).`);
    }
    return service;
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => this.#o.logger.warn("background work failed", { error: String(error) }));
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }
}
