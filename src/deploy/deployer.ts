import { resolve } from "node:path";
import { serviceConfigHash, type ServiceConfig } from "../config/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import type { Release, ReleaseState } from "../store/index.js";
import { healthGate, smokeGate } from "./gate.js";
import { describeProbe, probePassed } from "./health.js";
import { probe } from "./probe.js";
import { WriterLock } from "./locks.js";
import { cancelled, progressOf } from "./progress.js";
import { Retirer } from "./retire.js";
import { Watches } from "./watch.js";
import { instanceEnv, rollbackTarget } from "./release-helpers.js";
import { canTransition } from "./state.js";
import type { DeployerOptions, DeployResult, Progress, RollbackOptions, RollbackResult, RunOptions } from "./types.js";

export type { ConfigSnapshots, DeployerOptions, DeployResult, RollbackOptions, RollbackResult, RunOptions } from "./types.js";

/**
 * Runs deploys and rollbacks of one environment: artifact → release → instances → health gate →
 * smoke tests → atomic switch → watch window → stable, keeping the previous release warm through
 * the watch so a rollback is a switch and nothing more.
 */
export class Deployer {
  #o: DeployerOptions;
  #lock: WriterLock;
  #retirer: Retirer;
  readonly #watches = new Watches();
  /** Verdicts of the releases being watched, for `engineroom watch` and status. */
  readonly analysis = this.#watches.analysis;
  #awaiting = new Map<string, ServiceConfig>(); // releaseId -> its config, for releases waiting for approval
  #background = new Set<Promise<unknown>>();

  /** The environment this deployer releases into. */
  get environment(): string {
    return this.#o.environment;
  }

  constructor(options: DeployerOptions) {
    this.#o = options;
    this.#lock = options.lock ?? new WriterLock(options.store.locks, options.environment);
    this.#retirer = new Retirer(options);
  }

