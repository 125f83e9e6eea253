import type { Clock } from "../core/index.js";
import type { EventLog } from "../store/index.js";

export interface ResolveFollowerOptions {
  events: Pick<EventLog, "list">;
  clock: Clock;
  /** Called once per `incident.resolved` event, in order. */
  onResolved: (incidentId: string) => Promise<unknown>;
  /** Time between two reads of the event log; default 2 s. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the event log for `incident.resolved` (no part calls the post-mortems; the incident
 * manager need not know of them), from the id it starts after.
 */
export class ResolveFollower {
  readonly #o: ResolveFollowerOptions;
  readonly #abort = new AbortController();
  #afterId = 0;
  #loop: Promise<void> | undefined;

  constructor(options: ResolveFollowerOptions) {
    this.#o = options;
  }

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

  /** Handles what was appended since the last read; answers how many resolves it handled. */
  async poll(): Promise<number> {
    let handled = 0;
    for (;;) {
      const batch = await this.#o.events.list({ afterId: this.#afterId, types: ["incident.resolved"], limit: 100 });
      for (const event of batch) {
        if (typeof event.data.incidentId === "string") {
          try {
            await this.#o.onResolved(event.data.incidentId);
            handled++;
          } catch (error) {
            this.#o.onError?.(error); // one failed draft does not stop the rest
          }
        }
        this.#afterId = event.id;
      }
      if (batch.length < 100) return handled;
    }
  }
}
