import { z } from "zod";

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes");
const labels = z.record(z.string(), z.string()).default({});

/** One host of `runtime: { type: ssh, hosts: [...] }`. */
export const sshHostOptions = z.strictObject({
  name: name.meta({ description: "The host's name, as deploys, errors and `status` name it." }),
  address: z.string().min(1).meta({ description: "Where the front door reaches the host's proxy." }),
  labels: labels.meta({ description: "Free-form labels; `placement` picks hosts by them." }),
  control_socket: z
    .string()
    .min(1)
    .meta({ description: "A local path to the host's data-plane control socket: a daemon on this machine, or the host's socket forwarded here (`ssh -N -L <path>:<state_dir>/dataplane/control.sock`, as environments on `runtime: ssh` hosts get it)." }),
  proxy_listen: z.string().min(1).optional().meta({ description: "Where the host's proxy listens. Default: the runtime's `proxy_listen`." }),
});

/** The options of `runtime: { type: ssh, ... }`, besides `type`. */
export const sshRuntimeOptions = z.strictObject({
  hosts: z
    .array(sshHostOptions)
    .min(1)
    .refine((hosts) => new Set(hosts.map((h) => h.name)).size === hosts.length, "host names must be distinct")
    .meta({ description: "The hosts instances run on, each with its own data-plane daemon (proxy and instance supervision)." }),
  proxy_listen: z.string().min(1).default("0.0.0.0:8080").meta({ description: "Where each host's proxy listens (host:port); the front door balances across them." }),
  placement: z
    .record(
      z.string(),
      z.strictObject({
        labels: z.record(z.string(), z.string()).default({}).meta({ description: "Only hosts with all these labels run the service." }),
      }),
    )
    .default({})
    .meta({ description: "Per service: which hosts run it. A service's `instances` are spread over its hosts in turn (slot i on host i mod n); absent: all hosts." }),
  reconnect_ms: z.number().int().min(100).max(600_000).default(5_000).meta({ description: "How long a request to a host waits for its lost connection to come back before the host counts as lost." }),
  request_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(5_000)
    .meta({
      description:
        "How long a quick request to a host's daemon (hello, list, facts, port) waits for its answer before the host counts as lost (FLEET_HOST_FAILED); a switch waits 2×, starting an instance or setting up a proxy 6×, stopping one its grace + 2×, shipping an artifact 10 minutes.",
    }),
  min_hosts: z
    .number()
    .int()
    .min(1)
    .optional()
    .meta({ description: "How many hosts must start, pass health and take the switch for a deploy to go live; the others are named in the result and get no traffic for the new release. Default: every host." }),
});

export type SshRuntimeConfig = z.output<typeof sshRuntimeOptions>;
export type SshHostConfig = z.output<typeof sshHostOptions>;

/** `min_hosts` is at most the number of hosts (a check on the parsed `runtime:`, whose type picks the options). */
export function minHostsWithinHosts(config: { type: string; hosts?: unknown[]; min_hosts?: number | undefined }, ctx: z.RefinementCtx): void {
  if (config.type !== "ssh" || config.min_hosts === undefined || !config.hosts || config.min_hosts <= config.hosts.length) return;
  ctx.addIssue({ code: "custom", path: ["min_hosts"], message: `min_hosts is ${config.min_hosts} but ${config.hosts.length} host${config.hosts.length === 1 ? " is" : "s are"} declared: at most ${config.hosts.length}` });
}
