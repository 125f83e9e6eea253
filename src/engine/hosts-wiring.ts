/**
 * An environment's declared ssh hosts (`environments.<env>.runtime: ssh`, `hosts:`) as the engine
 * uses them: ssh targets with their keys from the secret store and their pinned known_hosts, and each
 * host's data-plane control socket forwarded to a local socket, in the shape of the ssh runtime's
 * hosts (`{ name, address, labels, control_socket }`).
 */
import { join } from "node:path";
import type { EnvironmentHosts, LoadedProject } from "../config/index.js";
import { EngineError, redactor, type Logger } from "../core/index.js";
import { forwardHosts, prepareHosts, type ForwardedHost, type PreparedHost } from "../hosts/index.js";
import type { SshHostConfig } from "../runtime/index.js";
import { providerFor } from "../secrets/index.js";
import { secretProviders } from "./engine.js";

/** Every ssh host of the project (or of `only`), ready for ssh: key files written owner-only, known_hosts pinned. */
export async function prepareEnvironmentHosts(project: LoadedProject, only?: string): Promise<PreparedHost[]> {
  const environments = project.config.environments;
  if (only !== undefined && !environments.some((e) => e.name === only)) {
    throw new EngineError("ENVIRONMENT_UNKNOWN", `There is no environment ${only}.`, { details: { environment: only } });
  }
  const secrets = secretProviders(project);
  const prepared: PreparedHost[] = [];
  for (const env of environments) {
    if ((only !== undefined && env.name !== only) || env.runtime !== "ssh") continue;
    const fleet: EnvironmentHosts = { runtime: "ssh", hosts: env.hosts ?? {}, known_hosts: env.known_hosts, trust_on_first_use: env.trust_on_first_use ?? false };
    prepared.push(
      ...(await prepareHosts(env.name, fleet, {
        dir: join(project.stateDir, "hosts", env.name),
        projectDir: project.dir,
        readKey: async (ref) => {
          const key = await providerFor(secrets, ref.provider).provider.get(ref.secret);
          // Line by line too: a part of the key that leaks into some output is caught as well.
          for (const line of key?.split("\n") ?? []) if (!line.startsWith("-----")) redactor.add(ref.secret, line.trim());
          if (key) redactor.add(ref.secret, key);
          return key;
        },
      })),
    );
  }
  return prepared;
}

export interface ForwardedEnvironment {
  /** The hosts as the ssh runtime takes them (`runtime: { type: ssh, hosts }`), control_socket forwarded, proxy_listen the environment's host_proxy_listen. */
  hosts: SshHostConfig[];
  forwarded: ForwardedHost[];
  /** The same hosts as ssh reaches them (target, state folder on the host), in the same order. */
  prepared: PreparedHost[];
  /** Stops forwarding; the hosts' daemons keep serving. */
  close(): Promise<void>;
}

/**
 * Forwards the control socket of each host of `environment` (supervised: restarted when lost). With
 * `wait` (default true) it resolves once every forwarding is up, or rejects with the host's
 * HOST_UNREACHABLE / HOST_KEY_MISMATCH.
 */
export async function forwardEnvironmentHosts(project: LoadedProject, environment: string, options: { logger?: Logger; wait?: boolean; timeoutMs?: number } = {}): Promise<ForwardedEnvironment> {
  const prepared = await prepareEnvironmentHosts(project, environment);
  const forwarded = await forwardHosts(prepared, join(project.stateDir, "hosts", environment), options);
  const proxyListen = project.config.environments.find((e) => e.name === environment)?.host_proxy_listen;
  return {
    hosts: forwarded.map((f, i) => ({ name: f.name, address: prepared[i]!.target.address, labels: f.labels, control_socket: f.controlSocket, ...(proxyListen ? { proxy_listen: proxyListen } : {}) })),
    forwarded,
    prepared,
    close: async () => void (await Promise.all(forwarded.map((f) => f.close()))),
  };
}
