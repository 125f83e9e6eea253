import { setMaxListeners } from "node:events";
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import type { ServiceConfig } from "../config/index.js";
import { EngineError, type Clock, type Logger } from "../core/index.js";
import type { Upstream } from "../proxy/index.js";
import type { ExitInfo, InstanceInfo, Runtime } from "../runtime/index.js";
import type { EventLog, Release } from "../store/index.js";
import { describeProbe, probePassed, waitHealthy, type HealthTarget } from "./health.js";
import { probeInstance } from "./probe.js";
import { SlotKeeper, type Group, type Slot } from "./slot-keeper.js";

export interface InstanceView {
  id: string;
  releaseId: string;
  port: number;
  pid: number | undefined;
  status: string;
  healthy: boolean;
  restarts: number;
}

/** The live health of one instance of a release, as the supervisor last saw it. */
export interface InstanceHealth {
  instanceId: string;
  /** The last probe passed (false while the slot is down or restarting). */
  ok: boolean;
  detail: string;
  /** Failures in a row. */
  failures: number;
  /** The most failures in a row an instance of this slot reached since the release started, replaced ones included. */
  peak?: { failures: number; instanceId: string; detail: string };
}

export interface SupervisorOptions {
  runtime: Runtime;
  events: EventLog;
  clock: Clock;
  logger: Logger;
  environment: string;
  /** Called when a release's set of healthy upstreams changes (a crash, a health failure, a restart back to health). */
  onUpstreamsChanged: (releaseId: string) => void;
  /** True when the release's routes take traffic now; `release.down` is raised only for such a release. */
  isServing?: (releaseId: string) => boolean;
  /** Called when an instance of the release crashed more often than its restart budget allows. */
  onGaveUp?: (releaseId: string, instanceId: string) => void;
}

/** What `adopt()` did with the instances an earlier engine left running. */
export interface AdoptResult {
  /** Adopted instances that passed their health probe: kept as they are. */
  kept: InstanceInfo[];
  /** Fresh instances started for slots with none, or in place of a failing one; they need the health gate. */
  started: InstanceInfo[];
  /** Adopted instances that were stopped: failing their probe, or in no slot of the release. */
  stopped: { id: string; why: string }[];
}

/**
 * Keeps the instances of each running release: starts them (or adopts them from an earlier engine),
 * health-checks every instance of a supervised release all the time, restarts the ones that crash
 * (with exponential backoff) or fail their health check, within the service's restart budget, and
 * tells the engine when a release's healthy upstreams change so the proxy stops sending traffic to
 * a dead or hung instance.
 */
