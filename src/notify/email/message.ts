import type { NotifiedAlert, Notification } from "../types.js";

/** The parts of one email: the subject is the notification's title. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function time(ms: number): string {
  return new Date(ms).toISOString();
}

function labelsOf(alert: NotifiedAlert): string {
  return Object.entries(alert.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

function summaryOf(alert: NotifiedAlert): string {
  return alert.annotations.summary ?? alert.labels.alertname ?? alert.id;
}

function footer(notification: Notification): string {
  return `Sent because: ${notification.reason} · to ${notification.receiver} · ${notification.id}`;
}

/** The plain-text and HTML parts of one notification: the title, a notice's text, each alert (state, summary, description, labels, times, id). */
export function emailMessage(notification: Notification): EmailMessage {
  const state = notification.kind === "notice" ? "NOTICE" : notification.status.toUpperCase();
  const more = notification.truncatedAlerts;
  const text = [
    `[${state}] ${notification.title}`,
    "",
    ...(notification.text ? [notification.text, ""] : []),
    ...notification.alerts.flatMap((alert) => [
      `${alert.status.toUpperCase()}  ${summaryOf(alert)}`,
      ...(alert.annotations.description ? [`  ${alert.annotations.description}`] : []),
      `  labels: ${labelsOf(alert)}`,
      `  since ${time(alert.startsAt)}${alert.endsAt === null ? "" : `, resolved ${time(alert.endsAt)}`} · id ${alert.id}`,
      "",
    ]),
    ...(more > 0 ? [`and ${more} more alert${more === 1 ? "" : "s"}`, ""] : []),
    footer(notification),
    ...(notification.externalURL ? [notification.externalURL] : []),
    "",
  ].join("\n");

  const colour = notification.kind === "notice" ? "#555555" : notification.status === "firing" ? "#c0392b" : "#27ae60";
  const rows = notification.alerts
    .map((alert) => {
      const description = alert.annotations.description ? `<br>${escapeHtml(alert.annotations.description)}` : "";
      const resolved = alert.endsAt === null ? "" : `, resolved ${time(alert.endsAt)}`;
      return (
        `<tr><td style="padding:4px 8px;font-weight:bold">${escapeHtml(alert.status.toUpperCase())}</td>` +
        `<td style="padding:4px 8px"><b>${escapeHtml(summaryOf(alert))}</b>${description}<br><code>${escapeHtml(labelsOf(alert))}</code>` +
        `<br><small>since ${time(alert.startsAt)}${resolved} · id ${escapeHtml(alert.id)}</small></td></tr>`
      );
    })
    .join("");
  const link = notification.externalURL ? ` · <a href="${escapeHtml(notification.externalURL)}">Engineroom</a>` : "";
  const html = [
    `<!doctype html><html><body style="font-family:sans-serif">`,
    `<h2 style="color:${colour}">[${state}] ${escapeHtml(notification.title)}</h2>`,
    notification.text ? `<p style="white-space:pre-wrap">${escapeHtml(notification.text)}</p>` : "",
    rows ? `<table style="border-collapse:collapse">${rows}</table>` : "",
    more > 0 ? `<p>and ${more} more alert${more === 1 ? "" : "s"}</p>` : "",
    `<p><small>${escapeHtml(footer(notification))}${link}</small></p>`,
    `</body></html>`,
  ].join("");
  return { subject: notification.title, text, html };
}
