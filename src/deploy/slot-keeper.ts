import type { InstanceInfo, ExitInfo } from "../runtime/index.js";
import type { ServiceConfig } from "../config/index.js";
import type { Upstream } from "../proxy/index.js";
import type { Release } from "../store/index.js";
import { describeProbe, probePassed, unhealthyThreshold, waitHealthy } from "./health.js";
import type { SupervisorOptions } from "./instances.js";
import { probeInstance } from "./probe.js";

/** One slot of a release: the instance currently filling it, its health and its restart history. */
export interface Slot {
  index: number;
  instance: InstanceInfo;
  /** In the rotation: passed its health check since it last started, and has not failed it `unhealthy_threshold` times since. */
  healthy: boolean;
  /** Health-check failures in a row of the slot (kept through a restart until the new instance passes). */
  failures: number;
  /** The most failures in a row any instance of this slot reached, with that instance and its last probe: a replacement does not wipe it, so the watch sees it. */
  peak: { failures: number; instanceId: string; detail: string } | undefined;
  lastProbe: { ok: boolean; detail: string } | undefined;
  /** Times of recent restarts (crashes and health failures), for the restart budget. */
  crashes: number[];
  restarting: boolean;
  /** Ends the live health check of the slot's current instance. */
  probing: AbortController | undefined;
}

export interface Group {
  release: Release;
  service: ServiceConfig;
  cwd: string;
  env: Record<string, string>;
  slots: Slot[];
  /** Before the health gate passes, crashes fail the deploy; after, they are restarted and health is checked all the time. */
  supervised: boolean;
  stopping: boolean;
  /** `release.down` was said and no instance came back since. */
  down: boolean;
  /** Aborted when the release is stopped: ends restart backoffs and health checks that still run for it. */
  stopped: AbortController;
  crashListeners: Set<(exit: ExitInfo, slot: Slot) => void>;
}

/** What the slot keeper needs of its Supervisor. */
export interface KeeperHost {
  readonly options: SupervisorOptions;
  spawn(group: Group, index: number, attempt: number): Promise<InstanceInfo>;
  stopInstance(instance: InstanceInfo, graceMs: number): Promise<void>;
  /** Routes the instance's exits to its slot (and `unbind` stops that). */
  bind(instance: InstanceInfo, group: Group, slot: Slot): void;
  unbind(instanceId: string): void;
  /** The group is still the supervisor's group of its release (not stopped, not started afresh). */
  isCurrent(group: Group): boolean;
  upstreams(releaseId: string): Upstream[];
  /** Tells the release-down listeners. */
  down(releaseId: string): void;
}

/**
 * Keeps the slots of supervised releases filled with healthy instances: the live health check of
 * every instance, and the restart of one that crashed or failed its health check, within the
 * service's restart budget. The Supervisor owns the groups; this is its care of them.
 */
export class SlotKeeper {
  #host: KeeperHost;

  constructor(host: KeeperHost) {
    this.#host = host;
  }

  /** Probes the slot's current instance every `health.interval` until it fails `unhealthy_threshold` times in a row (then restarts it), or it is replaced or stopped. */
  checkHealth(group: Group, slot: Slot): void {
    slot.probing?.abort();
    const probing = new AbortController();
    slot.probing = probing;
    const onStop = () => probing.abort();
    group.stopped.signal.addEventListener("abort", onStop, { once: true });
    const { instance } = slot;
    const { clock, runtime } = this.#host.options;
    const { health } = group.service;
    void (async () => {
      try {
        // Probes start every interval (a probe that waited for its timeout shortens the wait after it),
        // so a hung instance is out after about threshold × max(interval, timeout).
        for (let probeMs = 0; ; ) {
          await clock.sleep(Math.max(0, health.interval - probeMs), probing.signal);
          const started = clock.now();
          const result = await probeInstance(runtime, instance, { path: health.path, timeoutMs: health.timeout, signal: probing.signal });
          probeMs = clock.now() - started;
          if (probing.signal.aborted || slot.instance !== instance || instance.status !== "running") return;
          const ok = probePassed(result);
          slot.lastProbe = { ok, detail: describeProbe(result) };
          slot.failures = ok ? 0 : slot.failures + 1;
          if (slot.failures > (slot.peak?.failures ?? 0)) slot.peak = { failures: slot.failures, instanceId: instance.id, detail: slot.lastProbe.detail };
          if (slot.failures >= unhealthyThreshold(health)) return void (await this.unhealthy(group, slot, instance));
        }
      } catch {
        // aborted: replaced, crashed or stopped
      } finally {
        group.stopped.signal.removeEventListener("abort", onStop);
      }
    })();
  }

