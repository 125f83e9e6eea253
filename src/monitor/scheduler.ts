/**
 * The scheduler that keeps time at scale: every check runs at a fixed rate on its own phase, from
 * one min-heap and one timer for all of them, under a global and a per-target concurrency cap.
 *
 * - Fixed rate: slot n+1 = slot n + interval, whatever the run took, so nothing drifts (Gatus
 *   measures the interval after the last run ended: gatus#430).
 * - Phase: a hash of the check's name modulo its interval, aligned to the epoch, so checks spread
 *   over their interval (no thundering herd at start, no per-check start stagger: gatus#1176) and
 *   a restarted engine probes on the same beat.
 * - Deadline-aware: a run gets min(timeout, time until its next slot); a run still going at its
 *   next slot makes that slot skipped and counted, never two runs of one check at once.
 * - Start lag (actual start − intended start) is measured in a histogram.
 */
import type { Clock } from "../core/index.js";

/** What the scheduler runs: a check, seen only as its timing and target. */
export interface ScheduledJob {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** For the per-target cap, e.g. `host:port`. */
  readonly target: string;
  /**
   * Runs once, bounding itself by its own timeout (as runCheck does). `signal` aborts at the run's
   * deadline when the next slot comes before the timeout would, and when the scheduler stops. A
   * rejection is reported to `onError` and counts as a run.
   */
  run(signal: AbortSignal, slot: Slot): Promise<void>;
}

/** One run's timing. */
export interface Slot {
  /** When it should have started, epoch ms. */
  intendedAt: number;
  startedAt: number;
  /** How long it may take: min(timeout, time until the next slot), ms. */
  deadlineMs: number;
}

export interface SchedulerOptions {
  clock: Clock;
  /** Runs in flight at once, over all checks. */
  maxConcurrency: number;
  /** Runs in flight at once against one target. */
  maxPerTarget: number;
  /** Told of a run that rejected (a bug: runs resolve their failures). */
  onError?: (job: ScheduledJob, error: unknown) => void;
}

export interface SchedulerStats {
  jobs: number;
  /** Runs finished since start (or the last reset). */
  runs: number;
  /** Slots not run because the check's previous run (or its wait for a free slot under the caps) still went on. */
  skipped: number;
  inFlight: number;
  /** Runs due but held back by a cap. */
  waiting: number;
  /** Start lag, ms: actual start − intended start, over the runs since start (or the last reset). */
  lagMs: { count: number; p50: number; p99: number; max: number };
}

/** FNV-1a of the name: the phase of a check within its interval, the same on every start. */
export function phaseOf(name: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % Math.max(1, Math.round(intervalMs));
}

/** The first slot at or after `now` of a check with this phase and interval (slots are phase + k × interval since the epoch). */
export function firstSlot(now: number, intervalMs: number, phase: number): number {
  return phase + Math.ceil((now - phase) / intervalMs) * intervalMs;
}

/** A histogram with buckets 5% apart (from 0.01 ms), so percentiles of lag are read within 5%. */
export class LagHistogram {
  static readonly #base = 0.01;
  static readonly #growth = Math.log(1.05);
  #counts: number[] = [];
  #count = 0;
  #max = 0;

  add(ms: number): void {
    const index = ms <= LagHistogram.#base ? 0 : 1 + Math.floor(Math.log(ms / LagHistogram.#base) / LagHistogram.#growth);
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** The upper bound of the bucket holding quantile q (never above the largest value seen); 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.#max, i === 0 ? LagHistogram.#base : LagHistogram.#base * Math.exp(i * LagHistogram.#growth));
    }
    return this.#max;
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }
}

/** A FIFO with O(1) shift. */
class Queue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }
}

interface Entry {
  job: ScheduledJob;
  phase: number;
  /** The next slot, as it is in the heap. */
  nextAt: number;
  running: boolean;
  /** The slot a run waits for a free place under the caps to start. */
  waitingFor: number | undefined;
  removed: boolean;
}

/** A binary min-heap of entries by `nextAt`. An entry is in it at most once. */
class Heap {
  #items: Entry[] = [];

