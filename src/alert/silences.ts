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
  else if (input.forMs > maxDurationMs) problems.push(`${inDays(input.forMs)} is longer than the longest silence, ${inDays(maxDurationMs)} (alerts.silences.max_duration)`);
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

/** How stale a silence's stored lastMatchedAt may get before a use is written (uses are frequent; expiry is in hours). */
const matchWriteEveryMs = 60_000;

/** The active silences: which one mutes an alert, and which are due to expire (at their end, or unused). */
export class SilenceBook {
  readonly #active = new Map<string, ActiveSilence>();
  readonly #saved = new Map<string, number>();
  readonly #expireUnusedMs: number;

  constructor(expireUnusedMs: number) {
    this.#expireUnusedMs = expireUnusedMs;
  }

  add(record: SilenceRecord): ActiveSilence {
    const silence = new ActiveSilence(record);
    this.#active.set(record.id, silence);
    this.#saved.set(record.id, record.lastMatchedAt);
    return silence;
  }

  get(id: string): ActiveSilence | undefined {
    return this.#active.get(id);
  }

  /** The silence that mutes these labels; marks it used (`save` is true when the use should be written). */
  muting(labels: Readonly<Record<string, string>>, now: number): { silence: ActiveSilence; save: boolean } | undefined {
    for (const silence of this.#active.values()) {
      if (!silence.matches(labels)) continue;
      silence.record.lastMatchedAt = Math.max(silence.record.lastMatchedAt, now);
      const save = now - (this.#saved.get(silence.record.id) ?? 0) >= matchWriteEveryMs;
      if (save) {
        this.#saved.set(silence.record.id, now);
        silence.record.updatedAt = now;
      }
      return { silence, save };
    }
    return undefined;
  }

  nextDue(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.#active.values()) next = Math.min(next, s.record.endsAt, s.record.lastMatchedAt + this.#expireUnusedMs);
    return next;
  }

  /** The silences to expire by `now` and why; one still matching a firing alert (`inUse`) is kept and marked used. */
  due(now: number, inUse: (silence: ActiveSilence) => boolean): { silence: ActiveSilence; reason: "ended" | "unused" }[] {
    const due: { silence: ActiveSilence; reason: "ended" | "unused" }[] = [];
    for (const silence of this.#active.values()) {
      if (silence.record.endsAt <= now) due.push({ silence, reason: "ended" });
      else if (silence.record.lastMatchedAt + this.#expireUnusedMs <= now) {
        if (inUse(silence)) silence.record.lastMatchedAt = now;
        else due.push({ silence, reason: "unused" });
      }
    }
    return due;
  }

  /** Ends a silence: recorded as expired by `by` for `reason`, and no longer active. */
  end(silence: ActiveSilence, now: number, by: string, reason: string): SilenceRecord {
    Object.assign(silence.record, { expiredAt: now, expiredBy: by, expiredReason: reason, updatedAt: now });
    this.#active.delete(silence.record.id);
    this.#saved.delete(silence.record.id);
    return silence.record;
  }
}

/** A duration of whole days as days (`8d`, `7d`, as written in engineroom.yaml), any other as formatDuration does. */
function inDays(ms: number): string {
  return ms >= 86_400_000 && ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}
