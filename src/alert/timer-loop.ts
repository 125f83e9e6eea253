import type { Clock } from "../core/index.js";

/** The longest the loop sleeps without being woken: a backstop, since every change wakes it. */
const longestWaitMs = 3_600_000;

/**
 * One timer on the injected clock for everything the manager has due: `tick(now)` runs what is due
 * and answers when the next thing is; `wake()` makes it look again at once (something changed).
 * With a ManualClock, a tick runs synchronously as the clock reaches its time.
 */
export class TimerLoop {
  readonly #clock: Clock;
  readonly #tick: (now: number) => number | undefined;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #running: Promise<void> | undefined;

  constructor(clock: Clock, tick: (now: number) => number | undefined) {
    this.#clock = clock;
    this.#tick = tick;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  wake(): void {
    this.#wake.abort();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const now = this.#clock.now();
      const next = this.#tick(now);
      this.#wake = new AbortController();
      const wait = next === undefined ? longestWaitMs : Math.min(longestWaitMs, Math.max(0, next - now));
      await this.#clock.sleep(wait, AbortSignal.any([this.#stop.signal, this.#wake.signal])).catch(() => undefined);
    }
  }
}
