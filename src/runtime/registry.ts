import { join } from "node:path";
import { z } from "zod";
import type { Clock, Logger, Redactor } from "../core/index.js";
import { EngineError } from "../core/index.js";
import { LocalRuntime, localRuntimeOptions } from "./local/index.js";
import { FleetRuntime, RemoteRuntime, minHostsWithinHosts, sshRuntimeOptions, type AgentChannel, type FleetHost, type Placement, type SshHostConfig } from "./remote/index.js";
import type { Runtime } from "./types.js";

/** What a runtime's factory may need besides its own options. */
export interface RuntimeContext {
  /** The state folder (absolute): the local runtime keeps instance records in `instances/` and logs in `logs/` there. */
  stateDir: string;
  clock?: Clock;
  logger?: Logger;
  /** Secret values to keep out of instance output. Default: the process-wide redactor. */
  redactor?: Redactor;
  /** For `ssh`: the channel to each host's agent (the engine attaches to every host's daemon first). */
  agentChannel?: (host: SshHostConfig) => AgentChannel;
  /** For `ssh`: how an artifact gets onto a host (over ssh); without it the host's agent copies it from the engine's folder. */
  ship?: (host: SshHostConfig, channel: AgentChannel) => FleetHost["ship"];
  /** For `ssh`: which hosts may run a service, instead of the options' `placement`. */
  placement?: Placement;
}

/** One entry of the registry: the options a `type:` takes, and how to build its runtime from them. */
export interface RuntimeType<Options extends z.ZodObject> {
  /** The options besides `type:`, as a strict zod object (unknown keys are errors). */
  readonly options: Options;
  /** Makes the runtime. It starts nothing: instances come with `start` and `adopt`. */
  create(options: z.output<Options>, context: RuntimeContext): Runtime;
}

function runtimeType<Options extends z.ZodObject>(definition: RuntimeType<Options>): RuntimeType<Options> {
  return definition;
}

/**
 * The runtimes Engineroom knows, by their config `type:`. To add one (ssh, kubernetes), write it in
 * its own folder, make it pass `runRuntimeContract`, and add it here; nothing else changes.
 */
export const runtimeTypes = {
  local: runtimeType({
    options: localRuntimeOptions,
    create: (options, context) =>
      new LocalRuntime({
        logDir: join(context.stateDir, "logs"),
        stateDir: context.stateDir,
        host: options.host,
        logMaxBytes: options.log_max_bytes,
        logFiles: options.log_files,
        clock: context.clock,
        logger: context.logger,
        redactor: context.redactor,
      }),
  }),
  ssh: runtimeType({
    options: sshRuntimeOptions,
    create: (options, context) => {
      const channel = context.agentChannel;
      if (!channel) throw new EngineError("INTERNAL", "The ssh runtime needs a channel to each host's agent.");
      const hosts = options.hosts.map((host) => ({ name: host.name, labels: host.labels, address: host.address, runtime: remoteRuntime(host, channel(host), context), ship: context.ship?.(host, channel(host)) }));
      return new FleetRuntime(hosts, context.placement ?? options.placement, { minHosts: options.min_hosts });
    },
  }),
} as const;

function remoteRuntime(host: SshHostConfig, channel: AgentChannel, context: RuntimeContext): RemoteRuntime {
  return new RemoteRuntime({ host: host.name, channel, logger: context.logger, onClose: () => channel.close?.() });
}

/** A runtime `type:` Engineroom knows. */
export type RuntimeTypeName = keyof typeof runtimeTypes;

type Types = typeof runtimeTypes;
type ConfigSchemaOf<K extends RuntimeTypeName> =
  Types[K]["options"] extends z.ZodObject<infer Shape> ? z.ZodObject<{ type: z.ZodLiteral<K> } & Shape, z.core.$strict> : never;
type AnyConfigSchema = { [K in RuntimeTypeName]: ConfigSchemaOf<K> }[RuntimeTypeName];

function configSchemaOf<K extends RuntimeTypeName>(type: K): ConfigSchemaOf<K> {
  return z.strictObject({ type: z.literal(type), ...runtimeTypes[type].options.shape }) as unknown as ConfigSchemaOf<K>;
}

const typeNames = Object.keys(runtimeTypes) as RuntimeTypeName[];
const typeSchemas = z.discriminatedUnion("type", typeNames.map(configSchemaOf) as [AnyConfigSchema, ...AnyConfigSchema[]]);

/**
 * The schema of an environment's `runtime:`: a type name alone (`runtime: local`), or `type:` with
 * that type's options (`runtime: { type: local, host: "::1" }`). Absent means `local`.
 */
export const runtimeConfigSchema = z
  .union([z.enum(typeNames as [RuntimeTypeName, ...RuntimeTypeName[]]).transform((type) => typeSchemas.parse({ type })), typeSchemas])
  .superRefine(minHostsWithinHosts)
  .prefault("local")
  .meta({ description: `Where the environment's instances run: \`type\` is one of ${typeNames.join(", ")}, with that type's options; a type name alone takes its defaults.` });

/** An environment's runtime config, parsed: its `type:` and that type's options, defaults filled in. */
export type RuntimeConfig = z.output<typeof typeSchemas>;

/** Makes the runtime a config entry describes. */
export function createRuntime(config: RuntimeConfig, context: RuntimeContext): Runtime {
  const { type, ...options } = config;
  const entry = runtimeTypes[type] as RuntimeType<z.ZodObject>;
  return entry.create(options, context);
}
