import type { Notification } from "../types.js";

/** What Alertmanager sends as `endsAt` for an alert that still fires: Go's zero time. */
export const zeroTime = "0001-01-01T00:00:00Z";

/** Engineroom's own fields, under the one extra key `engineroom` so that v4 receivers ignore them. */
export interface EngineroomExtras {
  notificationId: string;
  kind: Notification["kind"];
  reason: string;
  title: string;
  text: string | null;
  /** The alerts' ids in the same order as `alerts`: what `engineroom alerts ack <id>` takes. */
  alertIds: string[];
}

/** Alertmanager's webhook message, version 4 (notify/webhook/webhook.go `Message` over template.Data). */
export interface WebhookV4Body {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: "firing" | "resolved";
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
  engineroom: EngineroomExtras;
}

/** RFC 3339 in UTC, as Alertmanager writes times. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The webhook body of a notification. A notice (a silence created or expired) has the same shape
 * with no alerts; what it says is in `engineroom.title` and `engineroom.text`.
 */
export function webhookBody(notification: Notification): WebhookV4Body {
  return {
    version: "4",
    groupKey: notification.groupKey,
    truncatedAlerts: notification.truncatedAlerts,
    status: notification.status,
    receiver: notification.receiver,
    groupLabels: { ...notification.groupLabels },
    commonLabels: { ...notification.commonLabels },
    commonAnnotations: { ...notification.commonAnnotations },
    externalURL: notification.externalURL,
    alerts: notification.alerts.map((alert) => ({
      status: alert.status,
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
      startsAt: rfc3339(alert.startsAt),
      endsAt: alert.endsAt === null ? zeroTime : rfc3339(alert.endsAt),
      generatorURL: alert.generatorURL ?? notification.externalURL,
      fingerprint: alert.fingerprint,
    })),
    engineroom: {
      notificationId: notification.id,
      kind: notification.kind,
      reason: notification.reason,
      title: notification.title,
      text: notification.text ?? null,
      alertIds: notification.alerts.map((alert) => alert.id),
    },
  };
}
