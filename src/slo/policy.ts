import { formatDuration } from "../core/index.js";
import { decimalFraction, type Fraction } from "./ratio.js";

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

/** The SLO window the SRE workbook's table is written for. */
export const referenceWindowMs = 30 * day;

/** Bad events a long window must hold before its pair may fire (one error in a quiet hour never pages). */
export const defaultMinBadEvents = 10;

/** How urgent a burn alert is. */
export type BurnSeverity = "page" | "ticket";

/** One long and short window pair: it fires when both burn at `factor` or faster. */
export interface WindowPair {
  longMs: number;
  shortMs: number;
  /** The burn rate, as written (e.g. "14.4"). */
  factor: string;
}

/** The pairs of one severity: the alert fires while any of them fires. */
export interface BurnRule {
  severity: BurnSeverity;
  pairs: WindowPair[];
}

/**
 * The SRE workbook's multi-window, multi-burn-rate defaults for a 30-day window: page at 14.4× over
 * 1 h and 5 m (2% of the budget in an hour), page at 6× over 6 h and 30 m (5% in 6 hours), ticket
 * at 1× over 3 d and 6 h (10% in 3 days).
 */
const workbook: BurnRule[] = [
  { severity: "page", pairs: [{ longMs: hour, shortMs: 5 * minute, factor: "14.4" }, { longMs: 6 * hour, shortMs: 30 * minute, factor: "6" }] },
  { severity: "ticket", pairs: [{ longMs: 3 * day, shortMs: 6 * hour, factor: "1" }] },
];

/**
 * The workbook's rules for an SLO window: every window scaled by window / 30 d and rounded to whole
 * minutes (at least one), since the history is kept per minute; the factors stay, so each pair
 * still fires on the same share of the budget.
 */
export function burnRules(windowMs: number): BurnRule[] {
  const scale = (ms: number) => Math.max(minute, Math.round((ms * windowMs) / referenceWindowMs / minute) * minute);
  return workbook.map((rule) => ({ ...rule, pairs: rule.pairs.map((p) => ({ ...p, longMs: scale(p.longMs), shortMs: scale(p.shortMs) })) }));
}

/** Every window the rules read, shortest first. */
export function ruleWindows(rules: readonly BurnRule[]): number[] {
  return [...new Set(rules.flatMap((r) => r.pairs.flatMap((p) => [p.longMs, p.shortMs])))].sort((a, b) => a - b);
}

/** The window whose burn rate says how fast the budget goes now: the first page pair's long window (1 h of 30 d). */
export function currentBurnWindow(rules: readonly BurnRule[]): number {
  return rules[0]!.pairs[0]!.longMs;
}

export const factorOf = (pair: WindowPair): Fraction => decimalFraction(Number(pair.factor));

/** Durations as people write them: 5m, 1h, 3d, 16h48m. */
export function windowText(ms: number): string {
  if (ms >= day && ms % day === 0) return `${ms / day}d`;
  return formatDuration(ms);
}

/** The rules and the low-traffic guard in one line, for `engineroom slo` and alert annotations. */
export function describePolicy(rules: readonly BurnRule[], minBadEvents: number): string {
  const severities = rules.map(
    (r) => `${r.severity} at ${r.pairs.map((p) => `${p.factor}× over ${windowText(p.longMs)} and ${windowText(p.shortMs)}`).join(", or ")}`,
  );
  return `${severities.join("; ")}; a pair fires only with at least ${minBadEvents} bad events in its long window`;
}