  push(entry: Entry): void {
    const items = this.#items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.nextAt <= entry.nextAt) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
  }

  peek(): Entry | undefined {
    return this.#items[0];
  }

  pop(): Entry | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.nextAt < items[left]!.nextAt ? right : left;
      if (items[child]!.nextAt >= last.nextAt) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** Longest a timer waits in one go (Node's limit). */
const maxSleepMs = 2_147_483_647;

export class Scheduler {
  readonly #clock: Clock;
  readonly #maxConcurrency: number;
  readonly #maxPerTarget: number;
  readonly #onError: (job: ScheduledJob, error: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  readonly #heap = new Heap();
  /** Waiting for a place under the global cap. */
  readonly #waiting = new Queue<Entry>();
  /** Waiting for a place under their target's cap. */
  readonly #waitingByTarget = new Map<string, Queue<Entry>>();
  readonly #perTarget = new Map<string, number>();
  readonly #running = new Map<Entry, { controller: AbortController; done: Promise<void> }>();
  #waitingCount = 0;
  #runs = 0;
  #skipped = 0;
  #lag = new LagHistogram();
  #wake: AbortController | undefined;
  #sleepingUntil = Infinity;
  #loop: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#clock = options.clock;
    this.#maxConcurrency = options.maxConcurrency;
    this.#maxPerTarget = options.maxPerTarget;
    this.#onError = options.onError ?? (() => {});
  }

  /** Schedules a job (replacing one of the same name) on its first slot from now. */
  add(job: ScheduledJob): void {
    this.remove(job.name);
    const phase = phaseOf(job.name, job.intervalMs);
    const entry: Entry = { job, phase, nextAt: firstSlot(this.#clock.now(), job.intervalMs, phase), running: false, waitingFor: undefined, removed: false };
    this.#entries.set(job.name, entry);
    this.#heap.push(entry);
    if (entry.nextAt < this.#sleepingUntil) this.#wake?.abort();
  }

  /** Unschedules a job; a run in flight finishes (or is aborted by stop()). */
  remove(name: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    entry.removed = true;
    this.#entries.delete(name);
    if (entry.waitingFor !== undefined) {
      entry.waitingFor = undefined;
      this.#waitingCount--;
    }
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  start(): void {
    this.#stopped = false;
    this.#loop ??= this.#run();
  }

  /** Stops scheduling, aborts the runs in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.abort();
    for (const { controller } of this.#running.values()) controller.abort(new Error("the scheduler stopped"));
    await Promise.allSettled([this.#loop, ...[...this.#running.values()].map((r) => r.done)]);
    this.#loop = undefined;
  }

  stats(): SchedulerStats {
    return {
      jobs: this.#entries.size,
      runs: this.#runs,
      skipped: this.#skipped,
      inFlight: this.#running.size,
      waiting: this.#waitingCount,
      lagMs: { count: this.#lag.count, p50: this.#lag.quantile(0.5), p99: this.#lag.quantile(0.99), max: this.#lag.max },
    };
  }

  /** Starts the counters (runs, skipped, lag) afresh, e.g. after a warm-up. */
  resetStats(): void {
    this.#runs = 0;
    this.#skipped = 0;
    this.#lag = new LagHistogram();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const now = this.#clock.now();
      let top = this.#heap.peek();
      while (top && (top.removed || top.nextAt <= now)) {
        this.#heap.pop();
        if (!top.removed) this.#due(top);
        top = this.#heap.peek();
      }
      this.#wake = new AbortController();
      this.#sleepingUntil = top ? top.nextAt : Infinity;
      await this.#clock.sleep(top ? Math.min(maxSleepMs, top.nextAt - now) : maxSleepMs, this.#wake.signal).catch(() => {});
      this.#sleepingUntil = Infinity;
    }
  }

  /** A slot has come: run it, or skip it if the check's previous run (or wait) still goes on. */
  #due(entry: Entry): void {
    const slot = entry.nextAt;
    entry.nextAt = slot + entry.job.intervalMs;
    this.#heap.push(entry);
    if (entry.running) {
      this.#skipped++;
    } else if (entry.waitingFor !== undefined) {
      // Still queued from the last slot: that one is lost; the wait goes on for this one.
      this.#skipped++;
      entry.waitingFor = slot;
    } else if (this.#running.size >= this.#maxConcurrency) {
      this.#enqueue(entry, slot, this.#waiting);
    } else if ((this.#perTarget.get(entry.job.target) ?? 0) >= this.#maxPerTarget) {
      this.#enqueue(entry, slot, this.#targetQueue(entry.job.target));
    } else {
      this.#start(entry, slot);
    }
  }

  #enqueue(entry: Entry, slot: number, queue: Queue<Entry>): void {
    entry.waitingFor = slot;
    this.#waitingCount++;
    queue.push(entry);
  }

  #targetQueue(target: string): Queue<Entry> {
    let queue = this.#waitingByTarget.get(target);
    if (!queue) this.#waitingByTarget.set(target, (queue = new Queue()));
    return queue;
  }

  #start(entry: Entry, intendedAt: number): void {
    const { job } = entry;
    const startedAt = this.#clock.now();
    this.#lag.add(Math.max(0, startedAt - intendedAt));
    const deadlineMs = Math.min(job.timeoutMs, entry.nextAt - startedAt);
    if (deadlineMs <= 0) {
      // It waited under the caps past its next slot (which is then skipped already): nothing left.
      this.#skipped++;
      return;
    }
    entry.running = true;
    this.#perTarget.set(job.target, (this.#perTarget.get(job.target) ?? 0) + 1);
    const controller = new AbortController();
    // The check bounds itself by its timeout; only a shorter deadline needs a timer of ours.
    const deadline = deadlineMs < job.timeoutMs ? new AbortController() : undefined;
    if (deadline) {
      this.#clock.sleep(deadlineMs, deadline.signal).then(
        () => controller.abort(new Error(`deadline: the next slot is due in ${Math.round(deadlineMs)}ms`)),
        () => {},
      );
    }
    const done = Promise.resolve()
      .then(() => job.run(controller.signal, { intendedAt, startedAt, deadlineMs }))
      .catch((error: unknown) => this.#onError(job, error))
      .finally(() => {
        deadline?.abort();
        this.#finish(entry);
      });
    this.#running.set(entry, { controller, done });
  }

  #finish(entry: Entry): void {
    const { target } = entry.job;
    entry.running = false;
    this.#running.delete(entry);
    this.#runs++;
    const left = (this.#perTarget.get(target) ?? 1) - 1;
    if (left === 0) this.#perTarget.delete(target);
    else this.#perTarget.set(target, left);
    if (!this.#stopped) this.#drain(target);
  }

  /** Starts what waited for the place a finished run freed: first its target's queue, then the global one. */
  #drain(target: string): void {
    const mine = this.#waitingByTarget.get(target);
    while (mine && mine.length > 0 && (this.#perTarget.get(target) ?? 0) < this.#maxPerTarget) {
      const entry = mine.shift()!;
      if (entry.waitingFor === undefined) continue; // removed meanwhile
      if (this.#running.size < this.#maxConcurrency) this.#startWaiting(entry);
      else {
        // No global place: it waits there, so that this target's queue can never be stuck.
        this.#waiting.push(entry);
        break;
      }
    }
    if (mine?.length === 0) this.#waitingByTarget.delete(target);
    while (this.#running.size < this.#maxConcurrency && this.#waiting.length > 0) {
      const entry = this.#waiting.shift()!;
      if (entry.waitingFor === undefined) continue;
      if ((this.#perTarget.get(entry.job.target) ?? 0) < this.#maxPerTarget) this.#startWaiting(entry);
      else this.#targetQueue(entry.job.target).push(entry);
    }
  }

  #startWaiting(entry: Entry): void {
    const slot = entry.waitingFor!;
    entry.waitingFor = undefined;
    this.#waitingCount--;
    this.#start(entry, slot);
  }
}
