import { z } from "zod";
import type { ConfigProblem } from "./routes.js";
import { secretRefSchema } from "./secret-ref.js";

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes");

/** A public host key as ssh prints it: `ssh-ed25519 AAAA…` (type and base64, an optional comment). */
const hostKeyLine = z.string().regex(/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+)\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$/, "a host key is `<type> <base64>`, e.g. `ssh-ed25519 AAAAC3…` (as `ssh-keyscan` prints it after the address)");

export const hostSchema = z.strictObject({
  address: z.string().min(1).regex(/^[A-Za-z0-9.:_-]+$/, "an address is a host name, an IPv4 or an IPv6 address").meta({ description: "The host's name or IP address, as ssh reaches it." }),
  port: z.number().int().min(1).max(65535).default(22).meta({ description: "sshd's port (default 22)." }),
  user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, "a Unix user name").default("root").meta({ description: "The user ssh logs in as (default root)." }),
  key: secretRefSchema.meta({ description: "The private key (OpenSSH format) as a secret reference, e.g. `{ secret: deploy_key }`: written owner-only to the engine's state folder, never logged." }),
  host_key: hostKeyLine.optional().meta({ description: "The host's public key (`ssh-ed25519 AAAA…`), pinned; or list it under the environment's known_hosts." }),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/), z.string().max(128)).default({}).meta({ description: "Free-form labels, e.g. `{ zone: eu-1 }`: services pick hosts by them." }),
  state_dir: z
    .string()
    .regex(/^\/[^\0\n]*$/, "an absolute path on the host")
    .default("/var/lib/engineroom")
    .meta({ description: "The data plane's state folder on the host (default /var/lib/engineroom): the daemon's socket, logs, artifacts and the engine's code." }),
});

/** The keys an environment gets for a fleet of ssh hosts. */
export const environmentHostsShape = {
  runtime: z.enum(["local", "ssh"]).optional().meta({ description: "`ssh`: instances run on the environment's `hosts`, each with a data-plane daemon (`engineroom hosts bootstrap`). Default: the project's runtime." }),
  hosts: z.record(hostName, hostSchema).default({}).meta({ description: "The environment's hosts by name (with `runtime: ssh`): address, port, user, key (a secret reference), host_key, labels, state_dir." }),
  known_hosts: z
    .union([z.array(z.string().min(1)), z.string().min(1)])
    .optional()
    .meta({ description: "Pinned host keys: a list of known_hosts lines (`<address> <type> <base64>`), or a known_hosts file (relative to engineroom.yaml)." }),
  trust_on_first_use: z.boolean().default(false).meta({ description: "Accept and record the key of a host that has none pinned, on first contact (a changed key is still refused). Default false." }),
  min_hosts: z
    .number()
    .int()
    .min(1)
    .optional()
    .meta({ description: "How many of the environment's hosts must start, pass health and take the switch for a deploy to go live (with `runtime: ssh`); the others are named in the result and get no traffic for the new release. Default: every host." }),
  request_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .optional()
    .meta({ description: "With `runtime: ssh`: how long a quick request to a host's daemon waits for its answer before the host counts as lost (a switch 2×, a start 6×, a stop its grace + 2×, an artifact 10 minutes). Default 5000." }),
  reconnect_ms: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .optional()
    .meta({ description: "With `runtime: ssh`: how long a request to a host waits for its lost connection to come back before the host counts as lost. Default 5000." }),
  host_proxy_listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'write it as host:port, e.g. "0.0.0.0:8080"')
    .default("0.0.0.0:8080")
    .meta({ description: "Where this environment's proxy listens on each of its hosts (with `runtime: ssh`; default 0.0.0.0:8080); the front door reaches host h at `<h.address>:<port>`. Two environments on one host need two ports." }),
};

/** `services.<name>.placement`: which of an ssh environment's hosts run the service, and how many instances each. */
export const placementSchema = z.strictObject({
  labels: z.record(z.string(), z.string()).default({}).meta({ description: "Only hosts with all these labels run the service (environments with `runtime: ssh`)." }),
  per_host: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: "N instances on each host that runs the service, instead of `instances` spread over those hosts in turn (environments with `runtime: ssh`)." }),
});

export type PlacementConfig = z.output<typeof placementSchema>;

export type HostConfig = z.output<typeof hostSchema>;

/** Where an environment's instances run, and its hosts when on ssh. */
export interface EnvironmentHosts {
  runtime?: "local" | "ssh" | undefined;
  hosts: Record<string, HostConfig>;
  known_hosts?: string[] | string | undefined;
  trust_on_first_use: boolean;
  host_proxy_listen?: string | undefined;
  min_hosts?: number | undefined;
  request_timeout_ms?: number | undefined;
  reconnect_ms?: number | undefined;
}

