import type { ServiceConfig } from "../config/index.js";
import type { Clock, Logger } from "../core/index.js";
import type { Upstream } from "../proxy/index.js";
import type { ExitInfo, InstanceInfo, Runtime } from "../runtime/index.js";
import type { EventLog, Release } from "../store/index.js";
import { waitHealthy, type HealthTarget } from "./health.js";

/** One slot of a release: the instance currently filling it, and its crash history. */
interface Slot {
  index: number;
  instance: InstanceInfo;
  /** Passed its health check since it last started. */
  healthy: boolean;
  /** Times of recent crashes, for the restart budget. */
  crashes: number[];
  restarting: boolean;
}

interface Group {
  release: Release;
  service: ServiceConfig;
  cwd: string;
  env: Record<string, string>;
  slots: Slot[];
  /** Before the health gate passes, crashes fail the deploy; after, they are restarted. */
  supervised: boolean;
  stopping: boolean;
  /** Aborted when the release is stopped: ends restart backoffs and health checks that still run for it. */
  stopped: AbortController;
  crashListeners: Set<(exit: ExitInfo, slot: Slot) => void>;
}

export interface InstanceView {
  id: string;
  releaseId: string;
  port: number;
  pid: number | undefined;
  status: string;
  healthy: boolean;
  restarts: number;
}

export interface SupervisorOptions {
  runtime: Runtime;
  events: EventLog;
  clock: Clock;
  logger: Logger;
  environment: string;
  /** Called when a release's set of healthy upstreams changes (a crash, a restart back to health). */
  onUpstreamsChanged: (releaseId: string) => void;
  /** True when the release's routes take traffic now; `release.down` is raised only for such a release. */
  isServing?: (releaseId: string) => boolean;
  /** Called when an instance of the release crashed more often than its restart budget allows. */
  onGaveUp?: (releaseId: string, instanceId: string) => void;
}

/**
 * Keeps the instances of each running release: starts them, restarts the ones that crash with
 * exponential backoff (within the service's restart budget), and tells the engine when a release's
 * healthy upstreams change so the proxy stops sending traffic to a dead instance.
 */
