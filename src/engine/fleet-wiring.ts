/**
 * `runtime: ssh`: the engine attaches to every host's data-plane daemon (through its control socket:
 * a local one, or one forwarded by ssh), gives the runtime a channel to each host's agent, and gives
 * each environment a FleetProxy: the hosts' proxies behind the environment's own proxy as front door.
 */
import { join } from "node:path";
import type { EnvironmentConfig } from "../config/index.js";
import { EngineError, type Logger } from "../core/index.js";
import { DataPlane, FleetProxy } from "../dataplane/index.js";
import type { Proxy } from "../proxy/index.js";
import { FleetRuntime, type RuntimeConfig, type Runtime, type SshHostConfig } from "../runtime/index.js";

export interface Fleet {
  planes: Map<string, DataPlane>;
  hosts: SshHostConfig[];
  proxyListen: string;
}

/** Attaches to each declared host's daemon; undefined for a runtime that is not `ssh`. */
export async function attachFleet(settings: RuntimeConfig, stateDir: string, logger: Logger): Promise<Fleet | undefined> {
  if (settings.type !== "ssh") return undefined;
  const planes = new Map<string, DataPlane>();
  try {
    for (const host of settings.hosts) {
      const plane = await DataPlane.attach({
        stateDir: join(stateDir, "hosts", host.name),
        socket: host.control_socket,
        start: false,
        reconnectMs: settings.reconnect_ms,
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
  return { planes, hosts: settings.hosts, proxyListen: settings.proxy_listen };
}

/** The channel to a host's agent, for the runtime registry. */
export function agentChannel(fleet: Fleet | undefined) {
  return fleet ? (host: SshHostConfig) => fleet.planes.get(host.name)! : undefined;
}

/** An environment's proxy: the engine's own (`front`) alone, or in front of the hosts' proxies. */
export function environmentProxy(fleet: Fleet | undefined, runtime: Runtime, front: Proxy, config: EnvironmentConfig, logger: Logger): Proxy {
  if (!fleet || !(runtime instanceof FleetRuntime)) return front;
  return new FleetProxy({
    front,
    hostOf: (id) => runtime.hostOf(id)?.name,
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
  reachable: boolean;
  /** 1, 5 and 15 minute load averages (when reachable). */
  load?: [number, number, number];
  freeDiskBytes?: number;
  running?: number;
  error?: string;
}

/** The hosts of a `runtime: ssh` engine with their facts (each asked with a bound: a lost host answers `reachable: false`). */
export async function hostsStatus(runtime: Runtime, timeoutMs = 3_000): Promise<HostStatus[] | undefined> {
  if (!(runtime instanceof FleetRuntime)) return undefined;
  return Promise.all(
    runtime.hosts.map(async (host): Promise<HostStatus> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
      try {
        const facts = await Promise.race([host.runtime.facts(), late]);
        return { name: host.name, reachable: true, load: facts.load, freeDiskBytes: facts.freeDiskBytes, running: facts.running };
      } catch (error) {
        return { name: host.name, reachable: false, error: (error as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
