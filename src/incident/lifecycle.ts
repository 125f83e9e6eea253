import { EngineError } from "../core/index.js";
import type { IncidentRecord, IncidentState } from "../store/index.js";

/** The way forward, one step at a time (Rootly's fixed statuses): triage → investigating → mitigated → resolved → closed. */
export const forward: readonly IncidentState[] = ["triage", "investigating", "mitigated", "resolved", "closed"];

/** States in which an incident is still open: later signals of its cause join it, and it may be cancelled. */
export const openStates: readonly IncidentState[] = ["triage", "investigating", "mitigated"];

export function isOpen(state: IncidentState): boolean {
  return openStates.includes(state);
}

/** The states `from` may move to: the next one forward, and `cancelled` before resolved. */
export function allowedTransitions(from: IncidentState): IncidentState[] {
  const i = forward.indexOf(from);
  const next = i >= 0 && i < forward.length - 1 ? [forward[i + 1]!] : [];
  return isOpen(from) ? [...next, "cancelled"] : next;
}

/**
 * INCIDENT_TRANSITION_INVALID unless `to` is allowed from the incident's state. The engine's own
 * mitigation (`automatic`) may also go from triage or investigating straight to mitigated: traffic
 * is already back on a healthy release, whether or not a person has begun to investigate.
 */
export function checkTransition(incident: IncidentRecord, to: IncidentState, automatic = false): void {
  if (allowedTransitions(incident.state).includes(to)) return;
  if (automatic && to === "mitigated" && (incident.state === "triage" || incident.state === "investigating")) return;
  const allowed = allowedTransitions(incident.state);
  const back = forward.indexOf(to) >= 0 && forward.indexOf(to) <= forward.indexOf(incident.state);
  const why = to === incident.state ? `it is ${to} already` : back ? "an incident does not go back" : to === "cancelled" ? "only an open incident can be cancelled" : "a step cannot be skipped";
  throw new EngineError("INCIDENT_TRANSITION_INVALID", `Incident ${incident.id} is ${incident.state}: it cannot become ${to} (${why}); from ${incident.state} it can become ${allowed.join(" or ") || "nothing: it is over"}.`, {
    details: { state: incident.state, to, allowed },
  });
}

/**
 * When the next milestone is recorded: now, but never before the one before it (a clock that went
 * back, or an impact whose start is later than the clock says, keeps the timestamps in order).
 */
export function monotoneTime(incident: IncidentRecord, now: number): number {
  const times = [incident.openedAt, ...Object.values(incident.milestones).map((m) => m!.at)];
  return Math.max(now, ...times);
}

/** When the incident ended (resolved, closed or cancelled), if it has. */
export function endedAt(incident: IncidentRecord): number | undefined {
  const m = incident.milestones;
  return m.resolved?.at ?? m.cancelled?.at ?? m.closed?.at;
}
