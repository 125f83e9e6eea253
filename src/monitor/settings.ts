import { z } from "zod";
import { EngineError } from "../core/index.js";

/**
 * Default cap on runs in flight over all checks. At 10,000 checks every 10 s (1,000 runs a second
 * of ~1–5 ms each) a few dozen are in flight; 512 leaves room for slow targets (a run waiting out
 * its 5 s timeout holds a place) without letting a burst open thousands of sockets at once.
 */
export const defaultMaxConcurrency = 512;
/** Default cap on runs in flight against one target (`host:port`): a slow host cannot take every place. */
export const defaultMaxPerTarget = 64;

/** The `monitor:` section of engineroom.yaml: the scheduler's caps. */
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
});

export interface MonitorSettings {
  maxConcurrency: number;
  maxPerTarget: number;
}

/** Parses the `monitor:` section; CONFIG_INVALID names each problem as `monitor.<key>: message`. */
export function parseMonitorSettings(section: unknown, file = "engineroom.yaml"): MonitorSettings {
  const parsed = monitorSettingsSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${["monitor", ...issue.path].join(".")}: ${issue.message}`);
    throw new EngineError("CONFIG_INVALID", `${file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
  }
  return { maxConcurrency: parsed.data.max_concurrency, maxPerTarget: parsed.data.max_per_target };
}
