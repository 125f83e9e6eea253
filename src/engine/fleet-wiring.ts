/**
 * Runtimes per environment. An environment with `runtime: ssh` and `hosts:` gets a fleet of its own:
 * the engine forwards each host's data-plane control socket over ssh, attaches to every daemon, and
 * runs the environment's instances on those hosts; the others share the project's `runtime:` (local
 * by default, or a project-level `runtime: { type: ssh }` fleet reached through `control_socket`s).
 * Either fleet gives its environment a FleetProxy: the hosts' proxies behind the environment's own
 * proxy as front door.
 */
import { join } from "node:path";
import type { EnvironmentConfig, LoadedProject } from "../config/index.js";
import { EngineError, silentLogger, toEngineError, type Clock, type Logger } from "../core/index.js";
import { DataPlane, FleetProxy } from "../dataplane/index.js";
import type { MetricsBucket, Proxy, Route, SwitchResult } from "../proxy/index.js";
import {
  CompositeRuntime,
  createRuntime,
  FleetRuntime,
  sshRuntimeOptions,
  UnattachedRuntime,
  type Runtime,
  type RuntimeConfig,
  type RuntimeContext,
  type SshHostConfig,
} from "../runtime/index.js";
import { shipArtifact } from "../hosts/index.js";
import { forwardEnvironmentHosts } from "./hosts-wiring.js";

type SshSettings = Extract<RuntimeConfig, { type: "ssh" }>;

/** A fleet the engine is attached to: every host's daemon, and the runtime over them. */
export interface Fleet {
  /** The environment whose own hosts these are; undefined for the project-level `runtime: { type: ssh }`. */
  environment: string | undefined;
  runtime: FleetRuntime;
  planes: Map<string, DataPlane>;
  hosts: SshHostConfig[];
  proxyListen: string;
  /** The ssh runtime's settings it was made with (the project's `runtime:`, or made from the environment's keys). */
  settings: SshSettings;
  /** Lets go of the hosts (their daemons keep serving): the runtime's connections, then the ssh forwarding. */
  close(): Promise<void>;
}

/**
 * Attaches to each host's daemon through its `control_socket` (FLEET_HOST_FAILED names the host
 * that does not answer) and makes the ssh runtime over them.
 */
export async function attachFleet(settings: SshSettings, context: RuntimeContext & { environment?: string; onClose?: () => Promise<void> }): Promise<Fleet> {
  const logger = context.logger ?? silentLogger;
  const dir = join(context.stateDir, "hosts", ...(context.environment ? [context.environment] : []));
  const planes = new Map<string, DataPlane>();
  try {
    for (const host of settings.hosts) {
      const plane = await DataPlane.attach({
        stateDir: join(dir, host.name),
        socket: host.control_socket,
        start: false,
        reconnectMs: settings.reconnect_ms,
        quickRequestMs: settings.request_timeout_ms,
        logger: logger.child({ component: "host", host: host.name }),
      }).catch((error) => {
        throw new EngineError("FLEET_HOST_FAILED", `Host ${host.name} did not answer at ${host.control_socket}: ${(error as Error).message}`, { cause: error, details: { host: host.name } });
      });
      planes.set(host.name, plane);
    }
  } catch (error) {
    for (const plane of planes.values()) plane.close();
    throw error;
  }
  const runtime = createRuntime(settings, { ...context, agentChannel: (host) => planes.get(host.name)! }) as FleetRuntime;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      runtime.close();
      await context.onClose?.();
    })());
  return { environment: context.environment, runtime, planes, hosts: settings.hosts, proxyListen: settings.proxy_listen, settings, close };
}

/** How long `Engine.start` waits for an environment's ssh forwarding to come up, per host. */
const forwardTimeoutMs = 15_000;

/**
 * The fleet of an environment with `runtime: ssh`: each declared host's control socket forwarded
 * over ssh (keys from the secrets, host keys pinned), every daemon attached, instances placed by
 * the services' `placement` (read from `configOf`, so an apply counts).
 */
async function environmentFleet(project: LoadedProject, env: EnvironmentConfig, context: RuntimeContext & { configOf: (environment: string) => EnvironmentConfig | undefined }): Promise<Fleet> {
  const forwarded = await forwardEnvironmentHosts(project, env.name, { logger: context.logger, timeoutMs: forwardTimeoutMs });
  try {
    const settings = { type: "ssh" as const, ...sshRuntimeOptions.parse({ hosts: forwarded.hosts, proxy_listen: env.host_proxy_listen, min_hosts: env.min_hosts, request_timeout_ms: env.request_timeout_ms, reconnect_ms: env.reconnect_ms }) };
    return await attachFleet(settings, {
      ...context,
      environment: env.name,
      onClose: forwarded.close,
      placement: (service) => (context.configOf(env.name) ?? env).services[service]?.placement?.labels,
      // Artifacts go over ssh, once per host by digest (the host's agent verifies them).
      ship: (host, agent) => {
        const to = forwarded.prepared.find((p) => p.name === host.name)!;
        return (digest, folder) => shipArtifact({ target: to.target, remoteStateDir: to.stateDir, digest, folder, agent }).then((r) => r.path);
      },
    });
  } catch (error) {
    await forwarded.close();
    throw error;
  }
}

