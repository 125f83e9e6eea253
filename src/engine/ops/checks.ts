import { EngineError, formatDuration, parseDuration } from "../../core/index.js";
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
      const beyond = beyondRetention(resolution, sinceMs, options.since ?? "24h");
      if (beyond) throw new EngineError("API_BAD_REQUEST", beyond.message, { hint: beyond.hint });
      if (!m.status(name)) {
        const names = m.statuses().map((s) => s.name);
        throw new EngineError("CHECK_UNKNOWN", `No check named "${name}"${names.length ? ` (checks: ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""})` : ""}.`);
      }
      const points = await m.history(name, { resolution, sinceMs });
      return { check: name, resolution, since: engine.clock.now() - sinceMs, points };
    },
  };
}

const dayMs = 86_400_000;

/** How long a resolution's buckets are kept, as a person writes it: 24h, 35d, 400d. */
function kept(resolution: CheckResolution): string {
  const ms = retentionMs[resolution];
  return ms > dayMs && ms % dayMs === 0 ? `${ms / dayMs}d` : formatDuration(ms);
}

/**
 * The message and hint for a `--since` further back than `resolution` keeps (undefined when it is
 * not): "minutes are kept 24h; use --resolution hour for 2d".
 */
export function beyondRetention(resolution: CheckResolution, sinceMs: number, since: string): { message: string; hint: string } | undefined {
  if (sinceMs <= retentionMs[resolution]) return undefined;
  const coarser = resolutions.slice(resolutions.indexOf(resolution) + 1).find((r) => retentionMs[r] >= sinceMs);
  return {
    message: `${resolution === "day" ? "Days" : resolution === "hour" ? "Hours" : "Minutes"} are kept ${kept(resolution)}: --since ${since} reaches further back.`,
    hint: coarser ? `Use --resolution ${coarser} for ${since}, or ask for at most ${kept(resolution)}.` : `Ask for at most ${kept(resolution)}.`,
  };
}
