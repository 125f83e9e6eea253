/**
 * The notify adapter: channels that carry notifications, and the notifier that delivers them.
 *
 * Channel types (`type:` under `channels.<name>` in engineroom.yaml): `webhook` (Alertmanager's
 * webhook v4 JSON, HMAC-signed), `slack` (a Slack-compatible incoming webhook, Block Kit), `email`
 * (SMTP through nodemailer, STARTTLS or implicit TLS). New types are added in registry.ts only.
 * The Notifier keeps one ordered queue per channel, retries with backoff, and reports every
 * Delivery; what to send and when is the alert domain's decision.
 */
export { ChannelError } from "./types.js";
export type { Channel, ChannelContext, ChannelReceipt, ChannelSecretRef, ChannelType, Delivery, NotifiedAlert, Notification, Resolved } from "./types.js";
export {
  channelConfigSchema,
  channelSecretRefs,
  channelTypes,
  checkChannelsConfig,
  createChannels,
  parseChannelsConfig,
  type ChannelConfig,
  type ChannelsConfig,
  type ChannelTypeName,
} from "./registry.js";
export { defaultRetryPolicy, maxRetryAfterMs, Notifier, type NotifierOptions, type RetryPolicy } from "./notifier.js";
export { signatureHeader, timestampHeader, webhookBody, webhookSignature, zeroTime, type EngineroomExtras, type WebhookV4Body } from "./webhook/index.js";
export { slackMessage, type SlackMessage } from "./slack/index.js";
export { emailMessage, type EmailMessage } from "./email/index.js";
