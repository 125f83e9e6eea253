import { Cron } from "croner";
import { z } from "zod";
import { durationSchema } from "../config/index.js";

/** `20%`, or a share written 0–1 (`0.2`). */
const share = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const match = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  const rate = typeof value === "number" ? value : match ? Number(match[1]) / 100 : NaN;
  if (!(rate > 0 && rate <= 1)) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not an error rate; write it like 20% (more than 0%, at most 100%)` });
    return z.NEVER;
  }
  return rate;
});

const cron = z.string().superRefine((pattern, ctx) => {
  try {
    new Cron(pattern, { paused: true, timezone: "UTC" }).stop();
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `"${pattern}" is not a cron schedule: ${(error as Error).message.replace(/^CronPattern: /, "")}` });
  }
});

const count = (max: number) => z.number().int().min(0).max(max);

/** One drill under `drills:`, as written. */
export const drillSchema = z
  .strictObject({
    type: z.enum(["rollback", "kill", "restart"]).meta({ description: "rollback: the live artifact released again with a fault the proxy injects, rolled back by its watch; kill: an instance of the live release SIGKILLed; restart: the engine's control plane restarted while the data plane serves." }),
    service: z.string().meta({ description: "The service drilled." }),
    environment: z.string().optional().meta({ description: "Where (default: the first environment of the chain). The last environment of the chain (production) needs allow_production: true." }),
    allow_production: z.boolean().default(false).meta({ description: "Lets the drill run in the last environment of the chain." }),
    schedule: cron.optional().meta({ description: "When it runs by itself: a cron expression (5 fields, UTC; 6 with seconds), e.g. `0 3 * * 1`." }),
    fault: z
      .strictObject({
        error_rate: share.optional().meta({ description: "Share of the drill release's requests the proxy answers 500, e.g. 20%." }),
        latency: durationSchema({ min: 1, max: 60_000, examples: "300ms or 1s" }).optional().meta({ description: "Delay added to each request to the drill release, e.g. 300ms." }),
      })
      .optional()
      .meta({ description: "rollback drills: what the proxy injects for the drill release only (at least one of error_rate, latency)." }),
    pass: z
      .strictObject({
        recover_within: durationSchema({ min: 100, max: 3_600_000, examples: "15s or 1m" }).prefault("15s").meta({ description: "Healthy again (rolled back, restarted) within this long after the fault began (default 15s)." }),
        max_failed_requests_outside_fault: count(1_000_000).default(0).meta({ description: "Failed requests of the drill's load that the fault did not make (default 0)." }),
        max_failed_requests: count(1_000_000).optional().meta({ description: "Failed requests in all, the fault's included (restart drills: default 0, no request may fail during the restart)." }),
      })
      .prefault({})
      .meta({ description: "The pass rule." }),
    load: z
      .strictObject({
        rps: z.number().int().min(1).max(500).default(20).meta({ description: "Requests per second the drill sends through the environment's proxy (default 20)." }),
        path: z.string().startsWith("/").optional().meta({ description: "The path requested (default: the service's first route)." }),
      })
      .prefault({})
      .meta({ description: "The drill's own bounded loopback load: rps for at most the drill's time limit." }),
    timeout: durationSchema({ min: 1000, max: 3_600_000, examples: "1m or 5m" }).optional().meta({ description: "The longest the drill runs before it ends as failed (default: 3× recover_within, at least 30s)." }),
  })
  .superRefine((drill, ctx) => {
    if (drill.type === "rollback" && drill.fault?.error_rate === undefined && drill.fault?.latency === undefined) {
      ctx.addIssue({ code: "custom", path: ["fault"], message: "a rollback drill needs a fault: error_rate (e.g. 20%) and/or latency (e.g. 300ms)" });
    }
    if (drill.type === "restart" && drill.schedule !== undefined) {
      ctx.addIssue({ code: "custom", path: ["schedule"], message: "a restart drill restarts the engine, so the engine cannot run it on a schedule: run `engineroom drill run <name>` (from cron, if you like)" });
    }
    if (drill.type !== "rollback" && drill.fault !== undefined) {
      ctx.addIssue({ code: "custom", path: ["fault"], message: `a ${drill.type} drill has no fault to declare (it is the ${drill.type === "kill" ? "kill" : "restart"} itself); only rollback drills take one` });
    }
  });

/** `drills:` of engineroom.yaml, as written. */
export const drillsSchema = z.record(z.string(), drillSchema).default({});

export type DrillType = z.output<typeof drillSchema>["type"];

/** A drill as the engine runs it: resolved against the project (its environment named, durations in ms). */
export interface DrillDefinition {
  name: string;
  type: DrillType;
  service: string;
  environment: string;
  schedule: string | undefined;
  fault: { errorRate?: number; latencyMs?: number } | undefined;
  pass: { recoverWithinMs: number; maxFailedOutsideFault: number; maxFailed: number | undefined };
  load: { rps: number; path: string | undefined };
  timeoutMs: number;
}

/** What a drill may name: the services and the chain, first to last. */
export interface DrillTargets {
  services: readonly string[];
  environments: readonly string[];
}

/**
 * The `drills:` section against the project: an undeclared service or environment, or the last
 * environment of the chain without `allow_production`, is an issue at its path.
 */
export function drillsSchemaFor(declared: DrillTargets) {
  return drillsSchema
    .superRefine((drills, ctx) => {
      const last = declared.environments.at(-1);
      for (const [name, drill] of Object.entries(drills)) {
        if (!declared.services.includes(drill.service)) {
          ctx.addIssue({ code: "custom", path: [name, "service"], message: `no service named "${drill.service}" (declared: ${declared.services.join(", ")})` });
        }
        const environment = drill.environment ?? declared.environments[0];
        if (drill.environment !== undefined && !declared.environments.includes(drill.environment)) {
          ctx.addIssue({ code: "custom", path: [name, "environment"], message: `no environment named "${drill.environment}" (the chain is ${declared.environments.join(" → ")})` });
        } else if (environment === last && !drill.allow_production) {
          ctx.addIssue({
            code: "custom",
            path: [name, drill.environment === undefined ? "environment" : "allow_production"],
            message: `${environment} is the last environment of the chain (production): a drill there needs allow_production: true`,
          });
        }
      }
    })
    .transform((drills): DrillDefinition[] =>
      Object.entries(drills).map(([name, d]) => ({
        name,
        type: d.type,
        service: d.service,
        environment: d.environment ?? declared.environments[0]!,
        schedule: d.schedule,
        fault: d.fault && { ...(d.fault.error_rate !== undefined && { errorRate: d.fault.error_rate }), ...(d.fault.latency !== undefined && { latencyMs: d.fault.latency }) },
        pass: { recoverWithinMs: d.pass.recover_within, maxFailedOutsideFault: d.pass.max_failed_requests_outside_fault, maxFailed: d.pass.max_failed_requests ?? (d.type === "restart" ? 0 : undefined) },
        load: { rps: d.load.rps, path: d.load.path },
        timeoutMs: d.timeout ?? Math.max(30_000, 3 * d.pass.recover_within),
      })),
    );
}