/** Problems of an environment's hosts that the schema cannot see: hosts without ssh, ssh without hosts, unpinned keys. */
export function hostProblems(env: EnvironmentHosts, at: (string | number)[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = Object.keys(env.hosts);
  if (env.runtime === "ssh" && names.length === 0) problems.push({ path: [...at, "hosts"], message: "runtime: ssh needs at least one host under hosts" });
  if (env.runtime !== "ssh" && names.length > 0) problems.push({ path: [...at, "runtime"], message: "hosts are declared: set runtime: ssh (or remove the hosts)" });
  if (env.min_hosts !== undefined && env.min_hosts > names.length) {
    problems.push({ path: [...at, "min_hosts"], message: `min_hosts is ${env.min_hosts} but the environment declares ${names.length} host${names.length === 1 ? "" : "s"}: at most ${Math.max(names.length, 1)}` });
  }
  const lines = Array.isArray(env.known_hosts) ? env.known_hosts : [];
  for (const [index, line] of lines.entries()) {
    if (!/^\S+\s+\S+\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$/.test(line)) problems.push({ path: [...at, "known_hosts", index], message: "a known_hosts line is `<address> <type> <base64>`" });
  }
  if (!env.trust_on_first_use && typeof env.known_hosts !== "string") {
    for (const [name, host] of Object.entries(env.hosts)) {
      const pinned = host.host_key !== undefined || lines.some((line) => line.split(/\s+/)[0]!.split(",").some((h) => h === host.address || h === `[${host.address}]:${host.port}`));
      if (!pinned) {
        problems.push({ path: [...at, "hosts", name, "host_key"], message: `the key of host ${name} is not pinned: set host_key or list it under known_hosts (or trust_on_first_use: true to accept its first key)` });
      }
    }
  }
  return problems;
}

/**
 * Two ssh environments whose proxies would listen on the same port of one host (by address):
 * `seen` maps `<address>:<port>` to the environment that took it first (port 0 never conflicts).
 */
export function hostProxyConflicts(env: EnvironmentHosts, name: string, at: (string | number)[], seen: Map<string, string>): ConfigProblem[] {
  if (env.runtime !== "ssh") return [];
  const listen = env.host_proxy_listen ?? "0.0.0.0:8080";
  const port = listen.slice(listen.lastIndexOf(":") + 1);
  if (Number(port) === 0) return [];
  const problems: ConfigProblem[] = [];
  for (const [hostName, host] of Object.entries(env.hosts)) {
    const key = `${host.address}:${port}`;
    const other = seen.get(key);
    if (other && other !== name) problems.push({ path: [...at, "host_proxy_listen"], message: `environments ${other} and ${name} both listen on port ${port} of host ${hostName} (${host.address}); give each its own host_proxy_listen` });
    else seen.set(key, name);
  }
  return problems;
}

/**
 * An ssh environment's services placed on its hosts: a placement whose labels no host has is a
 * problem (with the path where those labels are written), and `per_host: N` makes the service's
 * `instances` N × the hosts that run it (slot i runs on host i mod n, so each gets N). On other
 * environments placement is not read. Returns the services with their instances set.
 */
export function placeServices<S extends { instances: number; placement?: PlacementConfig | undefined }>(
  services: Record<string, S>,
  env: EnvironmentHosts,
  where: (service: string) => (string | number)[],
): { services: Record<string, S>; problems: ConfigProblem[] } {
  if (env.runtime !== "ssh") return { services, problems: [] };
  const problems: ConfigProblem[] = [];
  const placed: Record<string, S> = Object.create(null);
  for (const [name, service] of Object.entries(services)) {
    placed[name] = service;
    if (!service.placement) continue;
    const wanted = Object.entries(service.placement.labels);
    const hosts = Object.entries(env.hosts).filter(([, h]) => wanted.every(([k, v]) => h.labels[k] === v));
    if (hosts.length === 0) {
      const have = Object.entries(env.hosts).map(([n, h]) => `${n} ${JSON.stringify(h.labels)}`).join(", ");
      problems.push({ path: [...where(name), "placement", "labels"], message: `no host of this environment has the labels ${JSON.stringify(service.placement.labels)} (its hosts: ${have})` });
      continue;
    }
    if (service.placement.per_host !== undefined) placed[name] = { ...service, instances: service.placement.per_host * hosts.length };
  }
  return { services: placed, problems };
}