/** Every runtime of the engine, by environment. */
export interface EngineRuntimes {
  /** Each environment's runtime, by name. */
  of(environment: string): Runtime;
  /** All of them as one (adoption, drift, usage, status, logs): the one runtime when every environment shares it. */
  all: Runtime;
  /** The fleets the engine is attached to (the project-level one and the environments' own). */
  fleets: Fleet[];
  /** Why an environment runs nothing: its hosts did not all answer at start (undefined when they did, or it has none). */
  unattached(environment: string): EngineError | undefined;
  /** An environment's proxy: its own (`front`) alone, or in front of its hosts' proxies. */
  proxy(config: EnvironmentConfig, front: Proxy): Proxy;
  /**
   * Attaches an environment that started unattached, now that its hosts answer (after `hosts
   * bootstrap`): its runtime and its proxy become the fleet's. Rejects as at start when they still do not.
   */
  attach(environment: string): Promise<Fleet>;
}

/**
 * Makes the project's runtime and each ssh environment's fleet. A project-level ssh host that does
 * not answer fails the start (FLEET_HOST_FAILED); an ssh environment whose hosts do not all answer
 * (not bootstrapped yet, unreachable, a refused key) starts unattached: it runs nothing and says
 * why, so that `hosts check|bootstrap` can be run through this engine, and `attach` makes it the
 * fleet's once they answer.
 */
export async function wireRuntimes(
  project: LoadedProject,
  settings: RuntimeConfig,
  context: { clock: Clock; logger: Logger; configOf: (environment: string) => EnvironmentConfig | undefined },
): Promise<EngineRuntimes> {
  const base = { stateDir: project.stateDir, clock: context.clock, logger: context.logger };
  const projectFleet = settings.type === "ssh" ? await attachFleet(settings, base) : undefined;
  const projectRuntime = projectFleet?.runtime ?? createRuntime(settings, base);
  const fleets = projectFleet ? [projectFleet] : [];
  const byEnvironment = new Map<string, Runtime>();
  const fleetOf = new Map<string, Fleet>();
  const unattached = new Map<string, EngineError>();
  const waiting = new Map<string, { runtime: UnattachedRuntime; proxy?: FrontUntilAttached }>();
  for (const env of project.config.environments) {
    if (env.runtime !== "ssh") {
      byEnvironment.set(env.name, projectRuntime);
      if (projectFleet) fleetOf.set(env.name, projectFleet);
      continue;
    }
    try {
      const fleet = await environmentFleet(project, env, { ...base, configOf: context.configOf });
      fleets.push(fleet);
      fleetOf.set(env.name, fleet);
      byEnvironment.set(env.name, fleet.runtime);
    } catch (error) {
      const cause = toEngineError(error);
      const reason = new EngineError(cause.code === "INTERNAL" ? "FLEET_HOST_FAILED" : cause.code, `Environment ${env.name} runs nothing: its hosts did not all answer when the engine started. ${cause.message}`, {
        cause: error,
        details: { ...cause.details, environment: env.name },
        hint: `Check and prepare its hosts: \`engineroom hosts check --env ${env.name}\`, then \`engineroom hosts bootstrap --env ${env.name}\`, which attaches the environment once every host is ready.`,
      });
      context.logger.warn("an environment's hosts did not all answer; it runs nothing until they are bootstrapped", { environment: env.name, error: cause.message });
      unattached.set(env.name, reason);
      const runtime = new UnattachedRuntime(reason, Object.keys(env.hosts ?? {}));
      waiting.set(env.name, { runtime });
      byEnvironment.set(env.name, runtime);
    }
  }
  const distinct = new Set([projectRuntime, ...byEnvironment.values()]);
  return {
    of: (environment) => byEnvironment.get(environment) ?? projectRuntime,
    all: distinct.size === 1 ? projectRuntime : new CompositeRuntime(byEnvironment, [projectRuntime]),
    fleets,
    unattached: (environment) => unattached.get(environment),
    proxy: (config, front) => {
      const later = waiting.get(config.name);
      if (later) return (later.proxy = new FrontUntilAttached(front));
      return environmentProxy(fleetOf.get(config.name), front, config, context.logger);
    },
    attach: async (name) => {
      const later = waiting.get(name);
      const env = context.configOf(name) ?? project.config.environments.find((e) => e.name === name);
      if (!later || !env) throw new EngineError("INTERNAL", `Environment ${name} is not waiting for its hosts.`);
      const fleet = await environmentFleet(project, env, { ...base, configOf: context.configOf });
      fleets.push(fleet);
      fleetOf.set(name, fleet);
      waiting.delete(name);
      unattached.delete(name);
      later.runtime.attach(fleet.runtime);
      later.proxy?.attach(environmentProxy(fleet, later.proxy.front, env, context.logger));
      return fleet;
    },
  };
}

