import { EngineError, toEngineError } from "../../core/index.js";
import type { ExitInfo, InstanceInfo, InstanceProbe, InstanceSpec, InstanceUsage, ProbeResult, Runtime, StopOptions } from "../types.js";
import type { RemoteRuntime } from "./remote-runtime.js";

export interface FleetHost {
  name: string;
  labels: Record<string, string>;
  runtime: RemoteRuntime;
  /**
   * Where the engine reaches the host (its `address`). An instance whose agent reports a loopback
   * address (the daemon runs without ENGINEROOM_AGENT_HOST) is reached there instead.
   */
  address?: string;
  /**
   * Puts the artifact of `digest` (the engine's folder `folder`) on the host, once by digest, and
   * resolves with its folder there. Without it the host's agent copies it from `folder`
   * (`artifact.ensure`: a path the host reads, the same machine or a shared file system).
   */
  ship?: (digest: string, folder: string) => Promise<string>;
}

/** Which hosts may run a service: the labels they must all have (none: every host). */
export type Placement = Record<string, { labels: Record<string, string> }> | ((service: string) => Record<string, string> | undefined);

/**
 * The runtime of `runtime: ssh`: one RemoteRuntime per host, behind the one Runtime interface. An
 * instance's host is chosen by its slot (`labels.slot`): slot i of a service goes to host i mod n of
 * the hosts its placement allows, so `instances: 6` over 3 hosts is 2 per host. Each instance carries
 * its host's name as `labels.host`. A host that fails a request fails it with FLEET_HOST_FAILED,
 * naming the host.
 */
export class FleetRuntime implements Runtime {
  readonly kind = "ssh";
  readonly hosts: readonly FleetHost[];
  readonly #placement: (service: string) => Record<string, string> | undefined;
  /** Ports handed out by allocatePort, with the host they are free on. */
  readonly #allocated = new Map<number, string>();
  /** Artifacts on each host (`<host>\0<hex>`): their folder there, or the shipping under way. */
  readonly #artifacts = new Map<string, Promise<string>>();
  /** `min_hosts`: how many of a service's hosts must run it; undefined: all of them. */
  readonly minHosts: number | undefined;
  /** By release: the hosts passed over because they did not answer (host → why). */
  readonly #passedOver = new Map<string, Map<string, string>>();

  constructor(hosts: FleetHost[], placement: Placement = {}, options: { minHosts?: number | undefined } = {}) {
    this.hosts = hosts;
    this.#placement = typeof placement === "function" ? placement : (service) => placement[service]?.labels;
    this.minHosts = options.minHosts;
  }

