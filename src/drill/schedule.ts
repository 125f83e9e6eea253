import { Cron } from "croner";
import type { Clock } from "../core/index.js";
import type { DrillDefinition } from "./config.js";

/** The next time a cron schedule fires strictly after `from` (UTC), or undefined when it never does again. */
export function nextRun(schedule: string, from: number): number | undefined {
  const cron = new Cron(schedule, { paused: true, timezone: "UTC" });
  try {
    return cron.nextRun(new Date(from))?.getTime();
  } finally {
    cron.stop();
  }
}

/** The longest single sleep: the loop looks again at least this often (and a timer cannot wait past 24 days anyway). */
const maxSleepMs = 60_000;

export interface DrillScheduleOptions {
  drills: readonly DrillDefinition[];
  clock: Clock;
  /** Runs the drill that is due; a drill still running makes the next one wait for it (the runner queues scheduled runs). */
  run: (drill: DrillDefinition, dueAt: number) => Promise<unknown>;
  onError?: (error: unknown) => void;
}

/**
 * Runs the scheduled drills on the engine's clock: croner only computes each next time (`nextRun`),
 * the waiting is the clock's, so a ManualClock moves the schedule in a test. Times are counted from
 * the schedule's start: a drill due while the engine was stopped does not run late.
 */
export class DrillSchedule {
  readonly #o: DrillScheduleOptions;
  readonly #abort = new AbortController();
  /** When each scheduled drill runs next. */
  readonly #next = new Map<string, number>();
  #loop: Promise<void> | undefined;

  constructor(options: DrillScheduleOptions) {
    this.#o = options;
  }

  /** The next run of the drill, epoch ms; undefined when it has no schedule (or before start). */
  next(name: string): number | undefined {
    return this.#next.get(name);
  }

  start(): void {
    const now = this.#o.clock.now();
    for (const drill of this.#o.drills) {
      const at = drill.schedule === undefined ? undefined : nextRun(drill.schedule, now);
      if (at !== undefined) this.#next.set(drill.name, at);
    }
    if (this.#next.size === 0) return;
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { clock } = this.#o;
    const signal = this.#abort.signal;
    while (!signal.aborted && this.#next.size > 0) {
      const soonest = Math.min(...this.#next.values());
      try {
        await clock.sleep(Math.min(maxSleepMs, Math.max(0, soonest - clock.now())), signal);
      } catch {
        return; // stopped
      }
      const now = clock.now();
      for (const drill of this.#o.drills) {
        const due = this.#next.get(drill.name);
        if (due === undefined || due > now || signal.aborted) continue;
        const after = nextRun(drill.schedule!, Math.max(due, now));
        if (after === undefined) this.#next.delete(drill.name);
        else this.#next.set(drill.name, after);
        try {
          await this.#o.run(drill, due);
        } catch (error) {
          this.#o.onError?.(error);
        }
      }
    }
  }
}