  /** Deploys `source` (a folder or .tgz; default: the service's declared artifact) and returns once the release is live. */
  async deploy(serviceName: string, source: string | undefined, options: RunOptions = {}): Promise<DeployResult> {
    const service = this.#service(serviceName);
    const artifactSource = source ?? service.artifact;
    if (!artifactSource) {
      throw new EngineError("ARTIFACT_NOT_FOUND", `No artifact given for ${serviceName}, and the service declares none.`, {
        hint: `Pass one: engineroom deploy ${serviceName} <folder-or-tgz>, or set services.${serviceName}.artifact.`,
      });
    }
    return this.#lock.run(`deploy ${serviceName}`, async () => {
      progressOf(options.onProgress)({ step: "artifact", message: `storing artifact ${artifactSource}` });
      const artifact = await this.#o.artifacts.add(resolve(this.#o.projectDir, artifactSource));
      await this.#o.store.artifacts.put({ digest: artifact.digest, source: artifactSource, sizeBytes: artifact.sizeBytes, fileCount: artifact.fileCount });
      return this.#release(serviceName, service, artifact.digest, `deploy of ${artifactSource}${options.actor ? ` by ${options.actor}` : ""}`, options);
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
      return this.#release(serviceName, service, digest, options.reason, options);
    });
  }

  /** Switches a release that waits for approval (the environment has require_approval) and returns once it is live. */
  async approve(releaseId: string, options: RunOptions = {}): Promise<DeployResult> {
    const release = await this.#o.store.releases.get(releaseId);
    const waiting = release && this.#awaiting.get(releaseId);
    if (!release || !waiting) {
      throw new EngineError("APPROVAL_NOT_PENDING", `Release ${releaseId} does not wait for approval${release ? ` (it is ${release.state})` : ""}.`);
    }
    return this.#lock.run(`approve ${release.service} v${release.number}`, async () => {
      this.#awaiting.delete(releaseId);
      const started = this.#o.clock.now();
      await this.#o.store.events.append({
        type: "release.approved",
        service: release.service,
        environment: release.environment,
        releaseId,
        message: `v${release.number} approved${options.actor ? ` by ${options.actor}` : ""}`,
      });
      const switched = await this.#switch(release, waiting, progressOf(options.onProgress));
      return { ...switched, totalMs: this.#o.clock.now() - started };
    });
  }

  /** The artifact goes through the whole pipeline: release, instances, health gate, smoke tests, switch (or a wait for approval). */
  async #release(serviceName: string, service: ServiceConfig, digest: string, reason: string, options: RunOptions): Promise<DeployResult> {
    const started = this.#o.clock.now();
    const signal = options.signal ?? new AbortController().signal;
    const progress = progressOf(options.onProgress);
    const { store, environment } = this.#o;
    await this.#dropAwaiting(serviceName, "a newer release of the service was started");
    const configHash = serviceConfigHash(service);
    await this.#o.configs.save(configHash, service);
    const release = await store.releases.create({ service: serviceName, environment, artifactDigest: digest, configHash, reason });
    progress({ step: "release", releaseId: release.id, message: `release v${release.number} of ${digest.slice(0, 19)} in ${environment}` });
    let current = release;
    try {
      current = await this.#bringUp(release, service, this.#o.artifacts.path(digest), signal, progress);
      if (signal.aborted) throw cancelled(signal);
      if (this.#o.requireApproval) {
        this.#awaiting.set(release.id, service);
        progress({ step: "approval", releaseId: release.id, message: `v${release.number} is verified and waits for approval: engineroom approve ${release.id}` });
        return { release: current, previousReleaseId: null, switchMs: 0, ackMs: 0, totalMs: this.#o.clock.now() - started, awaitingApproval: true };
      }
      // From here on the deploy finishes even if the caller goes away: the switch is atomic.
      const switched = await this.#switch(current, service, progress);
      return { ...switched, totalMs: this.#o.clock.now() - started };
    } catch (error) {
      const failure = signal.aborted && !(error instanceof EngineError) ? cancelled(signal) : toEngineError(error);
      await this.#fail(release.id, service, failure);
      progress({ step: "failed", releaseId: release.id, message: failure.message });
      throw failure;
    }
  }

  async #fail(releaseId: string, service: ServiceConfig, failure: EngineError): Promise<void> {
    await this.#o.supervisor.stop(releaseId, service.release.stop_grace);
    const latest = await this.#o.store.releases.get(releaseId);
    if (latest && canTransition(latest.state, "failed")) {
      await this.#transition(latest, "failed", `${failure.code}: ${failure.message}`, { error: failure.toJSON() });
    }
  }

  /** A release that waited for approval when a newer one starts (or the engine stops) never gets traffic. */
  async #dropAwaiting(serviceName: string, why: string): Promise<void> {
    for (const [releaseId, service] of this.#awaiting) {
      const release = await this.#o.store.releases.get(releaseId);
      if (release?.service !== serviceName) continue;
      this.#awaiting.delete(releaseId);
      await this.#fail(releaseId, service, new EngineError("DEPLOY_CANCELLED", `v${release.number} was never approved: ${why}`));
    }
  }

  /** Switches the service back to its previous release: at once if that one is warm, else after starting it and passing health. */
  async rollback(serviceName: string, options: RollbackOptions = {}): Promise<RollbackResult> {
    const service = this.#service(serviceName);
    return this.#lock.run(`rollback ${serviceName}`, async () => {
      const started = this.#o.clock.now();
      const signal = options.signal ?? new AbortController().signal;
      const progress = progressOf(options.onProgress);
      const { store, environment, supervisor } = this.#o;
      const live = await store.live.get(serviceName, environment);
      const from = live && (await store.releases.get(live.releaseId));
      if (!live || !from) throw new EngineError("ROLLBACK_NO_TARGET", `${serviceName} has no live release to roll back from.`);
      if (options.expectLive && options.expectLive !== from.id) {
        throw new EngineError("ROLLBACK_NO_TARGET", `The release to roll back is no longer live (v${from.number} is).`);
      }
      const to = await rollbackTarget(this.#o, from, live.previousReleaseId);
      if (!to) throw new EngineError("ROLLBACK_NO_TARGET", `${serviceName} has no earlier release that went live and can be run again.`);
      const warm = supervisor.isWarm(to.id);
      progress({ step: "target", releaseId: to.id, message: `rolling back v${from.number} → v${to.number} (${warm ? "warm" : "cold: starting it"})` });
      if (!warm) {
        await this.#retirer.retiring(to.id); // it may be draining right now: let it stop, then start it afresh
        const config = (await this.#o.configs.load(to.configHash)) ?? service;
        if (!(await this.#o.artifacts.has(to.artifactDigest))) {
          throw new EngineError("ROLLBACK_NO_TARGET", `The artifact of v${to.number} (${to.artifactDigest}) is no longer stored.`);
        }
        try {
          await supervisor.stop(to.id, config.release.stop_grace);
          await supervisor.start(to, config, this.#o.artifacts.path(to.artifactDigest), await instanceEnv(this.#o, to, config));
          const gate = await healthGate(to.id, config, this.#o, signal);
          progress({ step: "healthy", releaseId: to.id, message: `v${to.number} healthy in ${gate.ms}ms` });
          supervisor.supervise(to.id);
        } catch (error) {
          await supervisor.stop(to.id, config.release.stop_grace);
          const failure = toEngineError(error);
          throw new EngineError("ROLLBACK_FAILED", `v${to.number} did not come back: ${failure.message}; v${from.number} keeps serving.`, {
            details: failure.details,
          });
        }
      }
      this.#cancelWatch(from.id);
      const switchStarted = performance.now();
      const result = await this.#o.traffic.route(serviceName, to.id, supervisor.upstreams(to.id));
      await store.live.set(serviceName, environment, to.id, null);
      const switchMs = performance.now() - switchStarted;
      const reason = options.reason ?? `rolled back to v${to.number}${options.actor ? ` by ${options.actor}` : ""}`;
      const rolledBack = await this.#transition(from, "rolled-back", reason, { to: to.id, warm, switchMs, ackMs: result.ackMs, routeVersion: result.version, ...options.evidence });
      progress({ step: "switched", releaseId: to.id, message: `traffic on v${to.number} (switch ${switchMs.toFixed(1)}ms)`, data: { switchMs } });
      this.#track(this.#retirer.retire(from, service));
      return { from: rolledBack, to, warm, switchMs, ackMs: result.ackMs, totalMs: this.#o.clock.now() - started };
    }, { internal: options.internal });
  }

  /** Restores the engine's state after a restart: interrupted deploys fail, live releases run again. */
  async recover(options: RunOptions = {}): Promise<void> {
    const { store, environment, supervisor, logger } = this.#o;
    const progress = progressOf(options.onProgress);
    for (const release of await store.releases.listInStates(["pending", "starting", "healthy", "verified"])) {
      if (release.environment !== environment) continue;
      await this.#transition(release, "failed", "the engine stopped during this deploy; the switch never happened");
    }
    const services = this.#o.services();
    for (const live of await store.live.list(environment)) {
      const release = await store.releases.get(live.releaseId);
      const declared = services[live.service];
      if (!release || !declared) continue;
      const config = (await this.#o.configs.load(release.configHash)) ?? declared;
      try {
        await this.#lock.run(`restore ${live.service}`, async () => {
          await supervisor.start(release, config, this.#o.artifacts.path(release.artifactDigest), await instanceEnv(this.#o, release, config));
          await healthGate(release.id, config, this.#o, options.signal ?? new AbortController().signal);
          supervisor.supervise(release.id);
          await this.#o.traffic.route(live.service, release.id, supervisor.upstreams(release.id));
        }, { internal: true });
        progress({ step: "restored", releaseId: release.id, message: `${live.service}: v${release.number} serving again` });
        if (release.state === "watching" || release.state === "live") {
          const remaining = Math.max(0, config.release.watch - (this.#o.clock.now() - live.switchedAt));
          this.#startWatch(release, config, remaining, live.switchedAt, live.previousReleaseId);
        }
      } catch (error) {
        await supervisor.stop(release.id, config.release.stop_grace);
        logger.error(`could not restore ${live.service} v${release.number}`, { error: toEngineError(error).message });
        await store.events.append({
          type: "release.down",
          service: live.service,
          environment,
          releaseId: release.id,
          message: `v${release.number} could not be started again after an engine restart: ${toEngineError(error).message}`,
        });
      }
    }
  }

  /**
   * An instance of the release kept crashing past its restart budget. While the release is still
   * being watched, and its predecessor can take the traffic back, that is a failed release: roll back.
   */
  handleGaveUp(releaseId: string, instanceId: string): void {
    this.#track(
      (async () => {
        const release = await this.#o.store.releases.get(releaseId);
        const live = release && (await this.#o.store.live.get(release.service, release.environment));
        if (!release || release.state !== "watching" || live?.releaseId !== release.id) return;
        await this.rollback(release.service, {
          actor: "engine",
          internal: true,
          expectLive: release.id,
          reason: `instance ${instanceId} of v${release.number} kept crashing during the watch window`,
        });
      })(),
    );
  }

  /** Waits for background work (watch windows are cancelled, drains finish) — for shutdown. */
  async close(): Promise<void> {
    this.#watches.cancelAll();
    await Promise.allSettled([...this.#background]);
  }

  /** What runs for the service now ("deploy web"), if anything. */
  busy(serviceName: string): string | undefined {
    return this.#lock.holder();
  }

  async #bringUp(release: Release, service: ServiceConfig, cwd: string, signal: AbortSignal, progress: (p: Progress) => void): Promise<Release> {
    const { supervisor } = this.#o;
    let current = await this.#transition(release, "starting", `starting ${service.instances} instance(s)`);
    const instances = await supervisor.start(current, service, cwd, await instanceEnv(this.#o, current, service));
    progress({
      step: "starting",
      releaseId: release.id,
      message: `started ${instances.map((i) => `${i.id} on :${i.port}`).join(", ")}`,
      data: { instances: instances.map((i) => ({ id: i.id, port: i.port, pid: i.pid })) },
    });
    const gate = await healthGate(release.id, service, this.#o, signal);
    current = await this.#transition(current, "healthy", `all ${service.instances} instance(s) passed GET ${service.health.path} ${service.health.healthy_threshold}× in ${gate.ms}ms`);
    progress({ step: "healthy", releaseId: release.id, message: current.reason });
    await smokeGate(release.id, service, this.#o, signal);
    current = await this.#transition(current, "verified", service.smoke.length ? `${service.smoke.length} smoke test(s) passed on every instance` : "no smoke tests declared");
    progress({ step: "verified", releaseId: release.id, message: current.reason });
    return current;
  }

  async #switch(release: Release, service: ServiceConfig, progress: (p: Progress) => void): Promise<Omit<DeployResult, "totalMs">> {
    const { store, environment, supervisor, traffic } = this.#o;
    supervisor.supervise(release.id);
    const before = await store.live.get(release.service, environment);
    const switchStarted = performance.now();
    const result = await traffic.route(release.service, release.id, supervisor.upstreams(release.id));
    await store.live.set(release.service, environment, release.id, before?.releaseId ?? null);
    const switchMs = performance.now() - switchStarted;
    let current = await this.#transition(release, "live", `switched in ${switchMs.toFixed(1)}ms (route table v${result.version})`, {
      previousReleaseId: before?.releaseId ?? null,
      switchMs,
      ackMs: result.ackMs,
    });
    progress({ step: "live", releaseId: release.id, message: `live: traffic switched in ${switchMs.toFixed(1)}ms`, data: { switchMs } });
    current = await this.#transition(current, "watching", `watching for ${service.release.watch}ms; the previous release stays warm`);
    if (before) {
      const previous = await store.releases.get(before.releaseId);
      if (previous?.state === "watching") {
        this.#cancelWatch(previous.id);
        await this.#transition(previous, "superseded", `replaced by v${release.number} before its watch window ended`);
      }
      // The release before the previous one is no longer anyone's rollback target: drain and stop it.
      const older = before.previousReleaseId && (await store.releases.get(before.previousReleaseId));
      if (older && supervisor.has(older.id)) this.#track(this.#retirer.retire(older, service));
    }
    this.#startWatch(current, service, service.release.watch, this.#o.clock.now(), before?.releaseId ?? null);
    return { release: current, previousReleaseId: before?.releaseId ?? null, switchMs, ackMs: result.ackMs };
  }

  #startWatch(release: Release, service: ServiceConfig, windowMs: number, switchedAt: number, previousReleaseId: string | null): void {
    const probeHealth = () =>
      Promise.all(
        this.#o.supervisor.targets(release.id).map(async (target) => {
          const result = await probe({ host: target.host, port: target.port, path: service.health.path, timeoutMs: service.health.timeout });
          return { instanceId: target.id, ok: probePassed(result), detail: describeProbe(result) };
        }),
      );
    const input = { release, service, windowMs, switchedAt, previousReleaseId, source: this.#o.metricSource(service), clock: this.#o.clock, probeHealth };
    const watch = this.#watches.start(input, async (result) => {
      const { verdict } = result;
      if (result.outcome === "fail" || (result.outcome === "inconclusive" && result.policy.whenInconclusive === "rollback")) {
        await this.rollback(release.service, {
          actor: "analysis",
          internal: true,
          expectLive: release.id,
          reason: `analysis ${result.outcome === "fail" ? "failed" : "stayed inconclusive"}: ${verdict?.reason ?? "no verdict"}`,
          evidence: verdict ? { verdict } : undefined,
        }).catch((error) => this.#o.logger.error("automatic rollback failed", { release: release.id, error: String(error) }));
        return;
      }
      const why = verdict
        ? `watch window passed, analysis ${verdict.outcome}: ${verdict.reason}`
        : `watch window of ${windowMs}ms passed without rollback (analysis disabled)`;
      // An internal task: if a deploy or rollback of the service runs as the window ends, it waits for
      // that to finish rather than being refused (which left the release watching for good).
      const previous = await this.#lock
        .run(
          `finish watch of ${release.service}`,
          async () => {
            const latest = await this.#o.store.releases.get(release.id);
            if (!latest || !canTransition(latest.state, "stable")) return undefined;
            await this.#transition(latest, "stable", why, verdict ? { verdict } : undefined);
            await this.#retirer.prune(release.service, service.release.keep);
            const live = await this.#o.store.live.get(release.service, this.#o.environment);
            return live?.previousReleaseId ? this.#o.store.releases.get(live.previousReleaseId) : undefined;
          },
          { internal: true },
        )
        .catch((error) => void this.#o.logger.warn("watch could not finish", { release: release.id, error: String(error) }));
      // Draining may take up to drain_timeout: not under the lock, so that a rollback need not wait for it.
      if (previous) await this.#retirer.retire(previous, service);
    });
    this.#track(watch);
  }

  /** Takes a service that is no longer declared out of service: its routes go, its releases are drained and stopped. */
  async remove(serviceName: string, releaseId: string, options: RunOptions = {}): Promise<void> {
    await this.#lock.run(`remove ${serviceName}`, async () => {
      const { store, environment } = this.#o;
      const live = await store.live.get(serviceName, environment);
      if (!live || live.releaseId !== releaseId) return;
      this.#cancelWatch(live.releaseId);
      await this.#o.traffic.unroute(serviceName);
      await store.live.remove(serviceName, environment);
      const config = (await store.releases.get(live.releaseId).then((r) => r && this.#o.configs.load(r.configHash))) ?? undefined;
      for (const id of [live.releaseId, live.previousReleaseId]) {
        const release = id ? await store.releases.get(id) : undefined;
        if (release && config) await this.#retirer.retire(release, config);
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
      this.#cancelWatch(releaseId);
      const verdict = this.analysis.last(releaseId);
      return this.#transition(release, "stable", `watch skipped by ${actor}${verdict ? `; last verdict ${verdict.outcome}: ${verdict.reason}` : ""}`, {
        skipped: true,
        ...(verdict ? { verdict } : {}),
      });
    });
    const live = await this.#o.store.live.get(release.service, this.#o.environment);
    const previous = live?.previousReleaseId ? await this.#o.store.releases.get(live.previousReleaseId) : undefined;
    if (previous) this.#track(this.#retirer.retire(previous, service));
    return stable;
  }

  #cancelWatch(releaseId: string): void {
    this.#watches.cancel(releaseId);
  }

  #service(name: string): ServiceConfig {
    // Own keys only: "__proto__" or "constructor" must not find Object.prototype's members.
    const services = this.#o.services();
    const service = Object.hasOwn(services, name) ? services[name] : undefined;
    if (!service) {
      throw new EngineError("SERVICE_UNKNOWN", `No service named "${name}" in this project (declared: ${Object.keys(this.#o.services()).join(", ") || "none"}).`);
    }
    return service;
  }

  async #transition(release: Release, to: ReleaseState, reason: string, data?: Record<string, unknown>): Promise<Release> {
    if (!canTransition(release.state, to)) {
      throw new EngineError("INTERNAL", `release ${release.id} cannot go from ${release.state} to ${to}`);
    }
    return this.#o.store.releases.transition(release.id, to, reason, data);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => this.#o.logger.warn("background work failed", { error: String(error) }));
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }
}
