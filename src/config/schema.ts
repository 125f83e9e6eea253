import { z } from "zod";
import { durationSchema } from "./duration.js";
import { routeConflicts } from "./routes.js";
import { envValueSchema, secretsSectionSchema } from "./secret-ref.js";
import { apiAccessDefaults, apiAccessShape } from "./api-access.js";
import { artifactsSchema, ciSchema } from "./ci.js";
import { costProblems, costSchema, resourcesSchema } from "./cost.js";
import { environmentHostsShape, placementSchema, type EnvironmentHosts } from "./hosts.js";

/** A duration written as "500ms", "5s", "5m", "1h" (or a number of milliseconds); parsed to milliseconds. */
const duration = durationSchema().meta({ description: 'A duration such as "500ms", "5s", "5m", "1h", or a number of milliseconds; at most 24d (2147483647 ms).' });

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'write it as host:port, e.g. "127.0.0.1:8080" or "[::1]:8080"')
  .refine((value) => Number(value.slice(value.lastIndexOf(":") + 1)) <= 65535, "a port is a number from 0 to 65535")
  .meta({ description: "host:port to listen on; port 0 picks a free port." });

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, "use lowercase letters, digits and dashes, starting with a letter")
  // A name is a key of lookup tables all through the engine; one that every JavaScript object has
  // ("constructor") would be found where nothing was declared.
  .refine((value) => !(value in Object.prototype), "this name is reserved (every JavaScript object has a property of that name); choose another");

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name");

export const routeSchema = z.strictObject({
  host: z
    .string()
    .min(1)
    .refine((host) => !host.includes(":") || /^\[[0-9a-fA-F:]+\]$/.test(host), {
      message: 'a route host has no port (the proxy matches the host name only, and a host with a port never matches); write e.g. "example.com" and set the port in proxy.listen',
    })
    .default("*")
    .meta({ description: 'Host to match, without port; "*" matches any host.' }),
  path: z
    .string()
    .startsWith("/", 'a path prefix starts with "/"')
    .default("/")
    .meta({ description: "Path prefix to match; the longest matching prefix wins." }),
});

export const healthSchema = z
  .strictObject({
    path: z.string().startsWith("/").default("/").meta({ description: "HTTP path probed on each instance; any 2xx or 3xx passes." }),
    interval: duration.default(1000).meta({ description: "Time between probes." }),
    timeout: duration.default(2000).meta({ description: "A probe slower than this fails." }),
    healthy_threshold: z.number().int().min(1).max(100).default(2).meta({ description: "Passes in a row before an instance counts as healthy." }),
    unhealthy_threshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .meta({ description: "Failures in a row of a live instance's health check that take it out of the rotation and restart it." }),
    start_timeout: duration.default(30_000).meta({ description: "A new instance that is not healthy by then fails its release." }),
  })
  .meta({ description: "The health check every instance must pass before it gets traffic." });

const headerValue = z.string().regex(/^[^\r\n]*$/, "a header value cannot hold a line break");

export const smokeTestSchema = z.strictObject({
  name: z.string().min(1).optional().meta({ description: "Shown when the test fails; defaults to METHOD path." }),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  path: z.string().startsWith("/"),
  headers: z.record(z.string(), headerValue).default({}).meta({ description: "Request headers." }),
  body: z.string().optional().meta({ description: "Request body." }),
  timeout: duration.default(5000),
  expect: z
    .strictObject({
      status: z.number().int().min(100).max(599).default(200),
      body_contains: z.string().optional().meta({ description: "A substring the response body must contain." }),
      headers: z
        .record(z.string(), z.string())
        .default({})
        .meta({ description: "Response headers that must be present; the value must be contained in the header's value." }),
    })
    .default({ status: 200, headers: {} }),
});

