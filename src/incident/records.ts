import { newId } from "../core/index.js";
import type { IncidentCause, IncidentRecord, NewEvent } from "../store/index.js";

/** A new incident in triage, before its severity is assessed. */
export function blankIncident(p: { title: string; cause: IncidentCause; keys: string[]; services: string[]; environments: string[]; releaseIds: string[]; startedAt: number; openedBy: string; now: number }): IncidentRecord {
  return {
    id: newId("inc", p.now),
    title: p.title,
    state: "triage",
    severity: "SEV4",
    severityReasons: [],
    severitySource: "computed",
    cause: p.cause,
    keys: p.keys,
    services: p.services,
    environments: p.environments,
    releaseIds: p.releaseIds,
    openedBy: p.openedBy,
    openedAt: p.now,
    startedAt: p.startedAt,
    commander: null,
    ack: null,
    milestones: {},
    escalatedAt: null,
    notes: [],
    signals: [],
    links: [],
    timelineAfterId: 0,
    updatedAt: p.now,
  };
}

/** An incident event, on its primary service, environment and release; `data` always carries the incident's id. */
export function incidentEvent(incident: IncidentRecord, type: string, message: string, data: Record<string, unknown>): NewEvent {
  return { type, service: incident.services[0] ?? null, environment: incident.environments[0] ?? null, releaseId: incident.releaseIds[0] ?? null, message, data: { incidentId: incident.id, ...data } };
}

/** `incident.opened` with exactly the data the reports read: severity, cause, startedAt, services, environments, releaseIds. */
export function openedEvent(incident: IncidentRecord): NewEvent {
  const { severity, cause, startedAt, services, environments, releaseIds } = incident;
  return incidentEvent(incident, "incident.opened", `incident ${incident.id} opened (${severity}): ${incident.title}`, { severity, cause, startedAt, services, environments, releaseIds });
}
