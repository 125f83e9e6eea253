/**
 * Noise, measured: every resolved alert gets an outcome inferred from what followed (a person may
 * override it), and the report gives the false-positive ratio — (noise + duplicate) over the
 * classified alerts — per rule and overall, against the 10% target.
 *
 * The inference, in this order:
 * - `actionable`: acknowledged, and an action on its service/environment followed within
 *   `action_within` of the acknowledgement; or the engine rolled back its service/environment
 *   while it fired (an automatic rollback is the engine acting on it);
 * - `duplicate`: when it began, another alert of the same rule and the same service and
 *   environment labels (a missing label counts as "") was already firing;
 * - `noise`: resolved by itself within `self_resolve_within` of its start, never acknowledged;
 * - else `unclassified` (not counted in the ratio).
 */
import type { AlertOutcome, AlertRecord, EngineEvent, EventLog } from "../store/index.js";

/** Event types that are actions on a service: a rollback, a restart, a deploy, a runbook run. Prefixes end in `.`. */
export const actionEventTypes = ["release.rolled-back", "release.pending", "release.approved", "instance.restarted", "runbook."];

export const noiseTarget = 0.1;

export interface NoiseSettings {
  selfResolveWithinMs: number;
  actionWithinMs: number;
}

/** Whether an event is about the alert's service and environment (labels it does not have do not restrict). */
export function concerns(alert: Pick<AlertRecord, "labels">, event: Pick<EngineEvent, "service" | "environment">): boolean {
  const { service, environment } = alert.labels;
  if (service && event.service !== service) return false;
  if (environment && event.environment !== environment) return false;
  return true;
}

function isAction(event: EngineEvent): boolean {
  return actionEventTypes.some((type) => (type.endsWith(".") ? event.type.startsWith(type) : event.type === type));
}

/** The outcome of a resolved alert, from the actions that concern it (any order). */
export function inferOutcome(alert: AlertRecord, events: readonly EngineEvent[], settings: NoiseSettings): { value: AlertOutcome; reason: string } {
  const actions = events.filter((e) => isAction(e) && concerns(alert, e));
  const end = alert.endsAt ?? Number.POSITIVE_INFINITY;
  if (alert.ack) {
    const ackAt = alert.ack.at;
    const acted = actions.find((e) => e.time >= ackAt && e.time <= ackAt + settings.actionWithinMs);
    if (acted) return { value: "actionable", reason: `acknowledged by ${alert.ack.by}, then ${acted.type} (event ${acted.id})` };
  }
  const rollback = actions.find((e) => e.type === "release.rolled-back" && e.time >= alert.startsAt && e.time <= end);
  if (rollback) return { value: "actionable", reason: `the release was rolled back while it fired (event ${rollback.id})` };
  if (alert.duplicateOf) return { value: "duplicate", reason: `fired while ${alert.duplicateOf} of the same rule, service and environment was firing` };
  if (!alert.ack && alert.endsAt !== null && alert.endsAt - alert.startsAt <= settings.selfResolveWithinMs) {
    return { value: "noise", reason: `resolved by itself within ${Math.round((alert.endsAt - alert.startsAt) / 1000)}s, never acknowledged` };
  }
  return { value: "unclassified", reason: alert.ack ? "acknowledged, but no action followed in time" : "fired longer than the self-resolve window, never acted on" };
}

/**
 * Decides a resolved alert's outcome from the event log: the outcome, or when to look again (while
 * an action may still follow its acknowledgement, only `actionable` is decided early).
 */
export async function decideOutcome(
  alert: AlertRecord,
  events: Pick<EventLog, "list">,
  settings: NoiseSettings,
  now: () => number,
): Promise<{ value: AlertOutcome; reason: string } | { retryAt: number }> {
  const { service, environment } = alert.labels;
  const actions = await events.list({ ...(service && { service }), ...(environment && { environment }), types: actionEventTypes, limit: 500 });
  const inferred = inferOutcome(alert, actions, settings);
  const windowEnds = alert.ack ? alert.ack.at + settings.actionWithinMs : 0;
  if (inferred.value !== "actionable" && windowEnds > now()) return { retryAt: windowEnds };
  return inferred;
}

export interface RuleNoise {
  rule: string;
  alerts: number;
  actionable: number;
  noise: number;
  duplicate: number;
  unclassified: number;
  /** Still firing or not yet classified. */
  open: number;
  /** (noise + duplicate) / (actionable + noise + duplicate); null when none is classified. */
  falsePositiveRatio: number | null;
}

export interface NoiseReport {
  since: number;
  until: number;
  target: number;
  overall: RuleNoise;
  rules: RuleNoise[];
  /** Rules above the target, noisiest first (most false positives, then the highest ratio). */
  noisiest: string[];
  meetsTarget: boolean | null;
}

/** The noise report over alerts that began in [since, until]. */
export function noiseReport(alerts: readonly AlertRecord[], since: number, until: number): NoiseReport {
  const byRule = new Map<string, RuleNoise>();
  const overall = emptyRule("all rules");
  for (const alert of alerts) {
    if (alert.startsAt < since || alert.startsAt > until) continue;
    let rule = byRule.get(alert.rule);
    if (!rule) byRule.set(alert.rule, (rule = emptyRule(alert.rule)));
    for (const counts of [rule, overall]) {
      counts.alerts++;
      if (alert.outcome) counts[alert.outcome.value]++;
      else counts.open++;
    }
  }
  const rules = [...byRule.values()].map(withRatio).sort((a, b) => a.rule.localeCompare(b.rule));
  const falsePositives = (r: RuleNoise) => r.noise + r.duplicate;
  const noisiest = rules
    .filter((r) => r.falsePositiveRatio !== null && r.falsePositiveRatio > noiseTarget)
    .sort((a, b) => falsePositives(b) - falsePositives(a) || b.falsePositiveRatio! - a.falsePositiveRatio! || a.rule.localeCompare(b.rule))
    .map((r) => r.rule);
  const total = withRatio(overall);
  return { since, until, target: noiseTarget, overall: total, rules, noisiest, meetsTarget: total.falsePositiveRatio === null ? null : total.falsePositiveRatio <= noiseTarget };
}

function emptyRule(rule: string): RuleNoise {
  return { rule, alerts: 0, actionable: 0, noise: 0, duplicate: 0, unclassified: 0, open: 0, falsePositiveRatio: null };
}

function withRatio(r: RuleNoise): RuleNoise {
  const classified = r.actionable + r.noise + r.duplicate;
  return { ...r, falsePositiveRatio: classified === 0 ? null : (r.noise + r.duplicate) / classified };
}