export class Supervisor {
  #options: SupervisorOptions;
  #groups = new Map<string, Group>();
  #byInstance = new Map<string, { group: Group; slot: Slot }>();
  #unsubscribe: () => void;
  #downListeners = new Set<(releaseId: string) => void>();
  #keeper: SlotKeeper;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#keeper = new SlotKeeper({
      options,
      spawn: (group, index, attempt) => this.#spawn(group, index, attempt),
      stopInstance: (instance, graceMs) => this.#stopInstance(instance, graceMs),
      bind: (instance, group, slot) => void this.#byInstance.set(instance.id, { group, slot }),
      unbind: (id) => void this.#byInstance.delete(id),
      isCurrent: (group) => this.#groups.get(group.release.id) === group,
      upstreams: (releaseId) => this.upstreams(releaseId),
      down: (releaseId) => {
        for (const listener of this.#downListeners) listener(releaseId);
      },
    });
    this.#unsubscribe = options.runtime.onExit((exit) => this.#onExit(exit));
  }

  /** Starts `service.instances` instances of the release, each on a free port. Resolves once all are spawned. */
  async start(release: Release, service: ServiceConfig, cwd: string, env: Record<string, string>): Promise<InstanceInfo[]> {
    const group = this.#newGroup(release, service, cwd, env);
    try {
      for (let index = 0; index < service.instances; index++) this.#fill(group, index, await this.#spawn(group, index, 0));
    } catch (error) {
      await this.stop(release.id, 1000);
      throw error;
    }
    return group.slots.map((s) => s.instance);
  }

  /**
   * Builds the release's group from instances an earlier engine started (each in the slot its
   * `labels.slot` names): each is probed once with the service's health check and kept if it
   * passes; a failing one, or one in no slot, is stopped; slots left empty get a fresh instance.
   * Nothing healthy is restarted. Like `start()`, the group is supervised only once `supervise()`
   * is called (after the fresh instances passed the health gate).
   */
  async adopt(release: Release, service: ServiceConfig, cwd: string, env: Record<string, string>, instances: InstanceInfo[]): Promise<AdoptResult> {
    const group = this.#newGroup(release, service, cwd, env);
    const result: AdoptResult = { kept: [], started: [], stopped: [] };
    const bySlot = new Map<number, InstanceInfo>();
    const unwanted: { instance: InstanceInfo; why: string }[] = [];
    const unlabelled: InstanceInfo[] = [];
    for (const instance of instances) {
      const index = Number(instance.labels.slot);
      if (instance.status !== "running") unwanted.push({ instance, why: `it is ${instance.status}` });
      else if (instance.cwd && !sameFolder(instance.cwd, cwd)) unwanted.push({ instance, why: `it runs in ${instance.cwd}, not in the release's artifact` });
      else if (instance.labels.slot === undefined) unlabelled.push(instance);
      else if (!Number.isInteger(index) || index < 0 || index >= service.instances) unwanted.push({ instance, why: `slot ${instance.labels.slot} is not one of the ${service.instances} the release has` });
      else if (bySlot.has(index)) unwanted.push({ instance, why: `slot ${index} is filled by ${bySlot.get(index)!.id}` });
      else bySlot.set(index, instance);
    }
    // Instances started before slots were labelled fill the free slots in order.
    for (const instance of unlabelled) {
      const free = Array.from({ length: service.instances }, (_, i) => i).find((i) => !bySlot.has(i));
      if (free === undefined) unwanted.push({ instance, why: `all ${service.instances} slots of the release are filled` });
      else bySlot.set(free, instance);
    }
    const probes = await Promise.all(
      [...bySlot].map(async ([index, instance]) => {
        const outcome = await probeInstance(this.#options.runtime, instance, { path: service.health.path, timeoutMs: service.health.timeout });
        return { index, instance, ok: probePassed(outcome), detail: describeProbe(outcome) };
      }),
    );
    for (const p of probes) {
      if (p.ok) continue;
      bySlot.delete(p.index);
      unwanted.push({ instance: p.instance, why: `its health check failed: GET ${service.health.path}: ${p.detail}` });
    }
    await Promise.all(
      unwanted.map(async ({ instance, why }) => {
        await this.#options.runtime.stop(instance.id, { graceMs: service.release.stop_grace });
        this.#options.runtime.forget(instance.id);
        result.stopped.push({ id: instance.id, why });
      }),
    );
    try {
      for (let index = 0; index < service.instances; index++) {
        const adopted = bySlot.get(index);
        if (adopted) {
          this.#fill(group, index, adopted);
          result.kept.push(adopted);
        } else {
          const started = await this.#spawn(group, index, 0);
          this.#fill(group, index, started);
          result.started.push(started);
        }
      }
    } catch (error) {
      await this.stop(release.id, service.release.stop_grace);
      throw error;
    }
    group.slots.sort((a, b) => a.index - b.index);
    return result;
  }

  /** Health targets of the release's current instances. */
  targets(releaseId: string): HealthTarget[] {
    return (this.#groups.get(releaseId)?.slots ?? []).map((s) => ({ id: s.instance.id, host: s.instance.host, port: s.instance.port }));
  }

  /** Marks every running instance healthy after the health gate; from then on crashed or unhealthy ones are restarted, and health is checked all the time. */
  supervise(releaseId: string): void {
    const group = this.#groups.get(releaseId);
    if (!group || group.supervised) return;
    group.supervised = true;
    for (const slot of group.slots) {
      slot.healthy = slot.instance.status === "running";
      slot.failures = 0;
      if (slot.healthy) this.#keeper.checkHealth(group, slot);
    }
  }

  /** Upstreams the proxy may send traffic to: running instances in the rotation. */
  upstreams(releaseId: string): Upstream[] {
    return (this.#groups.get(releaseId)?.slots ?? [])
      .filter((s) => s.healthy && s.instance.status === "running")
      .map((s) => ({ host: s.instance.host, port: s.instance.port, instanceId: s.instance.id }));
  }

  /** The live health of each instance of the release (the watch's analysis reads it). */
  health(releaseId: string): InstanceHealth[] {
    return (this.#groups.get(releaseId)?.slots ?? []).map((s) => ({
      instanceId: s.instance.id,
      ok: s.healthy && s.instance.status === "running" && (s.lastProbe?.ok ?? true),
      detail: s.instance.status !== "running" ? `instance ${s.instance.status}` : s.restarting ? "restarting" : (s.lastProbe?.detail ?? "not probed yet"),
      failures: s.failures,
      peak: s.peak,
    }));
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

  /** Calls `listener` (after the `release.down` event) when a serving release has no instance left in the rotation. */
  onReleaseDown(listener: (releaseId: string) => void): () => void {
    this.#downListeners.add(listener);
    return () => void this.#downListeners.delete(listener);
  }

  /** Stops every instance of the release (SIGTERM, then SIGKILL after `graceMs`) and forgets it. */
  async stop(releaseId: string, graceMs: number): Promise<void> {
    const group = this.#groups.get(releaseId);
    if (!group) return;
    group.stopping = true;
    group.stopped.abort(new Error(`release ${releaseId} stopped`));
    await Promise.all(group.slots.map((slot) => this.#stopInstance(slot.instance, graceMs)));
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

  /**
   * Replaces every instance of a supervised release, one slot at a time: the new one starts and
   * passes its health check, joins the rotation, and only then the old one stops (a runbook's restart).
   */
  async restartAll(releaseId: string): Promise<{ replaced: string[]; started: string[] }> {
    const group = this.#supervisedGroup(releaseId);
    const result = { replaced: [] as string[], started: [] as string[] };
    for (const slot of [...group.slots]) {
      const fresh = await this.#healthySpawn(group, slot.index);
      const old = slot.instance;
      slot.probing?.abort();
      this.#byInstance.delete(old.id);
      Object.assign(slot, { instance: fresh, healthy: true, failures: 0, lastProbe: undefined });
      this.#byInstance.set(fresh.id, { group, slot });
      this.#options.onUpstreamsChanged(releaseId);
      this.#keeper.checkHealth(group, slot);
      await this.#stopInstance(old, group.service.release.stop_grace);
      result.replaced.push(old.id);
      result.started.push(fresh.id);
    }
    return result;
  }

  /**
   * Sets the number of instances of a supervised release: new slots start and pass their health
   * check before they join; removed ones leave the rotation, then stop. An override of this release
   * only (its next release, or an engine start, has the declared `instances` again).
   */
  async scale(releaseId: string, count: number): Promise<{ from: number; started: string[]; stopped: string[] }> {
    const group = this.#supervisedGroup(releaseId);
    const from = group.slots.length;
    const started: string[] = [];
    for (let index = from; index < count; index++) {
      const fresh = await this.#healthySpawn(group, index);
      this.#fill(group, index, fresh);
      const slot = group.slots.at(-1)!;
      slot.healthy = true;
      this.#keeper.checkHealth(group, slot);
      started.push(fresh.id);
    }
    const removed = group.slots.splice(Math.max(count, 0));
    for (const slot of removed) slot.probing?.abort();
    group.service = { ...group.service, instances: count };
    if (started.length || removed.length) this.#options.onUpstreamsChanged(releaseId);
    await Promise.all(removed.map((slot) => this.#stopInstance(slot.instance, group.service.release.stop_grace)));
    return { from, started, stopped: removed.map((s) => s.instance.id) };
  }

  #supervisedGroup(releaseId: string): Group {
    const group = this.#groups.get(releaseId);
    if (!group || !group.supervised || group.stopping) throw new EngineError("RELEASE_NOT_FOUND", `Release ${releaseId} has no supervised instances here.`);
    return group;
  }

  async #healthySpawn(group: Group, index: number): Promise<InstanceInfo> {
    const fresh = await this.#spawn(group, index, 0);
    const outcome = await waitHealthy(fresh, group.service.health, this.#options.clock, group.stopped.signal, this.#options.runtime);
    if (outcome.healthy) return fresh;
    await this.#stopInstance(fresh, 1000);
    throw new EngineError("DEPLOY_HEALTH_TIMEOUT", `The new instance ${fresh.id} did not pass its health check: ${outcome.reason}`);
  }

  /** Stops every release's instances; for engine shutdown. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.#groups.keys()].map((id) => this.stop(id, graceMs)));
    this.#unsubscribe();
  }

  /**
   * Lets go of every release without stopping its instances (they outlive this engine, and the next
   * one adopts them): health checks and restart backoffs end, exits are no longer watched.
   */
  detach(): void {
    this.#unsubscribe();
    for (const group of this.#groups.values()) {
      group.stopping = true;
      group.stopped.abort(new Error("the supervisor let go"));
    }
    this.#groups.clear();
    this.#byInstance.clear();
  }

  #newGroup(release: Release, service: ServiceConfig, cwd: string, env: Record<string, string>): Group {
    const group: Group = { release, service, cwd, env, slots: [], supervised: false, stopping: false, down: false, stopped: new AbortController(), crashListeners: new Set() };
    // One listener per slot's health loop (up to 64 instances): not a leak, so no MaxListenersExceededWarning.
    setMaxListeners(0, group.stopped.signal);
    this.#groups.set(release.id, group);
    return group;
  }

  #fill(group: Group, index: number, instance: InstanceInfo): void {
    const slot: Slot = { index, instance, healthy: false, failures: 0, peak: undefined, lastProbe: undefined, crashes: [], restarting: false, probing: undefined };
    group.slots.push(slot);
    this.#byInstance.set(instance.id, { group, slot });
  }

  async #stopInstance(instance: InstanceInfo, graceMs: number): Promise<void> {
    await this.#options.runtime.stop(instance.id, { graceMs });
    this.#options.runtime.forget(instance.id);
    this.#byInstance.delete(instance.id);
  }

  async #spawn(group: Group, index: number, attempt: number): Promise<InstanceInfo> {
    const { runtime, environment } = this.#options;
    const port = await runtime.allocatePort();
    const base = `${group.release.service}-${environment}-v${group.release.number}-${index + 1}${attempt ? `-r${attempt}` : ""}`;
    // An adopted instance may carry the id this slot would get now: never reuse one the runtime knows.
    const known = new Set(runtime.list().map((i) => i.id));
    let id = base;
    for (let n = 2; known.has(id); n++) id = `${base}-${n}`;
    return runtime.start({
      id,
      service: group.release.service,
      releaseId: group.release.id,
      command: group.service.run,
      cwd: group.cwd,
      env: group.env,
      port,
      labels: { environment, slot: String(index) },
    });
  }

  #onExit(exit: ExitInfo): void {
    const entry = this.#byInstance.get(exit.id);
    if (!entry || exit.expected) return;
    const { group, slot } = entry;
    if (slot.instance.id !== exit.id) return;
    slot.instance = { ...slot.instance, status: "exited", exitCode: exit.code, signal: exit.signal };
    slot.probing?.abort();
    if (group.stopping) return;
    const wasHealthy = slot.healthy;
    slot.healthy = false;
    if (!group.supervised) {
      for (const listener of group.crashListeners) listener(exit, slot);
      return;
    }
    void this.#keeper.handleCrash(group, slot, exit, wasHealthy);
  }

}

/** Two paths name the same folder (a runtime may report the resolved path of a link). */
function sameFolder(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
