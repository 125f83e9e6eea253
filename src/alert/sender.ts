/**
 * Hands notifications to the outbox, one per receiver channel: a group's flush to its route's
 * receivers, a silence's notice to the receivers its matchers route to (the default route's when
 * they name nothing more). A failure to queue is reported, never thrown: it must not stop a flush.
 */
import type { Notification } from "../notify/index.js";
import type { AlertGroupRecord } from "../store/index.js";
import { groupNotification, noticeNotification, type FlushPlan } from "./dispatcher.js";
import { matchRoutes, type Route } from "./routing.js";
import type { ActiveSilence } from "./silences.js";

/** Where notifications go: one per channel. The notify adapter's Notifier is one; it queues and never blocks. */
export interface NotificationOutbox {
  send(channel: string, notification: Notification): unknown;
}

export class Sender {
  readonly #outbox: NotificationOutbox;
  readonly #root: Route;
  readonly #externalURL: string;
  readonly #onError: (error: unknown) => void;

  constructor(outbox: NotificationOutbox, root: Route, externalURL: string, onError: (error: unknown) => void) {
    this.#outbox = outbox;
    this.#root = root;
    this.#externalURL = externalURL;
    this.#onError = onError;
  }

  group(route: Route, group: AlertGroupRecord, send: NonNullable<FlushPlan["send"]>, now: number): void {
    for (const channel of route.receivers) this.#deliver(channel, groupNotification(channel, group, send, { now, externalURL: this.#externalURL }));
  }

  notice(silence: ActiveSilence, notice: { status: "firing" | "resolved"; reason: string; title: string; text: string }, now: number): void {
    const labels = silence.impliedLabels();
    const channels = new Set(matchRoutes(this.#root, labels).flatMap((r) => r.receivers));
    for (const channel of channels) {
      this.#deliver(channel, noticeNotification(channel, { key: `silence:${silence.record.id}`, labels, ...notice }, { now, externalURL: this.#externalURL }));
    }
  }

  #deliver(channel: string, notification: Notification): void {
    try {
      const sent = this.#outbox.send(channel, notification);
      if (sent instanceof Promise) sent.catch(this.#onError);
    } catch (error) {
      this.#onError(error);
    }
  }
}
