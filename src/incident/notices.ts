import { formatDuration, newId, redactor } from "../core/index.js";
import type { Notification } from "../notify/index.js";
import type { IncidentRecord } from "../store/index.js";
import { isOpen } from "./lifecycle.js";

/** Where notices go: the engine's Notifier (one ordered queue per channel, retried, in the delivery log). */
export interface IncidentOutbox {
  send(channel: string, notification: Notification): unknown;
}

/** Why a notice is sent: `incident.opened`, `incident.updated` (ack, note, commander, severity, a state), `incident.resolved`, `incident.escalated`… */
export interface IncidentNotice {
  reason: string;
  /** What changed, one line each (the notice's first lines). */
  changes: string[];
}

/** A one-line name for an incident: `[SEV2] inc_… web v2 rolled back in production`. */
export function incidentLabel(incident: IncidentRecord): string {
  return `[${incident.severity}] ${incident.id} ${incident.title}`;
}

/**
 * A status update about an incident as a notice (kind `notice`, the v4 shape with `alerts: []`):
 * `firing` while the incident is open, `resolved` once it is resolved, closed or cancelled. Its
 * group key is the incident's, so a receiver can thread the updates.
 */
export function incidentNotification(incident: IncidentRecord, channel: string, notice: IncidentNotice, options: { now: number; externalURL: string }): Notification {
  const verb = notice.reason === "incident.opened" ? "opened" : notice.reason === "incident.escalated" ? "ESCALATED: nobody acknowledged" : incident.state;
  const lines = [
    ...notice.changes,
    `state: ${incident.state}${incident.ack ? `, acknowledged by ${incident.ack.by}` : ", not acknowledged"}${incident.commander ? `, commander ${incident.commander}` : ""}`,
    `severity ${incident.severity}: ${incident.severityReasons.join("; ")}`,
    `impact: ${[...incident.services].join(", ") || "no service"} in ${[...incident.environments].join(", ") || "no environment"}, since ${new Date(incident.startedAt).toISOString()} (${formatDuration(Math.max(0, options.now - incident.startedAt))} ago)`,
    ...incident.links.filter((l) => l.kind === "release").map((l) => releaseLine(l.ref, l.detail)),
    `engineroom incidents show ${incident.id}`,
  ];
  return {
    id: newId("ntf", options.now),
    kind: "notice",
    status: isOpen(incident.state) ? "firing" : "resolved",
    receiver: channel,
    groupKey: `incident:${incident.id}`,
    groupLabels: {},
    commonLabels: {
      incident: incident.id,
      severity: incident.severity,
      state: incident.state,
      ...(incident.services[0] !== undefined && { service: incident.services[0] }),
      ...(incident.environments[0] !== undefined && { environment: incident.environments[0] }),
    },
    commonAnnotations: {},
    externalURL: options.externalURL,
    alerts: [],
    truncatedAlerts: 0,
    reason: notice.reason,
    // Notes and titles are people's and the engine's words: a secret value pasted into one never leaves.
    title: redactor.redact(`Incident ${verb}: ${incidentLabel(incident)}`),
    text: redactor.redact(lines.join("\n")),
  };
}

function releaseLine(releaseId: string, detail: Record<string, unknown>): string {
  const diff = Array.isArray(detail.configDiff) ? detail.configDiff.length : 0;
  const digest = typeof detail.artifactDigest === "string" ? detail.artifactDigest.slice(0, 19) : "?";
  return `release ${detail.service} v${detail.number} (${releaseId}, ${digest}) ${detail.state}; ${diff} config key(s) changed; ${detail.deployedBy ?? ""}`;
}
