import { performance } from "node:perf_hooks";
import type { ParsedCondition } from "./conditions.js";
import type { CheckDefinition, CheckResult, Condition, FieldKind, FieldValue, ProbeOutcome } from "./types.js";

/** What `runCheck` needs from its caller. */
export interface RunCheckOptions {
  /** Aborts the run (the scheduler stopping); the result then says `cancelled`. */
  signal?: AbortSignal;
  /** The clock's time, epoch ms, for `startedAt`. The duration is measured on the monotonic clock: it is a measurement, not a schedule. */
  now: () => number;
}

/**
 * Runs a check once: times its probe (the `response_time` field, ms), bounds it by the check's
 * timeout and `signal`, and judges the conditions, unless the probe could not complete (`error`),
 * which fails the run without judging. Never rejects; a probe that ignores its signal is left
 * behind at the deadline, so the result comes within the timeout and a few ms.
 */
export async function runCheck(definition: CheckDefinition, options: RunCheckOptions): Promise<CheckResult> {
  const startedAt = options.now();
  const started = performance.now();
  const outcome = await bounded(definition, options.signal);
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  const fields: Record<string, FieldValue> = { ...outcome.fields, response_time: durationMs };
  if (outcome.error !== undefined) return { check: definition.name, ok: false, startedAt, durationMs, fields, failed: [], error: outcome.error };
  const { failed, why } = judge(definition.conditions, fields);
  const result: CheckResult = { check: definition.name, ok: failed.length === 0, startedAt, durationMs, fields, failed };
  if (failed.length > 0) result.error = `failed: ${why.join(", ")}`;
  else if (definition.degradedConditions?.length) {
    // Judged only on a pass: a failing run is failing, not degraded.
    const degraded = judge(definition.degradedConditions, fields);
    if (degraded.failed.length > 0) {
      result.degraded = true;
      result.error = `degraded: ${degraded.why.join(", ")}`;
    }
  }
  return result;
}

/** The conditions that did not hold, as written, and each with the value its field had. */
function judge(conditions: readonly Condition[], fields: Readonly<Record<string, FieldValue>>): { failed: string[]; why: string[] } {
  const failed: string[] = [];
  const why: string[] = [];
  for (const condition of conditions) {
    if (condition.evaluate(fields)) continue;
    failed.push(condition.source);
    const { field, kind } = condition as Partial<ParsedCondition>;
    why.push(field === undefined ? condition.source : `${condition.source} (${field} was ${shown(fields[field], kind)})`);
  }
  return { failed, why };
}

/** The probe's outcome, or a timeout / cancellation at the deadline, whichever comes first. */
async function bounded(definition: CheckDefinition, outer: AbortSignal | undefined): Promise<ProbeOutcome> {
  if (outer?.aborted) return { fields: {}, error: "cancelled" };
  // One controller and one timer per run, rather than AbortSignal.timeout + AbortSignal.any: cheaper
  // at a thousand runs a second, and nothing stays registered on the scheduler's long-lived signal.
  const controller = new AbortController();
  let reason: string | undefined;
  let settle: (outcome: ProbeOutcome) => void = () => {};
  const deadline = new Promise<ProbeOutcome>((resolve) => (settle = resolve));
  const stop = (why: string): void => {
    reason ??= why;
    settle({ fields: {}, error: why });
    controller.abort(new Error(why));
  };
  const timer = setTimeout(stop, definition.timeoutMs, `timed out after ${definition.timeoutMs}ms`);
  const onAbort = (): void => stop("cancelled");
  outer?.addEventListener("abort", onAbort, { once: true });
  try {
    const outcome = await Promise.race([definition.probe.run(controller.signal), deadline]);
    // A probe that noticed the abort reports it in its own words; the reason is the timeout.
    return reason === undefined ? outcome : { fields: outcome.fields, error: reason };
  } catch (error) {
    return { fields: {}, error: reason ?? `probe failed: ${(error as Error)?.name ?? "error"}` };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

function shown(value: FieldValue | undefined, kind: FieldKind | undefined): string {
  if (value === undefined) return "absent";
  if (value === null) return "null";
  if (kind === "duration" && typeof value === "number") return durationShown(value);
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return String(value);
}

/**
 * A duration field as a person reads it: under a minute in ms, as measured (`1004ms`); longer ones —
 * a certificate's `cert_expires` — in their two largest units (`364d23h`, `-2d5h` once expired).
 */
function durationShown(ms: number): string {
  const size = Math.abs(ms);
  if (size < 60_000) return `${ms}ms`;
  const units: [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]];
  const first = units.findIndex(([, unit]) => size >= unit);
  let rest = size;
  const parts = units.slice(first, first + 2).map(([name, unit]) => {
    const count = Math.floor(rest / unit);
    rest -= count * unit;
    return count ? `${count}${name}` : "";
  });
  return `${ms < 0 ? "-" : ""}${parts.join("")}`;
}
