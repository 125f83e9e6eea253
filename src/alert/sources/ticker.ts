import type { Clock } from "../../core/index.js";

/**
 * Runs `tick` every `intervalMs` of the clock until stopped, one run at a time (a slow run delays
 * the next instead of overlapping it). A failing run is reported to `onError` and the ticks go on.
 */
export class Ticker {
  readonly #abort = new AbortController();
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #tick: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #loop: Promise<void> | undefined;

  constructor(clock: Clock, intervalMs: number, tick: () => Promise<void>, onError: (error: unknown) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#tick = tick;
    this.#onError = onError;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves once no run is in progress and none will start. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(this.#intervalMs, signal);
      } catch {
        return; // stopped while asleep
      }
      try {
        await this.#tick();
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
