/**
 * What a notification group sends when it flushes (Alertmanager's dispatcher and notification log,
 * in one pure function): its firing alerts when one is new to its receivers, resolved ones when
 * they end (with send_resolved), everything again at repeat_interval unless every firing alert is
 * acknowledged; muted alerts (silenced, inhibited) are left out and forgotten as notified, so that
 * they are notified afresh once the mute ends instead of waiting for the next repeat.
 */
import { newId } from "../core/index.js";
import type { Notification, NotifiedAlert } from "../notify/index.js";
import type { AlertGroupRecord, AlertRecord } from "../store/index.js";
import type { Route } from "./routing.js";

/** A notification carries at most this many alerts; the rest are counted in `truncatedAlerts`. */
export const maxAlertsPerNotification = 100;

export interface FlushPlan {
  /** What to send, if anything. */
  send: { status: "firing" | "resolved"; reason: "new" | "updated" | "resolved" | "repeat"; alerts: AlertRecord[] } | null;
  /** The group after the flush; null when it has nothing left and goes. */
  next: AlertGroupRecord | null;
}

/** An acknowledgement in force: the alert fires and the ack has not lapsed. */
export function ackActive(alert: AlertRecord, now: number): boolean {
  return alert.state === "firing" && alert.ack !== null && (alert.ack.until === null || alert.ack.until > now);
}

export function planFlush(group: AlertGroupRecord, members: readonly AlertRecord[], route: Route, now: number, muted: (alert: AlertRecord) => boolean): FlushPlan {
  const notified = new Set(group.notifiedFiring);
  const firing = members.filter((a) => a.state === "firing" && !muted(a));
  const resolved = members.filter((a) => a.state === "resolved" && notified.has(a.id));
  const newFiring = firing.some((a) => !notified.has(a.id));
  const newResolved = route.sendResolved && resolved.length > 0;
  const repeatDue =
    firing.length > 0 && group.lastNotifiedAt !== null && now - group.lastNotifiedAt >= route.repeatIntervalMs && !firing.every((a) => ackActive(a, now));
  const reason = newFiring ? (group.lastNotifiedAt === null ? "new" : "updated") : newResolved ? (firing.length ? "updated" : "resolved") : repeatDue ? "repeat" : null;
  const stillFiring = members.filter((a) => a.state === "firing").map((a) => a.id);
  const firingIds = new Set(firing.map((a) => a.id));
  const next: AlertGroupRecord | null =
    stillFiring.length === 0
      ? null
      : {
          ...group,
          receivers: route.receivers,
          alertIds: stillFiring,
          notifiedFiring: reason ? [...firingIds] : group.notifiedFiring.filter((id) => firingIds.has(id)),
          lastNotifiedAt: reason ? now : group.lastNotifiedAt,
          nextFlushAt: now + route.groupIntervalMs,
          updatedAt: now,
        };
  if (!reason) return { send: null, next };
  const alerts = [...firing, ...(route.sendResolved ? resolved : [])];
  return { send: { status: firing.length ? "firing" : "resolved", reason, alerts }, next };
}

export function notifiedAlert(alert: AlertRecord): NotifiedAlert {
  return {
    id: alert.id,
    status: alert.state,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    endsAt: alert.endsAt,
    fingerprint: alert.fingerprint,
  };
}

/** The labels (or annotations) every alert has with the same value. */
function common(records: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  if (records.length === 0) return {};
  const [first, ...rest] = records;
  return Object.fromEntries(Object.entries(first!).filter(([k, v]) => rest.every((r) => r[k] === v)));
}

/** The notification of a group's flush for one channel. */
export function groupNotification(
  channel: string,
  group: AlertGroupRecord,
  send: NonNullable<FlushPlan["send"]>,
  options: { now: number; externalURL: string },
): Notification {
  const firing = send.alerts.filter((a) => a.state === "firing");
  const shown = send.alerts.slice(0, maxAlertsPerNotification);
  const commonAnnotations = common(send.alerts.map((a) => a.annotations));
  const what = Object.values(group.groupLabels).join(" ") || send.alerts[0]?.rule || "alerts";
  const title = `[${send.status.toUpperCase()}${send.status === "firing" ? `:${firing.length}` : ""}] ${what}${commonAnnotations.summary ? `: ${commonAnnotations.summary}` : ""}`;
  return {
    id: newId("ntf", options.now),
    kind: "alerts",
    status: send.status,
    receiver: channel,
    groupKey: group.key,
    groupLabels: group.groupLabels,
    commonLabels: common(send.alerts.map((a) => a.labels)),
    commonAnnotations,
    externalURL: options.externalURL,
    alerts: shown.map(notifiedAlert),
    truncatedAlerts: send.alerts.length - shown.length,
    reason: send.reason,
    title,
    text: shown.map((a) => `${a.state === "firing" ? "firing" : "resolved"} ${a.rule} ${a.id}: ${a.annotations.summary ?? ""}`).join("\n"),
  };
}

/** A notice that is not about alerts (a silence created or expired) for one channel. */
export function noticeNotification(
  channel: string,
  notice: { key: string; status: "firing" | "resolved"; reason: string; title: string; text: string; labels: Record<string, string> },
  options: { now: number; externalURL: string },
): Notification {
  return {
    id: newId("ntf", options.now),
    kind: "notice",
    status: notice.status,
    receiver: channel,
    groupKey: notice.key,
    groupLabels: {},
    commonLabels: notice.labels,
    commonAnnotations: {},
    externalURL: options.externalURL,
    alerts: [],
    truncatedAlerts: 0,
    reason: notice.reason,
    title: notice.title,
    text: notice.text,
  };
}
