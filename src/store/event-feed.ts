import type { Clock } from "../core/index.js";
import type { EngineEvent, EventLog } from "./types.js";

export interface EventFeedOptions {
  events: Pick<EventLog, "list">;
  /** The event types it reads (exact types: the log's type index finds them). */
  types: readonly string[];
  clock: Clock;
  /** Called once per event, in the order of the log; a throw is reported and the feed goes on. */
  onEvent: (event: EngineEvent) => Promise<unknown>;
  /** Time between two reads of the log; default 2 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the event log for some types of event, on the clock, from an id on: the least coupled way
 * for one part to hear of another's doings (no part calls it). Each event is handled once, in order.
 *
 * @example
 * const feed = new EventFeed({ events: store.events, types: ["incident.resolved"], clock, onEvent: (e) => draft(e.data.incidentId) });
 * feed.start(startedId);  … await feed.stop();
 */
export class EventFeed {
  readonly #o: EventFeedOptions;
  readonly #abort = new AbortController();
  #afterId = 0;
  #loop: Promise<void> | undefined;

  constructor(options: EventFeedOptions) {
    this.#o = options;
  }

  /** Reads the events after `afterId` (e.g. just before the engine's own `engine.started`), then every interval. */
  start(afterId: number): void {
    this.#afterId = afterId;
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        try {
          await this.#o.clock.sleep(this.#o.intervalMs ?? 2_000, signal);
          await this.poll();
        } catch (error) {
          if (!signal.aborted) this.#o.onError?.(error);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  /** Handles what was appended since the last read; answers how many events it read. */
  async poll(): Promise<number> {
    let read = 0;
    for (;;) {
      const batch = await this.#o.events.list({ afterId: this.#afterId, types: [...this.#o.types], limit: 100 });
      for (const event of batch) {
        try {
          await this.#o.onEvent(event);
        } catch (error) {
          this.#o.onError?.(error); // one bad event does not stop the rest
        }
        this.#afterId = event.id;
      }
      read += batch.length;
      if (batch.length < 100) return read;
    }
  }
}