/**
 * The proxy of an environment that waits for its hosts: its own proxy (the front door, serving the
 * table it kept) until `attach` puts the fleet's proxy in its place. It shows no routes until then,
 * so that the engine takes the hosts' tables over when it attaches, not the front door's.
 */
class FrontUntilAttached implements Proxy {
  readonly front: Proxy;
  #current: Proxy;
  #attached = false;
  readonly #listeners = new Map<(buckets: MetricsBucket[]) => void, () => void>();

  constructor(front: Proxy) {
    this.front = front;
    this.#current = front;
  }

  /** The proxy in force: the front door alone, or the fleet's once attached. */
  get inForce(): Proxy {
    return this.#current;
  }

  attach(proxy: Proxy): void {
    this.#current = proxy;
    this.#attached = true;
    for (const [listener, off] of this.#listeners) {
      off();
      this.#listeners.set(listener, proxy.onMetrics(listener));
    }
  }

  start(): Promise<{ host: string; port: number }> {
    return this.#current.start();
  }

  apply(routes: Route[]): Promise<SwitchResult> {
    return this.#current.apply(routes);
  }

  inFlight(releaseId: string): Promise<number> {
    return this.#current.inFlight(releaseId);
  }

  onMetrics(listener: (buckets: MetricsBucket[]) => void): () => void {
    this.#listeners.set(listener, this.#current.onMetrics(listener));
    return () => {
      this.#listeners.get(listener)?.();
      this.#listeners.delete(listener);
    };
  }

  stop(graceMs?: number): Promise<void> {
    return this.#current.stop(graceMs);
  }

  routes(): Route[] {
    return this.#attached ? this.#current.routes() : [];
  }

  listener(): ReturnType<Proxy["listener"]> {
    return this.#current.listener();
  }
}

/** An environment's proxy: the engine's own (`front`) alone, or in front of the hosts' proxies. */
function environmentProxy(fleet: Fleet | undefined, front: Proxy, config: EnvironmentConfig, logger: Logger): Proxy {
  if (!fleet) return front;
  return new FleetProxy({
    front,
    hostOf: (id) => fleet.runtime.hostOf(id)?.name,
    addressOnHost: (id) => fleet.runtime.addressOnHost(id),
    minHosts: fleet.runtime.minHosts,
    passedOver: (releaseId) => fleet.runtime.passedOver(releaseId),
    logger: logger.child({ environment: config.name }),
    hosts: fleet.hosts.map((host) => ({
      name: host.name,
      address: host.address,
      proxy: fleet.planes.get(host.name)!.proxy({ environment: config.name, listen: host.proxy_listen ?? fleet.proxyListen, workers: config.proxy.workers, upstreamTimeoutMs: 60_000 }),
    })),
  });
}

/** One host as `status` shows it. */
export interface HostStatus {
  name: string;
  /** The environment whose own host it is (`environments.<env>.hosts`); absent for the project-level `runtime: ssh`. */
  environment?: string;
  reachable: boolean;
  /** 1, 5 and 15 minute load averages (when reachable). */
  load?: [number, number, number];
  freeDiskBytes?: number;
  running?: number;
  error?: string;
}

/**
 * The hosts of the engine's fleets with their facts (each asked with a bound: a lost host answers
 * `reachable: false`); undefined when no environment runs on hosts.
 */
export async function hostsStatus(runtime: Runtime, timeoutMs = 3_000): Promise<HostStatus[] | undefined> {
  const parts = runtime instanceof CompositeRuntime ? runtime.parts.map((r) => [r, runtime.environmentsOf(r)] as const) : [[runtime, []] as const];
  const hosts: Promise<HostStatus>[] = [];
  for (const [part, environments] of parts) {
    const environment = environments.length === 1 ? { environment: environments[0]! } : {};
    const fleet = part instanceof UnattachedRuntime ? part.inner : part;
    if (fleet instanceof FleetRuntime) hosts.push(...fleet.hosts.map((host) => hostFacts(host, environment, timeoutMs)));
    else if (part instanceof UnattachedRuntime) hosts.push(...part.hosts.map(async (name) => ({ name, ...environment, reachable: false, error: part.reason.message })));
  }
  return hosts.length > 0 ? Promise.all(hosts) : undefined;
}

async function hostFacts(host: FleetRuntime["hosts"][number], environment: { environment?: string }, timeoutMs: number): Promise<HostStatus> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
  try {
    const facts = await Promise.race([host.runtime.facts(), late]);
    return { name: host.name, ...environment, reachable: true, load: facts.load, freeDiskBytes: facts.freeDiskBytes, running: facts.running };
  } catch (error) {
    return { name: host.name, ...environment, reachable: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
