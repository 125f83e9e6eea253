/**
 * The contract between the alert domain (which decides what to say, to whom, when) and the channels
 * that carry it: a generic webhook (Alertmanager's webhook version 4 body, HMAC-signed), a
 * Slack-compatible incoming webhook, email over SMTP. One folder per channel type, in a typed
 * registry that also gives each type's options schema.
 */
import type { z } from "zod";
import type { Clock } from "../core/index.js";

/** One alert as a notification carries it (Alertmanager's webhook v4 alert object, times as epoch ms). */
export interface NotifiedAlert {
  /** The alert's id in the store, e.g. `alr_…`: what `engineroom alerts ack <id>` takes. */
  id: string;
  status: "firing" | "resolved";
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  startsAt: number;
  /** When it resolved; null while firing. */
  endsAt: number | null;
  /** Stable hash of the labels. */
  fingerprint: string;
  /** Where the alert comes from (Alertmanager's generatorURL); default: the notification's externalURL. */
  generatorURL?: string;
}

/**
 * A message for one channel: a group of alerts (Alertmanager's notification), or a notice that is
 * not about alerts (a silence created or expired).
 */
export interface Notification {
  /** Unique per notification, e.g. `ntf_…`; the delivery log keys on it. */
  id: string;
  kind: "alerts" | "notice";
  /** firing if any alert of the group fires. A notice is `firing` when created, `resolved` when it ends (e.g. a silence expired). */
  status: "firing" | "resolved";
  /** The route's receiver (a channel name). */
  receiver: string;
  /** Identifies the group across notifications (Alertmanager's groupKey). */
  groupKey: string;
  groupLabels: Readonly<Record<string, string>>;
  commonLabels: Readonly<Record<string, string>>;
  commonAnnotations: Readonly<Record<string, string>>;
  /** Where a person can look: the engine's API/dashboard base URL. */
  externalURL: string;
  alerts: readonly NotifiedAlert[];
  /** Alerts left out to keep the message small (Alertmanager's truncatedAlerts). */
  truncatedAlerts: number;
  /** Why it is sent now: `new`, `updated` (the group changed), `repeat`, `resolved`, `silence.created`, `silence.expired`. */
  reason: string;
  /** A one-line summary for people (Slack text, email subject). */
  title: string;
  /** A few lines more for people (notices use it; alert groups list their alerts). */
  text?: string;
}

/** How a channel's one attempt failed: the notifier retries unless `permanent`, not before `retryAfterMs`. */
export class ChannelError extends Error {
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  /** The receiver's HTTP status or SMTP reply code, when there was one. */
  readonly status: number | undefined;
  constructor(message: string, options: { permanent?: boolean; retryAfterMs?: number; status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ChannelError";
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/** What a receiver answered to an accepted attempt. */
export interface ChannelReceipt {
  /** The HTTP status or SMTP reply code. */
  status?: number;
}

/** One configured destination. */
export interface Channel {
  readonly name: string;
  readonly type: string;
  /** The longest one attempt may take (the type's `timeout` option); the notifier aborts `send` then. */
  readonly timeoutMs?: number;
  /** One attempt; resolves once the receiver accepted it. Throws ChannelError (messages free of secrets). `signal` aborts at the attempt's deadline. */
  send(notification: Notification, signal: AbortSignal): Promise<ChannelReceipt | void>;
  close?(): Promise<void>;
}

/** What a channel type's `create` gets besides its options. */
export interface ChannelContext {
  /** Time for signatures' timestamps. */
  clock: Clock;
}

/** A secret reference as a channel's options hold it before resolution: `{ secret: name, provider? }`. */
export interface ChannelSecretRef {
  secret: string;
  provider?: string;
}

/** Options with every secret reference replaced by its value (what `create` gets). */
export type Resolved<T> = T extends ChannelSecretRef
  ? string
  : T extends readonly (infer E)[]
    ? Resolved<E>[]
    : T extends object
      ? { [K in keyof T]: Resolved<T[K]> }
      : T;

/**
 * A channel type: its options' schema (as written under `channels.<name>`, secret references
 * included) and how it makes a channel. Secret references are resolved before `create`.
 */
export interface ChannelType<Options = unknown> {
  readonly options: z.ZodType<Options>;
  create(name: string, options: Resolved<Options>, context: ChannelContext): Channel;
}

/** The outcome of delivering one notification to one channel, retries included: one row of `engineroom alerts deliveries`. */
export interface Delivery {
  notificationId: string;
  channel: string;
  /** `pending` while retries remain. */
  state: "pending" | "delivered" | "failed";
  attempts: number;
  /** The last failure, free of secrets. */
  lastError: string | null;
  /** The receiver's last HTTP status or SMTP code. */
  lastStatus: number | null;
  createdAt: number;
  updatedAt: number;
  /** The notification's title, to tell rows apart. */
  title: string;
}
