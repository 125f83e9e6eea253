import { z } from "zod";
import { formatDuration, parseDuration } from "../core/index.js";

/**
 * The longest duration a config may hold: 2^31-1 ms, about 24.8 days. Node's timers cannot wait
 * longer (a longer one fires at once), so a `release.watch: 25d` would end the moment it began.
 */
export const maxDurationMs = 2 ** 31 - 1;

/** What a duration of one config key may be. */
export interface DurationBounds {
  /** The shortest, in ms. Default 0. */
  min?: number;
  /** The longest, in ms. Default `maxDurationMs`, the longest timer: a key that is not a timer (an SLO window) may go further. */
  max?: number;
  /** How to write one, for the message of a value that is none: default "500ms, 5s, 5m or 1h". */
  examples?: string;
  /** The message of a duration out of bounds, given the value as written and in ms; default: what it is shorter or longer than. */
  outOfRange?: (value: string | number, ms: number) => string;
}

/**
 * A duration of engineroom.yaml: "500ms", "30s", "5m", "1h", "2d", or a whole number of
 * milliseconds, parsed to milliseconds within `bounds`. Each section's durations use it, so that
 * every key reads and refuses a duration the same way.
 *
 * @example durationSchema({ min: 1000, examples: "10s or 1m" }).default(10_000)
 */
export function durationSchema(bounds: DurationBounds = {}) {
  const { min = 0, max = maxDurationMs, examples = "500ms, 5s, 5m or 1h" } = bounds;
  return z.union([z.string(), z.number().int().nonnegative()]).transform((value, ctx) => {
    const ms = typeof value === "number" ? value : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a duration; write it like ${examples}` });
      return z.NEVER;
    }
    if (ms >= min && ms <= max) return ms;
    const written = typeof value === "number" ? `${value} ms` : `"${value}"`;
    ctx.addIssue({ code: "custom", message: bounds.outOfRange?.(value, ms) ?? defaultOutOfRange(written, ms, min, max) });
    return z.NEVER;
  });
}

function defaultOutOfRange(written: string, ms: number, min: number, max: number): string {
  if (ms < min) return `${written} is shorter than the shortest here, ${formatDuration(min)}`;
  if (max === maxDurationMs) return `${written} is longer than the longest duration, 24d (${maxDurationMs} ms): Node's timers cannot wait longer`;
  return `${written} is longer than the longest here, ${formatDuration(max)}`;
}
