import { EngineError, parseDuration } from "../../core/index.js";
import { retentionMs, type CheckHistory, type CheckSummary, type Monitor, type MonitorStats } from "../../monitor/index.js";
import type { CheckResolution } from "../../store/index.js";
import type { Engine } from "../engine.js";

/** The checks operations of the façade (see ../operations.ts). */
export interface CheckOperations {
  /** Every check (declared and derived) with its state, last result, uptime over 24 h / 7 d / 30 d and latency p50/p95/p99 over 24 h; and the scheduler's figures. */
  checks(): Promise<{ checks: CheckSummary[]; scheduler: MonitorStats }>;
  /**
   * A check's results per minute, hour or day (default minute) since `since` ago (a duration such
   * as `24h`, default 24h, at most the resolution's retention). CHECK_UNKNOWN for a name no check has.
   */
  checkHistory(name: string, options?: { resolution?: string; since?: string }): Promise<CheckHistory>;
}

const resolutions: readonly CheckResolution[] = ["minute", "hour", "day"];

export function checkOperations(engine: Engine): CheckOperations {
  const monitor = (): Monitor => {
    const found = engine.monitoring.checks;
    if (!found) throw new EngineError("INTERNAL", "The checks are not running (the engine is starting or stopping).");
    return found;
  };
  return {
    async checks() {
      const m = monitor();
      return { checks: await m.summaries(), scheduler: m.stats() };
    },
    async checkHistory(name, options = {}) {
      const m = monitor();
      const resolution = (options.resolution ?? "minute") as CheckResolution;
      if (!resolutions.includes(resolution)) {
        throw new EngineError("API_BAD_REQUEST", `Unknown resolution "${options.resolution}".`, { hint: "Use minute, hour or day." });
      }
      const sinceMs = parseDuration(options.since ?? "24h");
      if (sinceMs === undefined || sinceMs <= 0) {
        throw new EngineError("API_BAD_REQUEST", `"${options.since}" is not a duration.`, { hint: "Write it like 90m, 24h or 7d." });
      }
      if (sinceMs > retentionMs[resolution]) {
        const days = retentionMs[resolution] / 86_400_000;
        throw new EngineError("API_BAD_REQUEST", `${resolution} buckets are kept ${days} days: --since ${options.since} reaches further back.`, {
          hint: resolution === "day" ? `Ask for at most ${days}d.` : `Ask for at most ${days}d, or a coarser --resolution.`,
        });
      }
      if (!m.status(name)) {
        const names = m.statuses().map((s) => s.name);
        throw new EngineError("CHECK_UNKNOWN", `No check named "${name}"${names.length ? ` (checks: ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""})` : ""}.`);
      }
      const points = await m.history(name, { resolution, sinceMs });
      return { check: name, resolution, since: engine.clock.now() - sinceMs, points };
    },
  };
}