  /** The hosts passed over (they did not answer) when the release's instances started, with why: its instances run on the others. */
  passedOver(releaseId: string): { host: string; reason: string }[] {
    return [...(this.#passedOver.get(releaseId) ?? [])].map(([host, reason]) => ({ host, reason }));
  }

  /** The hosts a service may run on, in declared order. */
  hostsFor(service: string): FleetHost[] {
    const wanted = Object.entries(this.#placement(service) ?? {});
    return this.hosts.filter((h) => wanted.every(([k, v]) => h.labels[k] === v));
  }

  hostOf(instanceId: string): FleetHost | undefined {
    return this.hosts.find((h) => h.runtime.list().some((i) => i.id === instanceId));
  }

  /** Where the instance's own host reaches it (the address its agent reports, loopback included): what that host's proxy dials. */
  addressOnHost(instanceId: string): string | undefined {
    for (const host of this.hosts) {
      const info = host.runtime.list().find((i) => i.id === instanceId);
      if (info) return info.host;
    }
    return undefined;
  }

  async allocatePort(): Promise<number> {
    // With min_hosts, the next host gives one when the first does not answer.
    const spare = this.hosts.length - Math.min(this.minHosts ?? this.hosts.length, this.hosts.length);
    for (const [i, host] of this.hosts.entries()) {
      try {
        const port = await this.#on(host, () => host.runtime.allocatePort());
        this.#allocated.set(port, host.name);
        return port;
      } catch (error) {
        if (i >= spare) throw error;
      }
    }
    throw new EngineError("INTERNAL", "No host to allocate a port on.");
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const eligible = this.hostsFor(spec.service);
    if (eligible.length === 0) {
      throw new EngineError("DEPLOY_START_FAILED", `No host may run ${spec.service}: none has the labels its placement asks for.`, {
        hint: `Give hosts the labels the service's placement names (services.${spec.service}.placement.labels, or runtime.placement.${spec.service}.labels), or change the placement.`,
      });
    }
    const slot = Number(spec.labels?.slot ?? 0);
    const first = (Number.isInteger(slot) && slot >= 0 ? slot : 0) % eligible.length;
    // With min_hosts, a host that does not answer is passed over for the next one, up to (hosts − min_hosts) hosts per release.
    const spare = eligible.length - Math.min(this.minHosts ?? eligible.length, eligible.length);
    const passed = this.#passedOver.get(spec.releaseId) ?? new Map<string, string>();
    // The artifact goes to every host the service may run on at once (each once by digest), not host by host as slots start.
    for (const host of eligible) this.#shipped(host, spec.cwd).catch(() => undefined);
    for (const host of [...eligible.slice(first), ...eligible.slice(0, first)]) {
      if (passed.has(host.name)) continue;
      try {
        return await this.#startOn(host, spec);
      } catch (error) {
        if (toEngineError(error).code !== "FLEET_HOST_FAILED" || passed.size >= spare) throw error;
        passed.set(host.name, toEngineError(error).message);
        this.#passedOver.set(spec.releaseId, passed);
      }
    }
    throw new EngineError("FLEET_HOST_FAILED", `No host that may run ${spec.service} answered: ${this.passedOver(spec.releaseId).map((h) => h.host).join(", ")}.`, { details: { hosts: [...passed.keys()] } });
  }

  async #startOn(host: FleetHost, spec: InstanceSpec): Promise<InstanceInfo> {
    const allocatedOn = this.#allocated.get(spec.port);
    this.#allocated.delete(spec.port);
    // A port is free on the host it was allocated on; another host gives its own.
    const port = allocatedOn === host.name ? spec.port : await this.#on(host, () => host.runtime.allocatePort());
    const cwd = await this.#on(host, () => this.#shipped(host, spec.cwd));
    const labels = { ...spec.labels, host: host.name, ...(cwd !== spec.cwd ? { [cwdLabel]: spec.cwd } : {}) };
    return asEngineSees(host, await this.#on(host, () => host.runtime.start({ ...spec, cwd, port, labels })));
  }

  /**
   * The folder an instance runs in on `host`: an artifact of the engine's store (`…/sha256/<hex>/…`)
   * is shipped to the host once by digest (verified there) and the instance runs in the host's copy.
   */
  async #shipped(host: FleetHost, cwd: string): Promise<string> {
    const match = /^(.*\/sha256\/([0-9a-f]{64}))(\/.*)?$/.exec(cwd);
    if (!match) return cwd;
    const [, root, hex, rest] = match;
    const key = `${host.name}\0${hex}`;
    let shipping = this.#artifacts.get(key);
    if (!shipping) {
      shipping = host.ship ? host.ship(`sha256:${hex}`, root!) : host.runtime.ensureArtifact(`sha256:${hex}`, root!).then((r) => r.path);
      this.#artifacts.set(key, shipping);
      shipping.catch(() => this.#artifacts.delete(key));
    }
    return (await shipping) + (rest ?? "");
  }

  stop(id: string, options?: StopOptions): Promise<ExitInfo> {
    const host = this.#tracking(id);
    return this.#on(host, () => host.runtime.stop(id, options));
  }

  logs(id: string, options?: { lines?: number }): Promise<string[]> {
    const host = this.hostOf(id);
    return host ? this.#on(host, () => host.runtime.logs(id, options)) : Promise.resolve([]);
  }

  /** The instance's host's agent probes it there. */
  async probe(id: string, request: InstanceProbe): Promise<ProbeResult> {
    const host = this.#tracking(id);
    return this.#on(host, () => host.runtime.probe(id, request));
  }

  onExit(listener: (exit: ExitInfo) => void): () => void {
    const offs = this.hosts.map((h) => h.runtime.onExit(listener));
    return () => offs.forEach((off) => off());
  }

  list(): InstanceInfo[] {
    return this.hosts.flatMap((h) => h.runtime.list().map((i) => asEngineSees(h, i)));
  }

  async usage(): Promise<Map<string, InstanceUsage>> {
    const all = new Map<string, InstanceUsage>();
    const each = await Promise.allSettled(this.hosts.map((h) => h.runtime.usage()));
    for (const result of each) if (result.status === "fulfilled") for (const [id, u] of result.value) all.set(id, u);
    return all;
  }

  forget(id: string): void {
    this.hostOf(id)?.runtime.forget(id);
  }

  /** What runs on every host that answers; a host that does not is skipped (its instances are adopted when it is back). */
  async adopt(): Promise<InstanceInfo[]> {
    const each = await Promise.allSettled(this.hosts.map((h) => h.runtime.adopt()));
    return each.flatMap((r, i) => (r.status === "fulfilled" ? r.value.map((info) => asEngineSees(this.hosts[i]!, info)) : []));
  }

  close(): void {
    for (const host of this.hosts) host.runtime.close();
  }

  #tracking(id: string): FleetHost {
    const host = this.hostOf(id);
    if (!host) throw new EngineError("INTERNAL", `No host of the fleet runs instance ${id}.`);
    return host;
  }

  async #on<T>(host: FleetHost, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const e = toEngineError(error);
      if (e.code !== "DATAPLANE_UNAVAILABLE") throw e;
      throw new EngineError("FLEET_HOST_FAILED", `Host ${host.name} did not answer: ${e.message}`, { cause: error, details: { host: host.name } });
    }
  }
}

/** The label that keeps the folder an instance was asked to run in, when it runs in its host's copy of it. */
const cwdLabel = "artifact-cwd";

const loopback = /^(127\.|::1$|localhost$)/;

/** An instance as the engine knows it: in the artifact folder of the engine's store it was started from, at an address the engine reaches. */
function asEngineSees(host: FleetHost, info: InstanceInfo): InstanceInfo {
  const asked = info.labels[cwdLabel];
  const seen = asked ? { ...info, cwd: asked } : info;
  return host.address && loopback.test(info.host) && !loopback.test(host.address) ? { ...seen, host: host.address } : seen;
}
