/**
 * Incidents as their events tell them (the incident domain's contract: `incident.opened` with
 * severity, cause, startedAt, services, environments and releaseIds; then acknowledged,
 * investigating, mitigated, resolved, closed or cancelled, each with `incidentId`), and the times to
 * detect, acknowledge, mitigate, resolve and recover over them.
 */
import type { EngineEvent } from "../store/index.js";
import { span } from "./releases.js";
import { minuteMs, summarize } from "./stats.js";
import type { IncidentRow, Report } from "./types.js";

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

/** One row per incident opened by the events (oldest first); later events only fill the first time of each step. */
export function incidentTimelines(events: readonly EngineEvent[]): Map<string, IncidentRow> {
  const incidents = new Map<string, IncidentRow>();
  for (const event of events) {
    if (!event.type.startsWith("incident.")) continue;
    const id = typeof event.data.incidentId === "string" ? event.data.incidentId : undefined;
    if (!id) continue;
    const step = event.type.slice("incident.".length);
    let row = incidents.get(id);
    if (step === "opened" && !row) {
      const d = event.data;
      const cause = d.cause as { kind?: unknown; ref?: unknown } | undefined;
      row = {
        incidentId: id,
        severity: typeof d.severity === "string" ? d.severity : null,
        services: strings(d.services),
        environments: strings(d.environments),
        releaseIds: strings(d.releaseIds),
        cause: cause && typeof cause.kind === "string" ? { kind: cause.kind, ref: String(cause.ref ?? "") } : null,
        // An impact start after the opening would make detection negative: the opening bounds it.
        startedAt: typeof d.startedAt === "number" ? Math.min(d.startedAt, event.time) : event.time,
        openedAt: event.time,
        acknowledgedAt: null,
        mitigatedAt: null,
        resolvedAt: null,
        closedAt: null,
        cancelledAt: null,
        recoveryMs: null,
        eventIds: [],
      };
      incidents.set(id, row);
    }
    if (!row) continue; // opened before the period: not this report's
    row.eventIds.push(event.id);
    const at = event.time;
    if (step === "acknowledged") row.acknowledgedAt ??= at;
    else if (step === "mitigated") row.mitigatedAt ??= at;
    else if (step === "resolved") row.resolvedAt ??= at;
    else if (step === "closed") row.closedAt ??= at;
    else if (step === "cancelled") row.cancelledAt ??= at;
  }
  for (const row of incidents.values()) {
    const recovered = row.mitigatedAt ?? row.resolvedAt;
    row.recoveryMs = recovered === null ? null : recovered - row.startedAt;
  }
  return incidents;
}

/** The release ids each incident names (its releaseIds, and a release cause), by release. */
export function incidentsByRelease(incidents: Iterable<IncidentRow>): Map<string, string[]> {
  const byRelease = new Map<string, string[]>();
  for (const incident of incidents) {
    if (incident.cancelledAt !== null) continue;
    const ids = new Set(incident.releaseIds);
    if (incident.cause?.kind === "release" && incident.cause.ref) ids.add(incident.cause.ref);
    for (const id of ids) byRelease.set(id, [...(byRelease.get(id) ?? []), incident.incidentId]);
  }
  return byRelease;
}

export const recoveryDefinition =
  "recovery = from when the impact began (startedAt) to mitigated (or resolved, when it skipped mitigated); MTTR is its mean. " +
  "detect = opened − startedAt, acknowledge = acknowledged − opened, mitigate = mitigated − startedAt, resolve = resolved − startedAt. " +
  "Incidents opened in the period; cancelled ones are left out, open ones counted apart.";

/** The recovery figures over incidents opened in [since, until] (of `environment`, when given). */
export function recoveryFigures(all: Iterable<IncidentRow>, since: number, until: number, environment: string | undefined, targetMs = 15 * minuteMs): Report["scorecard"]["recovery"] {
  const rows = [...all].filter((r) => r.openedAt >= since && r.openedAt <= until && (environment === undefined || r.environments.includes(environment)));
  const real = rows.filter((r) => r.cancelledAt === null);
  const durations = (pick: (r: IncidentRow) => number | null) => real.flatMap((r) => {
    const v = pick(r);
    return v === null ? [] : [v];
  });
  const recovery = summarize(durations((r) => r.recoveryMs));
  const open = real.filter((r) => r.recoveryMs === null).length;
  const mttrMs = recovery?.meanMs ?? null;
  const text =
    real.length === 0 ? "no incidents" : recovery === null ? `${open} open, none recovered yet` : `${span(recovery.meanMs)} mean (median ${span(recovery.medianMs)}, p90 ${span(recovery.p90Ms)})${open ? `, ${open} open` : ""}`;
  return {
    targetMs,
    definition: recoveryDefinition,
    incidents: real.length,
    open,
    cancelled: rows.length - real.length,
    mttrMs,
    recovery,
    detect: summarize(durations((r) => r.openedAt - r.startedAt)),
    acknowledge: summarize(durations((r) => (r.acknowledgedAt === null ? null : r.acknowledgedAt - r.openedAt))),
    mitigate: summarize(durations((r) => (r.mitigatedAt === null ? null : r.mitigatedAt - r.startedAt))),
    resolve: summarize(durations((r) => (r.resolvedAt === null ? null : r.resolvedAt - r.startedAt))),
    meets: mttrMs === null ? null : mttrMs < targetMs,
    text,
    from: { incidents: rows },
  };
}

