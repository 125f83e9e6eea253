import type { HealthConfig } from "../config/index.js";
import type { Clock } from "../core/index.js";
import type { Runtime } from "../runtime/index.js";
import { probeInstance, type ProbeResult } from "./probe.js";

export interface HealthTarget {
  id: string;
  host: string;
  port: number;
}

export type HealthOutcome =
  | { healthy: true; probes: number; ms: number }
  | { healthy: false; reason: string; lastProbe: string | undefined; probes: number };

/** Describes a probe result the way an operator reads it: "200 in 3ms" or "ECONNREFUSED …". */
export function describeProbe(result: ProbeResult): string {
  return result.ok ? `${result.status} in ${result.ms}ms` : result.error;
}

export function probePassed(result: ProbeResult): boolean {
  return result.ok && result.status >= 200 && result.status < 400;
}

/**
 * Probes one instance until it passes `healthy_threshold` times in a row, or `start_timeout`
 * runs out, or `signal` aborts (then it rejects with the signal's reason). Probes go through
 * `runtime` when it probes where its instances run (a fleet's host agents), else straight.
 */
export async function waitHealthy(
  target: HealthTarget,
  health: HealthConfig,
  clock: Clock,
  signal: AbortSignal,
  runtime?: Pick<Runtime, "probe">,
): Promise<HealthOutcome> {
  const started = clock.now();
  let streak = 0;
  let probes = 0;
  let last: string | undefined;
  for (;;) {
    signal.throwIfAborted();
    const result = await probeInstance(runtime, target, { path: health.path, timeoutMs: health.timeout, signal });
    signal.throwIfAborted();
    probes++;
    last = describeProbe(result);
    streak = probePassed(result) ? streak + 1 : 0;
    if (streak >= health.healthy_threshold) return { healthy: true, probes, ms: clock.now() - started };
    if (clock.now() - started + health.interval > health.start_timeout) {
      return {
        healthy: false,
        reason: `instance ${target.id} did not pass GET ${health.path} ${health.healthy_threshold} times in a row within ${health.start_timeout}ms`,
        lastProbe: last,
        probes,
      };
    }
    await clock.sleep(health.interval, signal);
  }
}

/** Failures in a row of a live instance's health check that take it out of the rotation, when the config does not say. */
const defaultUnhealthyThreshold = 3;

/**
 * Failures in a row that make a live instance unhealthy: `health.unhealthy_threshold` (the schema
 * defaults it to 3); a config snapshot saved before that key existed has none, and gets 3 too.
 */
export function unhealthyThreshold(health: HealthConfig): number {
  const configured = (health as HealthConfig & { unhealthy_threshold?: number }).unhealthy_threshold;
  return typeof configured === "number" && configured >= 1 ? configured : defaultUnhealthyThreshold;
}
