import { EngineError, redactor as sharedRedactor, type Clock, type Redactor } from "../core/index.js";
import { ChannelError, type Channel, type ChannelReceipt, type Delivery, type Notification } from "./types.js";

/** How often and how patiently a notification is tried on one channel. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 6. */
  attempts: number;
  /** The wait after the first failure; it doubles after each one. Default 1 s. */
  initialBackoffMs: number;
  /** The longest wait between two attempts (a Retry-After is honoured up to `maxRetryAfterMs`). Default 60 s. */
  maxBackoffMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, initialBackoffMs: 1_000, maxBackoffMs: 60_000 };

/** A receiver's Retry-After is honoured up to this: a day-long one would hold the channel's queue for a day. */
export const maxRetryAfterMs = 600_000;

/** The attempt timeout of a channel that declares none. */
const defaultTimeoutMs = 10_000;

export interface NotifierOptions {
  channels: Iterable<Channel>;
  clock: Clock;
  /** Told of every state change of every delivery: queued (pending, 0 attempts), pending again after each failed attempt, then delivered or failed. */
  onDelivery?: (delivery: Delivery) => void;
  retry?: Partial<RetryPolicy>;
  /** Error messages pass through it before they reach a Delivery. Default: the engine's redactor. */
  redactor?: Redactor;
  /** In [0, 1): the jitter of the backoff. Default Math.random. */
  random?: () => number;
  /** Notifications waiting per channel before new ones fail at once. Default 1000. */
  maxQueue?: number;
}

interface Job {
  notification: Notification;
  /** Attempts in all for this one (the policy's unless the sender asked for fewer). */
  attempts: number;
  delivery: Delivery;
  done: (delivery: Delivery) => void;
}

interface Queue {
  channel: Channel;
  jobs: Job[];
  /** True while a loop works through `jobs`; set and cleared synchronously, so a job pushed as the loop ends is not left behind. */
  busy: boolean;
  /** The last loop, for close() to wait for. */
  running: Promise<void> | undefined;
}

/**
 * Delivers notifications to channels: one queue per channel, in order, one message in flight per
 * channel, so a channel that hangs or fails delays nothing but its own queue. Each attempt is
 * bounded by the channel's timeout; failures are retried with exponential backoff and jitter,
 * honouring a receiver's Retry-After, unless the channel says the failure is permanent.
 *
 * @example
 * const notifier = new Notifier({ channels, clock, onDelivery: (d) => store.deliveries.save(d) });
 * const delivery = await notifier.send("ops-slack", notification); // delivered | failed
 */