export class Supervisor {
  #options: SupervisorOptions;
  #groups = new Map<string, Group>();
  #byInstance = new Map<string, { group: Group; slot: Slot }>();
  #unsubscribe: () => void;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#unsubscribe = options.runtime.onExit((exit) => this.#onExit(exit));
  }

  /** Starts `service.instances` instances of the release, each on a free port. Resolves once all are spawned. */
  async start(release: Release, service: ServiceConfig, cwd: string, env: Record<string, string>): Promise<InstanceInfo[]> {
    const group: Group = { release, service, cwd, env, slots: [], supervised: false, stopping: false, stopped: new AbortController(), crashListeners: new Set() };
    this.#groups.set(release.id, group);
    try {
      for (let index = 0; index < service.instances; index++) {
        const instance = await this.#spawn(group, index, 0);
        const slot: Slot = { index, instance, healthy: false, crashes: [], restarting: false };
        group.slots.push(slot);
        this.#byInstance.set(instance.id, { group, slot });
      }
    } catch (error) {
      await this.stop(release.id, 1000);
      throw error;
    }
    return group.slots.map((s) => s.instance);
  }

  /** Health targets of the release's current instances. */
  targets(releaseId: string): HealthTarget[] {
    return (this.#groups.get(releaseId)?.slots ?? []).map((s) => ({ id: s.instance.id, host: s.instance.host, port: s.instance.port }));
  }

  /** Marks every instance healthy after the deploy's health gate, and from then on restarts crashed ones. */
  supervise(releaseId: string): void {
    const group = this.#groups.get(releaseId);
    if (!group) return;
    group.supervised = true;
    for (const slot of group.slots) slot.healthy = slot.instance.status === "running";
  }

  /** Upstreams the proxy may send traffic to: running instances that passed health. */
  upstreams(releaseId: string): Upstream[] {
    return (this.#groups.get(releaseId)?.slots ?? [])
      .filter((s) => s.healthy && s.instance.status === "running")
      .map((s) => ({ host: s.instance.host, port: s.instance.port, instanceId: s.instance.id }));
  }

  /** True when the release has all its instances running and healthy: a rollback to it needs no start. */
  isWarm(releaseId: string): boolean {
    const group = this.#groups.get(releaseId);
    return !!group && !group.stopping && group.supervised && group.slots.every((s) => s.healthy && s.instance.status === "running");
  }

  has(releaseId: string): boolean {
    return this.#groups.has(releaseId);
  }

  releaseIds(): string[] {
    return [...this.#groups.keys()];
  }

  /** Calls `listener` when an instance of the release exits on its own before it is supervised. */
  onEarlyCrash(releaseId: string, listener: (exit: ExitInfo, instanceId: string) => void): () => void {
    const group = this.#groups.get(releaseId);
    if (!group) return () => {};
    const wrapped = (exit: ExitInfo, slot: Slot) => listener(exit, slot.instance.id);
    group.crashListeners.add(wrapped);
    // An instance may have exited before anyone listened (e.g. while its siblings were being spawned).
    for (const slot of group.slots) {
      const { id, status, exitCode, signal } = slot.instance;
      if (status === "exited" && !group.supervised && !group.stopping) wrapped({ id, code: exitCode, signal, expected: false }, slot);
    }
    return () => group.crashListeners.delete(wrapped);
  }

  /** Stops every instance of the release (SIGTERM, then SIGKILL after `graceMs`) and forgets it. */
  async stop(releaseId: string, graceMs: number): Promise<void> {
    const group = this.#groups.get(releaseId);
    if (!group) return;
    group.stopping = true;
    group.stopped.abort(new Error(`release ${releaseId} stopped`));
    await Promise.all(
      group.slots.map(async (slot) => {
        await this.#options.runtime.stop(slot.instance.id, { graceMs });
        this.#options.runtime.forget(slot.instance.id);
        this.#byInstance.delete(slot.instance.id);
      }),
    );
    // A rollback may have started the release afresh meanwhile; that group is not ours to forget.
    if (this.#groups.get(releaseId) === group) this.#groups.delete(releaseId);
  }

  /** The instances of a release as `status` shows them. */
  view(releaseId: string): InstanceView[] {
    return (this.#groups.get(releaseId)?.slots ?? []).map((s) => ({
      id: s.instance.id,
      releaseId,
      port: s.instance.port,
      pid: s.instance.pid,
      status: s.restarting ? "restarting" : s.instance.status,
      healthy: s.healthy,
      restarts: s.crashes.length,
    }));
  }

  /** Stops every release's instances; for engine shutdown. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.#groups.keys()].map((id) => this.stop(id, graceMs)));
    this.#unsubscribe();
  }

  async #spawn(group: Group, index: number, attempt: number): Promise<InstanceInfo> {
    const { runtime } = this.#options;
    const port = await runtime.allocatePort();
    const id = `${group.release.service}-${this.#options.environment}-v${group.release.number}-${index + 1}${attempt ? `-r${attempt}` : ""}`;
    return runtime.start({
      id,
      service: group.release.service,
      releaseId: group.release.id,
      command: group.service.run,
      cwd: group.cwd,
      env: group.env,
      port,
    });
  }

  #onExit(exit: ExitInfo): void {
    const entry = this.#byInstance.get(exit.id);
    if (!entry || exit.expected) return;
    const { group, slot } = entry;
    slot.instance = { ...slot.instance, status: "exited", exitCode: exit.code, signal: exit.signal };
    if (group.stopping) return;
    const wasHealthy = slot.healthy;
    slot.healthy = false;
    if (!group.supervised) {
      for (const listener of group.crashListeners) listener(exit, slot);
      return;
    }
    void this.#handleCrash(group, slot, exit, wasHealthy);
  }

  async #handleCrash(group: Group, slot: Slot, exit: ExitInfo, wasHealthy: boolean): Promise<void> {
    const { events, clock, runtime, logger, environment } = this.#options;
    const { release, service } = group;
    const lastLines = await runtime.logs(exit.id, { lines: 20 }).catch(() => []);
    const now = clock.now();
    slot.crashes = slot.crashes.filter((t) => now - t < service.restart.window);
    slot.crashes.push(now);
    const base = { service: release.service, environment, releaseId: release.id };
    await events.append({
      ...base,
      type: "instance.crashed",
      message: `instance ${exit.id} exited (${exit.signal ?? `code ${exit.code}`})`,
      data: { instanceId: exit.id, code: exit.code, signal: exit.signal, lastLines },
    });
    if (wasHealthy) this.#options.onUpstreamsChanged(release.id);
    if (this.upstreams(release.id).length === 0 && (this.#options.isServing?.(release.id) ?? true)) {
      await events.append({ ...base, type: "release.down", message: `release v${release.number} has no healthy instance left`, data: {} });
    }
    if (slot.crashes.length > service.restart.max_restarts) {
      await events.append({
        ...base,
        type: "instance.failed",
        message: `instance ${exit.id} crashed ${slot.crashes.length} times within ${service.restart.window}ms; not restarting it`,
        data: { instanceId: exit.id, crashes: slot.crashes.length },
      });
      this.#options.onGaveUp?.(release.id, exit.id);
      return;
    }
    const backoff = Math.min(service.restart.backoff * 2 ** (slot.crashes.length - 1), service.restart.max_backoff);
    slot.restarting = true;
    try {
      await clock.sleep(backoff, group.stopped.signal);
      if (group.stopping || !this.#groups.has(release.id)) return;
      this.#byInstance.delete(slot.instance.id);
      runtime.forget(slot.instance.id);
      const instance = await this.#spawn(group, slot.index, slot.crashes.length);
      slot.instance = instance;
      this.#byInstance.set(instance.id, { group, slot });
      const outcome = await waitHealthy({ id: instance.id, host: instance.host, port: instance.port }, service.health, clock, group.stopped.signal);
      if (group.stopping || slot.instance !== instance || instance.status !== "running") return;
      if (outcome.healthy) {
        slot.healthy = true;
        this.#options.onUpstreamsChanged(release.id);
        await events.append({
          ...base,
          type: "instance.restarted",
          message: `instance ${instance.id} restarted after ${backoff}ms and is healthy`,
          data: { instanceId: instance.id, port: instance.port, backoffMs: backoff },
        });
      } else {
        await events.append({ ...base, type: "instance.unhealthy", message: outcome.reason, data: { instanceId: instance.id, lastProbe: outcome.lastProbe } });
      }
    } catch (error) {
      if (!group.stopping) logger.warn("instance restart failed", { instance: slot.instance.id, error: String(error) });
    } finally {
      slot.restarting = false;
    }
  }
}
