import type { EngineEvent, EventLog, IncidentRecord } from "../store/index.js";
import { endedAt } from "./lifecycle.js";

/** The most events a timeline shows (the oldest first). */
export const timelineLimit = 500;

/**
 * The id after which an incident's timeline starts: just before the first event of `service` (or
 * of any service) at or after `since`, looking back over its newest 500 events.
 */
export async function firstEventSince(events: Pick<EventLog, "list">, service: string | undefined, since: number): Promise<number> {
  const recent = await events.list({ ...(service !== undefined && { service }), limit: 500 });
  const first = recent.find((e) => e.time >= since);
  return first ? first.id - 1 : (recent.at(-1)?.id ?? 0);
}

/**
 * The incident's timeline from the engine's own events: those of its services in its environments
 * (or of no environment), of its releases, and its own, from before its impact began until it ended
 * (or now), oldest first.
 */
export async function buildTimeline(events: Pick<EventLog, "list">, incident: IncidentRecord): Promise<Pick<EngineEvent, "id" | "time" | "type" | "service" | "environment" | "releaseId" | "message">[]> {
  const until = endedAt(incident) ?? Number.POSITIVE_INFINITY;
  const found = new Map<number, EngineEvent>();
  const queries = [
    ...incident.services.map((service) => ({ service })),
    ...incident.releaseIds.map((releaseId) => ({ releaseId })),
    ...(incident.services.length === 0 ? incident.environments.map((environment) => ({ environment })) : []),
  ];
  for (const query of queries) {
    for (const e of await events.list({ ...query, afterId: incident.timelineAfterId, limit: timelineLimit })) {
      const ours = e.data.incidentId === incident.id;
      const inScope = e.environment === null || incident.environments.includes(e.environment) || (e.releaseId !== null && incident.releaseIds.includes(e.releaseId));
      const otherIncident = typeof e.data.incidentId === "string" && !ours;
      // Its own events to the end (a close comes after the resolve); the rest until it ended.
      if (otherIncident || !inScope || (!ours && e.time > until)) continue;
      found.set(e.id, e);
    }
  }
  return [...found.values()]
    .sort((a, b) => a.id - b.id)
    .slice(0, timelineLimit)
    .map(({ id, time, type, service, environment, releaseId, message }) => ({ id, time, type, service, environment, releaseId, message }));
}
