/**
 * Silences: matchers, a required reason and expiry, the creator recorded, a maximum duration.
 * Checked here before anything is stored; the manager keeps them active, expires them at their end
 * or once they matched no alert for `expire_unused_after`.
 */
import { EngineError, formatDuration, newId } from "../core/index.js";
import type { SilenceRecord } from "../store/index.js";
import { matchesAll, parseMatcher, type Matcher } from "./matchers.js";

export interface NewSilence {
  matchers: readonly string[];
  reason: string;
  /** How long from now, ms. */
  forMs: number;
  createdBy: string;
}

/** A valid silence record from the input, or SILENCE_INVALID saying what is wrong. */
export function makeSilence(input: NewSilence, now: number, maxDurationMs: number): SilenceRecord {
  const problems: string[] = [];
  const matchers: string[] = [];
  if (!Array.isArray(input.matchers) || input.matchers.length === 0) problems.push("at least one matcher is required (--match name=value)");
  for (const text of Array.isArray(input.matchers) ? input.matchers : []) {
    const parsed = typeof text === "string" ? parseMatcher(text) : ({ ok: false, problem: "a matcher is a string" } as const);
    if (parsed.ok) matchers.push(parsed.matcher.text);
    else problems.push(parsed.problem);
  }
  if (typeof input.reason !== "string" || input.reason.trim() === "") problems.push("a reason is required (--reason)");
  if (typeof input.forMs !== "number" || !Number.isFinite(input.forMs) || input.forMs <= 0) problems.push("an expiry is required (--for, e.g. 2h)");
  else if (input.forMs > maxDurationMs) problems.push(`${formatDuration(input.forMs)} is longer than the longest silence, ${formatDuration(maxDurationMs)} (alerts.silences.max_duration)`);
  if (problems.length > 0) {
    throw new EngineError("SILENCE_INVALID", `The silence was not created: ${problems.join("; ")}.`, { details: { problems } });
  }
  return {
    id: newId("sil", now),
    matchers,
    reason: input.reason.trim(),
    createdBy: input.createdBy || "unknown",
    createdAt: now,
    startsAt: now,
    endsAt: now + input.forMs,
    expiredAt: null,
    expiredBy: null,
    expiredReason: null,
    lastMatchedAt: now,
    updatedAt: now,
  };
}

/** A silence with its matchers parsed once. */
export class ActiveSilence {
  readonly record: SilenceRecord;
  readonly matchers: Matcher[];

  constructor(record: SilenceRecord) {
    this.record = record;
    this.matchers = record.matchers.map((text) => {
      const parsed = parseMatcher(text);
      if (!parsed.ok) throw new Error(parsed.problem);
      return parsed.matcher;
    });
  }

  matches(labels: Readonly<Record<string, string>>): boolean {
    return matchesAll(this.matchers, labels);
  }

  /** The labels its equality matchers name: what its notices are routed by. */
  impliedLabels(): Record<string, string> {
    return Object.fromEntries(this.matchers.filter((m) => m.op === "=").map((m) => [m.name, m.value]));
  }
}