export const releasePolicySchema = z.strictObject({
  watch: duration.default(300_000).meta({ description: "Watch window after a switch; the previous release stays warm through it." }),
  drain_timeout: duration.default(30_000).meta({ description: "Longest wait for in-flight requests to an old release before it is stopped." }),
  stop_grace: duration.default(10_000).meta({ description: "Time between SIGTERM and SIGKILL when an instance is stopped." }),
  keep: z.number().int().min(1).max(1000).default(10).meta({ description: "Releases whose artifacts are kept for rollback." }),
});

export const restartPolicySchema = z.strictObject({
  max_restarts: z.number().int().min(0).max(1000).default(5).meta({ description: "Restarts within `window` before an instance is given up." }),
  window: duration.default(60_000),
  backoff: duration.default(1000).meta({ description: "First wait before a restart; doubles each time up to `max_backoff`." }),
  max_backoff: duration.default(30_000),
});

const prometheusMetricsSchema = z.strictObject({
  source: z.literal("prometheus"),
  url: z.url().meta({ description: "Prometheus base URL, e.g. http://127.0.0.1:9090" }),
  requests: z.string().min(1).meta({ description: "PromQL: requests of the release over the window; placeholders {{service}} {{environment}} {{release}} {{window}}" }),
  errors: z.string().min(1).meta({ description: "PromQL: failed requests (5xx) of the release over the window" }),
  latency_buckets: z.string().min(1).meta({ description: "PromQL: histogram buckets (by `le`) of the release's latency over the window" }),
  le_unit: z.enum(["s", "ms"]).default("s"),
});

export const analysisSchema = z.strictObject({
  enabled: z.boolean().default(true).meta({ description: "Judge every watched release and roll back the one that fails." }),
  interval: duration.default(2000).meta({ description: "Time between two verdicts during the watch window." }),
  baseline: duration.default(300_000).meta({ description: "The previous release's traffic over this long before the switch is the baseline." }),
  max_error_rate: z.number().min(0).max(1).nullable().default(0.01).meta({ description: "Absolute limit: a release whose error rate is surely above it fails (null: no limit)." }),
  max_p95: duration.nullable().default(500).meta({ description: "Absolute limit: a release whose p95 latency is surely above it fails (null: no limit)." }),
  confidence: z.number().min(0.5).max(0.9999).default(0.99).meta({ description: "Probability that a healthy release passes its whole watch window." }),
  when_inconclusive: z
    .enum(["stable", "rollback"])
    .default("stable")
    .meta({ description: "When the window ends without enough traffic to judge: keep the release (stable) or roll it back." }),
  metrics: z
    .discriminatedUnion("source", [z.strictObject({ source: z.literal("proxy") }), prometheusMetricsSchema])
    .default({ source: "proxy" })
    .meta({ description: "Where the release's request metrics come from: the built-in proxy, or Prometheus." }),
});

export const serviceSchema = z.strictObject({
  run: z.string().min(1).meta({ description: "Command that starts one instance, run with /bin/sh in the artifact's folder. It must listen on $PORT." }),
  artifact: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Default artifact (folder or .tgz, relative to this file) for `engineroom deploy <service>` and `engineroom up --deploy`." }),
  instances: z.number().int().min(1).max(64).default(1),
  env: z
    .record(envName, envValueSchema)
    .default({})
    .meta({ description: "Environment variables every instance gets: plain text, or `{ secret: name }` for a secret fetched at start." }),
  routes: z.array(routeSchema).min(1).default([{ host: "*", path: "/" }]),
  health: healthSchema.default(healthSchema.parse({})),
  smoke: z.array(smokeTestSchema).default([]).meta({ description: "Requests sent to each new instance before the switch; all must pass." }),
  release: releasePolicySchema.default(releasePolicySchema.parse({})),
  restart: restartPolicySchema.default(restartPolicySchema.parse({})),
  analysis: analysisSchema.default(analysisSchema.parse({})),
  resources: resourcesSchema.optional(),
  placement: placementSchema.optional().meta({ description: "On environments with `runtime: ssh`: `labels` (only hosts with all of them run the service) and `per_host` (N instances on each such host). Not read elsewhere." }),
});

