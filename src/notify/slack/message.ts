import type { NotifiedAlert, Notification } from "../types.js";

/** Alerts shown one section each; the rest are counted in a context line (Slack allows 50 blocks, people read fewer). */
export const maxAlertSections = 5;

/** Block Kit's limits: a header's text, a section's text. */
const headerLimit = 150;
const sectionLimit = 3000;

/** A Slack incoming-webhook message: `text` is the fallback (notifications, old clients), `blocks` what people see. */
export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** Escapes the three characters Slack's mrkdwn gives meaning to. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** 🔴 FIRING / ✅ RESOLVED, or 📣 for a notice: the state at a glance, in the header and the fallback. */
function badge(notification: Notification): string {
  if (notification.kind === "notice") return notification.status === "firing" ? "📣 NOTICE" : "📣 ENDED";
  return notification.status === "firing" ? `🔴 FIRING${notification.alerts.length > 1 ? ` (${notification.alerts.length})` : ""}` : "✅ RESOLVED";
}

function alertSection(alert: NotifiedAlert): Record<string, unknown> {
  const state = alert.status === "firing" ? "🔴 *firing*" : "✅ *resolved*";
  const summary = alert.annotations.summary ?? alert.labels.alertname ?? alert.id;
  const lines = [`${state} · *${escapeMrkdwn(summary)}*`];
  if (alert.annotations.description) lines.push(escapeMrkdwn(alert.annotations.description));
  const labels = Object.entries(alert.labels).map(([k, v]) => `\`${escapeMrkdwn(k)}=${escapeMrkdwn(v)}\``);
  if (labels.length > 0) lines.push(labels.join(" "));
  lines.push(`since ${new Date(alert.startsAt).toISOString()}${alert.endsAt === null ? "" : `, resolved ${new Date(alert.endsAt).toISOString()}`} · id \`${alert.id}\``);
  return { type: "section", text: { type: "mrkdwn", text: cut(lines.join("\n"), sectionLimit) } };
}

/**
 * The message for one notification: a header with the state and title, a section per alert (up to
 * `maxAlertSections`, then a count of the rest), a notice's text as a section, and a context line
 * with why it was sent, the receiver and where to look.
 */
export function slackMessage(notification: Notification): SlackMessage {
  const heading = `${badge(notification)}: ${notification.title}`;
  const blocks: Array<Record<string, unknown>> = [{ type: "header", text: { type: "plain_text", text: cut(heading, headerLimit), emoji: true } }];
  if (notification.text) blocks.push({ type: "section", text: { type: "mrkdwn", text: cut(escapeMrkdwn(notification.text), sectionLimit) } });
  const shown = notification.alerts.slice(0, maxAlertSections);
  for (const alert of shown) blocks.push(alertSection(alert));
  const more = notification.alerts.length - shown.length + notification.truncatedAlerts;
  if (more > 0) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `and ${more} more alert${more === 1 ? "" : "s"}` }] });
  const where = notification.externalURL ? ` · <${notification.externalURL}|Engineroom>` : "";
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `${escapeMrkdwn(notification.reason)} · to ${escapeMrkdwn(notification.receiver)} · ${notification.id}${where}` }],
  });
  return { text: heading, blocks };
}
