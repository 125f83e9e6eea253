/**
 * A declared ssh host as the fleet reaches it: `{ name, controlSocket, labels }`, where
 * `controlSocket` is a local Unix socket forwarded to the data-plane daemon's control socket on the
 * host, so that the DataPlane client talks to a remote daemon exactly as to a local one.
 */
import { join } from "node:path";
import { dataPlanePaths } from "../dataplane/index.js";
import type { Logger } from "../core/index.js";
import { SocketForward } from "./forward.js";
import type { SshTarget } from "./ssh.js";
import type { PreparedHost } from "./targets.js";

/** What the fleet needs of a host: its name, a local path to its daemon's control socket, its labels. */
export interface ReachableHost {
  name: string;
  /** A local Unix socket path; connecting to it reaches the daemon on the host. */
  controlSocket: string;
  labels: Record<string, string>;
}

export interface ForwardedHost extends ReachableHost {
  /**
   * A local state folder whose `dataplane/control.sock` is the forwarded socket:
   * `DataPlane.attach({ stateDir: localStateDir, start: false })` works unchanged.
   */
  localStateDir: string;
  forward: SocketForward;
  /** Stops forwarding (the daemon on the host keeps running). */
  close(): Promise<void>;
}

export interface ForwardHostOptions {
  target: SshTarget;
  labels?: Record<string, string>;
  /** The data-plane state folder on the host (`state_dir`). */
  remoteStateDir: string;
  /** A local folder of the engine's for this host's forwarded socket (e.g. `.engineroom/hosts/<name>`). */
  localDir: string;
  logger?: Logger;
  /** Resolve only once the forwarding is up (rejecting with the HOST_* error after `timeoutMs`). Default true. */
  wait?: boolean;
  timeoutMs?: number;
}

/** Forwards the host's daemon control socket to a local socket, supervised (restarted when lost). */
export async function forwardControlSocket(options: ForwardHostOptions): Promise<ForwardedHost> {
  const localStateDir = join(options.localDir, "forward");
  const forwardOptions = {
    target: options.target,
    localSocket: dataPlanePaths(localStateDir).socket,
    remoteSocket: dataPlanePaths(options.remoteStateDir).socket,
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const forward = options.wait === false ? new SocketForward(forwardOptions) : await SocketForward.open({ ...forwardOptions, timeoutMs: options.timeoutMs ?? 30_000 });
  return {
    name: options.target.name,
    controlSocket: forward.path,
    labels: { ...options.labels },
    localStateDir,
    forward,
    close: () => forward.close(),
  };
}

/**
 * Every prepared host's control socket forwarded (see prepareHosts), under `<localDir>/<host>`:
 * supervised, so a host that is unreachable now is forwarded once it answers (`wait: false`).
 *
 *   const hosts = await forwardHosts(await prepareHosts(env, fleet, options), join(stateDir, "hosts", env));
 *   // hosts[i].controlSocket: connect the DataPlane client there
 */
export async function forwardHosts(hosts: PreparedHost[], localDir: string, options: { logger?: Logger; wait?: boolean; timeoutMs?: number } = {}): Promise<ForwardedHost[]> {
  const forwarded: ForwardedHost[] = [];
  try {
    for (const host of hosts) {
      forwarded.push(await forwardControlSocket({ target: host.target, labels: host.labels, remoteStateDir: host.stateDir, localDir: join(localDir, host.name), ...options }));
    }
  } catch (error) {
    await Promise.all(forwarded.map((f) => f.close()));
    throw error;
  }
  return forwarded;
}