const proxySchema = z.strictObject({
  listen: listenAddress.default("127.0.0.1:8080"),
  workers: z.number().int().min(1).max(64).default(1),
});

export const environmentSchema = z.strictObject({
  proxy: z
    .strictObject({ listen: listenAddress.optional(), workers: z.number().int().min(1).max(64).optional() })
    .default({})
    .meta({ description: "This environment's own proxy; unset keys come from the top-level `proxy`." }),
  require_approval: z
    .boolean()
    .default(false)
    .meta({ description: "A release promoted here waits, healthy and verified, for `engineroom approve` before its switch." }),
  services: z
    .record(name, z.record(z.string(), z.unknown()))
    .default({})
    .meta({
      description:
        "Per service, keys that differ here from the service's definition (instances, env, routes, health, smoke, release, restart). Objects merge key by key; lists and values replace.",
    }),
  ...environmentHostsShape,
});

export const projectSchema = z
  .strictObject({
    project: name.meta({ description: "The project's name." }),
    state_dir: z.string().default(".engineroom").meta({ description: "Folder (relative to this file) for the store, artifacts, logs and the API token." }),
    store: z
      .strictObject({
        url: z.string().optional().meta({ description: "postgres://… to keep state in PostgreSQL; empty for the embedded SQLite file. ${VAR} is read from the environment." }),
      })
      .default({}),
    ha: z
      .strictObject({
        lease: duration.default(8_000).meta({ description: "How long the leading engine's lease lasts without renewal; a standby claims it as it ends, so a dead leader is replaced within about this long (PostgreSQL store only)." }),
        renew: duration.default(2_000).meta({ description: "How often the leader renews its lease, and the longest a standby waits before reading it again; less than lease." }),
      })
      .default({ lease: 8_000, renew: 2_000 })
      .refine((ha) => ha.renew < ha.lease, { message: "ha.renew must be shorter than ha.lease", path: ["renew"] })
      .meta({ description: "Leader and standby engines on one PostgreSQL store: one leads by a lease fenced by its term." }),
    proxy: proxySchema.default({ listen: "127.0.0.1:8080", workers: 1 }),
    runtime: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .optional()
      .meta({
        description:
          "Where instances run: `local` (the default: child processes on this machine, each under its own log shim), or `{ type: local, host, log_max_bytes, log_files }`. Checked against the runtime's own options at start.",
      }),
    secrets: secretsSectionSchema,
    api: z
      .strictObject({
        listen: listenAddress.default("127.0.0.1:7070"),
        ...apiAccessShape,
      })
      .default({ listen: "127.0.0.1:7070", ...apiAccessDefaults }),
    dashboard: z
      .strictObject({
        public_status: z.boolean().default(false).meta({ description: "Serve a read-only status page at /status without login: services and their health per environment, open incidents' severity; no secrets, no internals." }),
      })
      .default({ public_status: false })
      .meta({ description: "The web dashboard served at / on the API's listener." }),
    approvals: z
      .strictObject({
        expire_after: duration.default(3_600_000).meta({ description: "How long an approval request (a change to production asked for by a token without admin) stays valid, granted or not." }),
      })
      .default({ expire_after: 3_600_000 })
      .meta({ description: "Approvals of changes to production asked for by tokens without admin (agents, CI): plan → approval by a person → apply." }),
    services: z.record(name, serviceSchema).refine((s) => Object.keys(s).length > 0, "declare at least one service"),
    // Monitoring. Each section is checked against its domain's own schema at start (check and channel
    // types come from registries config/ cannot see), with CONFIG_INVALID naming the path.
    checks: z
      .record(name, z.record(z.string(), z.unknown()))
      .default({})
      .meta({ description: "Periodic probes (`type: http | tcp | tls | command | dns`) with interval, thresholds and conditions; every service also gets its own." }),
    slos: z
      .record(name, z.record(z.string(), z.unknown()))
      .default({})
      .meta({ description: "Service level objectives: `{ service, kind: availability | latency | check, target, window }`, with burn-rate alerts." }),
    alerts: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "Alert rules, routing (group_by, group_wait, group_interval, repeat_interval, receiver), inhibition and silences' limits." }),
    channels: z
      .record(name, z.record(z.string(), z.unknown()))
      .default({})
      .meta({ description: "Where notifications go: `type: webhook | slack | email`, with their options; URLs and passwords may be `{ secret: name }`." }),
    monitor: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "The check scheduler's settings: `max_concurrency` (runs in flight at once, default 512), `max_per_target` (per host:port, default 64), `service_check_interval` (every service's own checks, default 10s)." }),
    incidents: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "Incidents' settings: `channel` (a declared channel or a list; default every declared channel), `escalate_after` (default 15m), `escalation_channel` (default the channel)." }),
    runbooks: z
      .record(name, z.record(z.string(), z.unknown()))
      .default({})
      .meta({ description: "Runbooks: named steps (rollback, restart, scale, run, wait_for, notify, approve) with conditions, run by `engineroom runbook run` or automatically by an alert naming them." }),
    runbooks_from: z.array(z.string().min(1)).default([]).meta({ description: "YAML files (relative to this file) with more runbooks, as a `runbooks:` map." }),
    drills: z
      .record(name, z.record(z.string(), z.unknown()))
      .default({})
      .meta({ description: "Practice for the bad day: `{ type: rollback | kill | restart, service, environment, allow_production, schedule (cron), fault (error_rate, latency), pass (recover_within, max_failed_requests_outside_fault, max_failed_requests), load (rps, path), timeout }`." }),
    postmortems: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "Post-mortems and the learning log: `dir` (default postmortems), `learning_log` (default <dir>/learning-log.md), `severities` (default [SEV1, SEV2]; an incident with a rollback always gets one)." }),
    ci: ciSchema,
    artifacts: artifactsSchema,
    cost: costSchema.optional(),
    environments: z
      .record(name, environmentSchema)
      .default({ production: environmentSchema.parse({}) })
      .refine((e) => Object.keys(e).length > 0, "declare at least one environment")
      .meta({
        description:
          "The promotion chain, in the order written: `deploy` goes to the first, `promote` moves a stable release to the next. Default: one environment, `production`.",
      }),
  })
  .superRefine((project, ctx) => {
    for (const problem of routeConflicts(project.services, [])) ctx.addIssue({ code: "custom", ...problem });
    for (const problem of costProblems(project.cost, Object.keys(project.environments))) ctx.addIssue({ code: "custom", ...problem });
  });

/** The file as validated, before each environment's overrides are merged into the services. */
export type ProjectDocument = z.output<typeof projectSchema>;
export type ProxyConfig = z.output<typeof proxySchema>;

/** One environment of the chain with its overrides merged: what runs there. */
export interface EnvironmentConfig extends Partial<EnvironmentHosts> {
  name: string;
  /** Position in the promotion chain, from 0. */
  index: number;
  proxy: ProxyConfig;
  require_approval: boolean;
  /** Every service, as it runs in this environment. */
  services: Record<string, ServiceConfig>;
}

export type ProjectConfig = Omit<ProjectDocument, "environments"> & {
  /** The promotion chain, first to last. */
  environments: EnvironmentConfig[];
};
export type ServiceConfig = z.output<typeof serviceSchema>;
export type SmokeTest = z.output<typeof smokeTestSchema>;
export type HealthConfig = z.output<typeof healthSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type AnalysisConfig = z.output<typeof analysisSchema>;

/** The JSON Schema of engineroom.yaml, for editors (`engineroom schema`). */
export function projectJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(projectSchema, { io: "input", unrepresentable: "any" }),
    title: "engineroom.yaml",
  };
}