  async unhealthy(group: Group, slot: Slot, instance: InstanceInfo): Promise<void> {
    const { release, service } = group;
    const wasHealthy = slot.healthy;
    slot.healthy = false;
    slot.probing = undefined;
    if (wasHealthy) this.#host.options.onUpstreamsChanged(release.id);
    await this.#host.options.events.append({
      service: release.service,
      environment: this.#host.options.environment,
      releaseId: release.id,
      type: "instance.unhealthy",
      message: `instance ${instance.id} failed GET ${service.health.path} ${slot.failures} times in a row (last: ${slot.lastProbe?.detail}); out of the rotation, restarting it`,
      data: { instanceId: instance.id, failures: slot.failures, lastProbe: slot.lastProbe?.detail },
    });
    await this.checkDown(group);
    await this.restart(group, slot, "unhealthy");
  }

  async handleCrash(group: Group, slot: Slot, exit: ExitInfo, wasHealthy: boolean): Promise<void> {
    const { events, runtime, environment } = this.#host.options;
    const { release } = group;
    const lastLines = await runtime.logs(exit.id, { lines: 20 }).catch(() => []);
    await events.append({
      service: release.service,
      environment,
      releaseId: release.id,
      type: "instance.crashed",
      message: `instance ${exit.id} exited (${exit.signal ?? `code ${exit.code}`})`,
      data: { instanceId: exit.id, code: exit.code, signal: exit.signal, lastLines },
    });
    if (wasHealthy) this.#host.options.onUpstreamsChanged(release.id);
    await this.checkDown(group);
    await this.restart(group, slot, "crashed");
  }

  /** Says `release.down` once when a serving release has no instance left in the rotation. */
  async checkDown(group: Group): Promise<void> {
    const { release } = group;
    if (group.down || group.stopping || this.#host.upstreams(release.id).length > 0 || !(this.#host.options.isServing?.(release.id) ?? true)) return;
    group.down = true;
    await this.#host.options.events.append({
      service: release.service,
      environment: this.#host.options.environment,
      releaseId: release.id,
      type: "release.down",
      message: `release v${release.number} has no healthy instance left`,
      data: {},
    });
    this.#host.down(release.id);
  }

  /**
   * Replaces the slot's instance, within the restart budget: a crashed one after the backoff
   * (doubling with each restart in the window), an unhealthy one at once after stopping it with its
   * grace. The new instance returns to the rotation after `healthy_threshold` passes in a row.
   */
  async restart(group: Group, slot: Slot, why: "crashed" | "unhealthy"): Promise<void> {
    const { events, clock, runtime, logger, environment } = this.#host.options;
    const { release, service } = group;
    const base = { service: release.service, environment, releaseId: release.id };
    for (let reason: "crashed" | "unhealthy" = why; ; reason = "unhealthy") {
      if (group.stopping) return;
      const old = slot.instance;
      const now = clock.now();
      slot.crashes = slot.crashes.filter((t) => now - t < service.restart.window);
      slot.crashes.push(now);
      if (slot.crashes.length > service.restart.max_restarts) {
        if (old.status === "running") await this.#host.stopInstance(old, service.release.stop_grace);
        await events.append({
          ...base,
          type: "instance.failed",
          message: `instance ${old.id} ${reason === "crashed" ? "crashed" : "was restarted"} ${slot.crashes.length} times within ${service.restart.window}ms; not restarting it`,
          data: { instanceId: old.id, crashes: slot.crashes.length },
        });
        this.#host.options.onGaveUp?.(release.id, old.id);
        return;
      }
      const backoff = reason === "crashed" ? Math.min(service.restart.backoff * 2 ** (slot.crashes.length - 1), service.restart.max_backoff) : 0;
      slot.restarting = true;
      // An unhealthy instance is ended (with its grace: a hung one takes all of it) while its replacement starts.
      const ending = old.status === "exited" ? undefined : runtime.stop(old.id, { graceMs: service.release.stop_grace }).then(() => runtime.forget(old.id));
      try {
        if (backoff > 0) await clock.sleep(backoff, group.stopped.signal);
        if (group.stopping || !this.#host.isCurrent(group)) return;
        this.#host.unbind(old.id);
        if (!ending) runtime.forget(old.id);
        const instance = await this.#host.spawn(group, slot.index, slot.crashes.length);
        slot.instance = instance;
        this.#host.bind(instance, group, slot);
        if (group.stopping) return void (await this.#host.stopInstance(instance, 1000));
        const outcome = await waitHealthy(instance, service.health, clock, group.stopped.signal, runtime);
        if (group.stopping || slot.instance !== instance || instance.status !== "running") return;
        if (outcome.healthy) {
          slot.healthy = true;
          slot.failures = 0;
          slot.lastProbe = undefined;
          group.down = false;
          this.#host.options.onUpstreamsChanged(release.id);
          await events.append({
            ...base,
            type: "instance.restarted",
            message: `instance ${instance.id} restarted ${backoff ? `after ${backoff}ms ` : ""}(it ${reason === "crashed" ? "crashed" : "failed its health check"}) and is healthy`,
            data: { instanceId: instance.id, port: instance.port, backoffMs: backoff, replaced: old.id, why: reason },
          });
          this.checkHealth(group, slot);
          return;
        }
        await events.append({ ...base, type: "instance.unhealthy", message: outcome.reason, data: { instanceId: instance.id, lastProbe: outcome.lastProbe } });
      } catch (error) {
        if (!group.stopping) logger.warn("instance restart failed", { instance: slot.instance.id, error: String(error) });
        return;
      } finally {
        slot.restarting = false;
        await ending?.catch(() => undefined);
      }
    }
  }
}
