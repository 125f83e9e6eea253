import { z } from "zod";
import { durationSchema } from "../config/index.js";
import { EngineError } from "../core/index.js";

/**
 * Default cap on runs in flight over all checks. At 10,000 checks every 10 s (1,000 runs a second
 * of ~1–5 ms each) a few dozen are in flight; 512 leaves room for slow targets (a run waiting out
 * its 5 s timeout holds a place) without letting a burst open thousands of sockets at once.
 */
export const defaultMaxConcurrency = 512;
/** Default cap on runs in flight against one target (`host:port`): a slow host cannot take every place. */
export const defaultMaxPerTarget = 64;

/** Default interval of every service's own health and proxy checks: 10 s (their timeout is 5 s, or the interval when shorter). */
export const defaultServiceCheckIntervalMs = 10_000;

/** From 1 s (the shortest interval a check has) to a day. */
const interval = durationSchema({ min: 1_000, max: 86_400_000, examples: "10s, 30s or 1m" });

/** The `monitor:` section of engineroom.yaml: the scheduler's caps, and the timing of the checks every service gets. */
export const monitorSettingsSchema = z.strictObject({
  max_concurrency: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(defaultMaxConcurrency)
    .meta({ description: `Check runs in flight at once, over all checks. Default ${defaultMaxConcurrency}.` }),
  max_per_target: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(defaultMaxPerTarget)
    .meta({ description: `Check runs in flight at once against one target (host:port). Default ${defaultMaxPerTarget}.` }),
  service_check_interval: interval
    .default(defaultServiceCheckIntervalMs)
    .meta({ description: "Interval of every service's own health check and of each proxy's check. Default 10s; their timeout is 5s, or the interval when shorter." }),
});

export interface MonitorSettings {
  maxConcurrency: number;
  maxPerTarget: number;
  serviceCheckIntervalMs: number;
}

/** Parses the `monitor:` section; CONFIG_INVALID names each problem as `monitor.<key>: message`. */
export function parseMonitorSettings(section: unknown, file = "engineroom.yaml"): MonitorSettings {
  const parsed = monitorSettingsSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${["monitor", ...issue.path].join(".")}: ${issue.message}`);
    throw new EngineError("CONFIG_INVALID", `${file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
  }
  return { maxConcurrency: parsed.data.max_concurrency, maxPerTarget: parsed.data.max_per_target, serviceCheckIntervalMs: parsed.data.service_check_interval };
}