export class Notifier {
  readonly #queues = new Map<string, Queue>();
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  readonly #redactor: Redactor;
  readonly #random: () => number;
  readonly #maxQueue: number;
  readonly #listeners = new Set<(delivery: Delivery) => void>();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(options: NotifierOptions) {
    for (const channel of options.channels) {
      if (this.#queues.has(channel.name)) throw new EngineError("CONFIG_INVALID", `Two channels are named ${channel.name}.`);
      this.#queues.set(channel.name, { channel, jobs: [], busy: false, running: undefined });
    }
    this.#clock = options.clock;
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
    if (!(this.#retry.attempts >= 1)) throw new EngineError("INTERNAL", "A retry policy makes at least one attempt.");
    this.#redactor = options.redactor ?? sharedRedactor;
    this.#random = options.random ?? Math.random;
    this.#maxQueue = options.maxQueue ?? 1000;
    if (options.onDelivery) this.#listeners.add(options.onDelivery);
  }

  /** The channels, in the order configured. */
  get channels(): readonly Channel[] {
    return [...this.#queues.values()].map((q) => q.channel);
  }

  /** Adds a listener of every delivery's state changes (as `onDelivery`); answers its removal. */
  subscribe(listener: (delivery: Delivery) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Queues a notification for one channel and answers at once a promise of its final Delivery
   * (delivered or failed; it never rejects once queued). Rejects with CHANNEL_UNKNOWN for a channel
   * not configured. `attempts` overrides the retry policy's for this notification (a test notice
   * is tried once).
   */
  send(channel: string, notification: Notification, options: { attempts?: number } = {}): Promise<Delivery> {
    const queue = this.#queues.get(channel);
    if (!queue) {
      const known = [...this.#queues.keys()].join(", ") || "none";
      return Promise.reject(new EngineError("CHANNEL_UNKNOWN", `No channel named "${channel}" (the channels are: ${known}).`));
    }
    const now = this.#clock.now();
    const delivery: Delivery = {
      notificationId: notification.id,
      channel,
      state: "pending",
      attempts: 0,
      lastError: null,
      lastStatus: null,
      createdAt: now,
      updatedAt: now,
      title: notification.title,
    };
    return new Promise<Delivery>((done) => {
      const job: Job = { notification, attempts: Math.max(1, options.attempts ?? this.#retry.attempts), delivery, done };
      this.#report(delivery);
      if (this.#closing.signal.aborted) return this.#finish(job, "failed", "not sent: the notifier is closed");
      if (queue.jobs.length >= this.#maxQueue) return this.#finish(job, "failed", `not sent: ${this.#maxQueue} notifications already wait for channel ${channel}`);
      queue.jobs.push(job);
      if (!queue.busy) {
        queue.busy = true;
        queue.running = this.#work(queue);
      }
    });
  }

  /**
   * Stops: no attempt starts after it, the one in flight on each channel is aborted, and every
   * delivery not yet delivered ends as failed (and is reported). Then the channels are closed.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      const queues = [...this.#queues.values()];
      await Promise.all(queues.map((q) => q.running));
      for (const queue of queues) for (const job of queue.jobs.splice(0)) this.#finish(job, "failed", "not sent: the notifier closed first");
      await Promise.all(queues.map((q) => q.channel.close?.().catch(() => {})));
    })();
    return this.#closed;
  }

  async #work(queue: Queue): Promise<void> {
    try {
      for (let job = queue.jobs.shift(); job; job = queue.jobs.shift()) {
        if (this.#closing.signal.aborted) {
          queue.jobs.unshift(job); // close() fails it with the rest
          return;
        }
        await this.#deliver(queue.channel, job);
      }
    } finally {
      queue.busy = false;
    }
  }

  async #deliver(channel: Channel, job: Job): Promise<void> {
    const { delivery } = job;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(channel, job.notification);
      delivery.attempts = attempt;
      if (!(outcome instanceof ChannelError)) {
        delivery.lastStatus = outcome?.status ?? delivery.lastStatus;
        return this.#finish(job, "delivered", delivery.lastError);
      }
      delivery.lastStatus = outcome.status ?? delivery.lastStatus;
      const message = this.#redactor.redact(outcome.message);
      if (this.#closing.signal.aborted) return this.#finish(job, "failed", `not sent: the notifier closed during attempt ${attempt} (${message})`);
      if (outcome.permanent) return this.#finish(job, "failed", message);
      if (attempt >= job.attempts) return this.#finish(job, "failed", `${message} (gave up after ${attempt} attempts)`);
      delivery.lastError = message;
      delivery.updatedAt = this.#clock.now();
      this.#report(delivery);
      try {
        await this.#clock.sleep(this.#backoff(attempt, outcome.retryAfterMs), this.#closing.signal);
      } catch {
        return this.#finish(job, "failed", `not sent: the notifier closed while waiting to retry (${message})`);
      }
    }
  }

  /** One attempt, bounded by the channel's timeout and by close(); a failure is answered, never thrown. */
  async #attempt(channel: Channel, notification: Notification): Promise<ChannelReceipt | void | ChannelError> {
    const abort = new AbortController();
    const settled = new AbortController(); // ends the timeout's sleep once the attempt is over
    const timeoutMs = channel.timeoutMs ?? defaultTimeoutMs;
    const stop = (reason: ChannelError) => {
      abort.abort(reason);
      return reason;
    };
    const timedOut = this.#clock.sleep(timeoutMs, settled.signal).then(
      () => stop(new ChannelError(`channel ${channel.name} did not answer within ${timeoutMs} ms`)),
      () => new Promise<never>(() => {}),
    );
    const closed = new Promise<ChannelError>((resolve) => {
      const onClose = () => resolve(stop(new ChannelError(`channel ${channel.name}: the notifier closed`)));
      if (this.#closing.signal.aborted) return onClose();
      this.#closing.signal.addEventListener("abort", onClose, { once: true });
      settled.signal.addEventListener("abort", () => this.#closing.signal.removeEventListener("abort", onClose), { once: true });
    });
    try {
      const sending = Promise.resolve().then(() => channel.send(notification, abort.signal));
      sending.catch(() => {}); // an attempt that lost the race may still fail later
      return await Promise.race([sending, timedOut, closed]);
    } catch (error) {
      if (error instanceof ChannelError) return error;
      // Not a ChannelError: a bug or an unexpected failure; retried, its message redacted.
      return new ChannelError(`channel ${channel.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      settled.abort();
    }
  }

  /** The wait before attempt `attempt + 1`: the receiver's Retry-After if it gave one, else exponential with jitter in [½, 1] of the step. */
  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), maxRetryAfterMs);
    const step = Math.min(this.#retry.maxBackoffMs, this.#retry.initialBackoffMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + (this.#random() * step) / 2);
  }

  #finish(job: Job, state: "delivered" | "failed", lastError: string | null): void {
    const { delivery } = job;
    delivery.state = state;
    delivery.lastError = lastError;
    delivery.updatedAt = this.#clock.now();
    this.#report(delivery);
    job.done({ ...delivery });
  }

  #report(delivery: Delivery): void {
    for (const listener of this.#listeners) {
      try {
        listener({ ...delivery });
      } catch {
        // A listener's failure (a store that is down) must not stop the channel's queue.
      }
    }
  }
}
