import { formatDuration, type Clock, type Logger, silentLogger } from "../core/index.js";
import type { CheckResolution, CheckStateName, CheckStateRecord, Store } from "../store/index.js";
import { latencyQuantile, uptime } from "./aggregates.js";
import { runCheck, type CheckDefinition, type CheckResult } from "./checks/index.js";
import { ResultBook } from "./results.js";
import { Scheduler, type SchedulerStats, type Slot } from "./scheduler.js";
import { defaultMaxConcurrency, defaultMaxPerTarget } from "./settings.js";
import { degradedEvent, initialDegraded, initialVerdict, nextDegraded, nextVerdict, type CheckVerdict, type DegradedVerdict } from "./state.js";

export interface MonitorOptions {
  store: Pick<Store, "checks" | "events">;
  clock: Clock;
  logger?: Logger;
  /** Runs in flight at once over all checks (default 512). */
  maxConcurrency?: number;
  /** Runs in flight at once against one target (default 64). */
  maxPerTarget?: number;
}

/** A check as it stands now. */
export interface CheckStatus {
  name: string;
  type: string;
  labels: Readonly<Record<string, string>>;
  derived: boolean;
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  recoveryThreshold: number;
  state: CheckStateName;
  /** When it entered its state, epoch ms. */
  since: number;
  consecutiveFailures: number;
  consecutivePasses: number;
  /** Up, but its last `failureThreshold` runs or more in a row failed a degraded condition (until `recoveryThreshold` clean passes). */
  degraded: boolean;
  lastResult: CheckResult | null;
}

/** An up check becoming degraded, or no longer (by clean passes: a check going down is a `CheckTransition`), as `onDegradedChange` listeners get it. */
export interface DegradedChange {
  check: string;
  degraded: boolean;
  at: number;
  labels: Readonly<Record<string, string>>;
  /** The run that made the change; its `error` names the degraded conditions that failed. */
  result: CheckResult;
}

export type DegradedListener = (change: DegradedChange) => unknown;

/** A change of a check's state, as `onTransition` listeners get it. */
export interface CheckTransition {
  check: string;
  from: CheckStateName;
  to: CheckStateName;
  at: number;
  labels: Readonly<Record<string, string>>;
  consecutiveFailures: number;
  consecutivePasses: number;
  /** The run that made the change; its `error` says why a check went down. */
  result: CheckResult;
}

export type TransitionListener = (transition: CheckTransition) => unknown;

/** A check with its uptime (passes / runs) over 24 h, 7 d and 30 d and its latency percentiles over 24 h (null: no runs). */
export interface CheckSummary extends CheckStatus {
  uptime: { "24h": number | null; "7d": number | null; "30d": number | null };
  runs24h: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

/** One bucket of a check's history. */
export interface CheckHistoryPoint {
  start: number;
  runs: number;
  failures: number;
  uptime: number | null;
  avgMs: number | null;
  maxMs: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A check's history as the API answers it. */
export interface CheckHistory {
  check: string;
  resolution: CheckResolution;
  /** How far back it was asked for, epoch ms. */
  since: number;
  points: CheckHistoryPoint[];
}

export interface MonitorStats extends SchedulerStats {
  states: Record<CheckStateName, number>;
}

interface Runtime {
  definition: CheckDefinition;
  verdict: CheckVerdict;
  /** Not saved: a restarted monitor counts degraded runs afresh. */
  degraded: DegradedVerdict;
  lastResult: CheckResult | null;
  /** The last result changed since the state was last saved. */
  dirty: boolean;
}

/** Minutes between two saves of every check's counts and last result (transitions are saved at once). */
const statesEveryMinutes = 10;

/** Fields longer than this are cut in the saved last result (a body a condition read can be 64 KiB). */
const maxFieldChars = 200;

/**
 * Runs checks on the fixed-rate scheduler, keeps each one's state (pending → up / down by its
 * thresholds) and its results as aggregates, and tells listeners of every transition. A state is
 * saved at every transition, the counts in a row and the last result every 10 minutes and at stop,
 * so a restarted monitor resumes each check where it was; transitions to down, and recoveries, are
 * events (`check.down`, `check.up`), and an up check becoming degraded or no longer
 * (`check.degraded`, `check.degraded-ended`; see `nextDegraded`), told to `onDegradedChange`.
 *
 * A transition listener is called synchronously after the state changed and never awaited: one that
 * throws or hangs delays no check.
 *
 * @example
 * const monitor = new Monitor({ store, clock });
 * await monitor.start(parseChecks(config.checks));
 * monitor.onTransition((t) => console.log(`${t.check}: ${t.from} → ${t.to}`));
 */
export class Monitor {
  readonly #store: MonitorOptions["store"];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #scheduler: Scheduler;
  readonly #book: ResultBook;
  readonly #checks = new Map<string, Runtime>();
  readonly #saved = new Map<string, CheckStateRecord>();
  readonly #listeners = new Set<TransitionListener>();
  readonly #degradedListeners = new Set<DegradedListener>();
  /** Store writes, one after another, so they land in order and stop() can wait for them. */
  #writes: Promise<void> = Promise.resolve();
  #ticker: AbortController | undefined;
  #ticking: Promise<void> | undefined;
  #running = false;

  constructor(options: MonitorOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger ?? silentLogger;
    this.#book = new ResultBook(options.store.checks);
    this.#scheduler = new Scheduler({
      clock: options.clock,
      maxConcurrency: options.maxConcurrency ?? defaultMaxConcurrency,
      maxPerTarget: options.maxPerTarget ?? defaultMaxPerTarget,
      onError: (job, error) => this.#logger.error("check run failed", { check: job.name, error: String(error) }),
    });
  }

  /** Loads saved states and results, then runs `definitions`. */
  async start(definitions: readonly CheckDefinition[] = []): Promise<void> {
    for (const record of await this.#store.checks.states()) this.#saved.set(record.name, record);
    await this.#book.open(this.#clock.now());
    this.#running = true;
    this.set(definitions);
    this.#scheduler.start();
    this.#ticker = new AbortController();
    this.#ticking = this.#tick(this.#ticker.signal);
  }

  /**
   * Makes `definitions` the checks that run: new ones start on their first slot, ones no longer
   * given stop, and one given again as another object is replaced (keeping its state).
   */
  set(definitions: readonly CheckDefinition[]): void {
    const wanted = new Map(definitions.map((d) => [d.name, d]));
    for (const [name, runtime] of this.#checks) {
      if (wanted.get(name) === runtime.definition) continue;
      this.#scheduler.remove(name);
      this.#checks.delete(name);
      runtime.definition.probe.close?.();
    }
    for (const definition of definitions) {
      if (this.#checks.has(definition.name)) continue;
      const saved = this.#saved.get(definition.name);
      const verdict = saved ? { state: saved.state, since: saved.since, consecutiveFailures: saved.consecutiveFailures, consecutivePasses: saved.consecutivePasses } : initialVerdict(this.#clock.now());
      const lastResult = (saved?.lastResult as CheckResult | null | undefined) ?? null;
      const runtime: Runtime = { definition, verdict, degraded: initialDegraded(), lastResult, dirty: false };
      this.#checks.set(definition.name, runtime);
      this.#scheduler.add({
        name: definition.name,
        intervalMs: definition.intervalMs,
        timeoutMs: definition.timeoutMs,
        target: definition.probe.target,
        run: (signal, slot) => this.#run(runtime, signal, slot),
      });
    }
  }

  /** Stops every check (runs in flight are cancelled and not counted), then saves states and the open minute. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#ticker?.abort();
    await this.#scheduler.stop();
    await this.#ticking;
    for (const runtime of this.#checks.values()) runtime.definition.probe.close?.();
    this.#write(() => this.#book.save(this.#dirtyStates()));
    await this.#writes;
  }

  /** Calls `listener` after every state change; returns the function that removes it. */
  onTransition(listener: TransitionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` when an up check becomes degraded or stops being so by clean passes; returns the function that removes it. */
  onDegradedChange(listener: DegradedListener): () => void {
    this.#degradedListeners.add(listener);
    return () => this.#degradedListeners.delete(listener);
  }

  /** Every check as it stands, by name. */
  statuses(): CheckStatus[] {
    return [...this.#checks.values()].map(statusOf).sort((a, b) => a.name.localeCompare(b.name));
  }

  status(name: string): CheckStatus | undefined {
    const runtime = this.#checks.get(name);
    return runtime && statusOf(runtime);
  }

  /** The scheduler's figures (runs, skipped slots, in flight, start lag p50/p99) and how many checks are in each state. */
  stats(): MonitorStats {
    const states: Record<CheckStateName, number> = { pending: 0, up: 0, down: 0 };
    for (const runtime of this.#checks.values()) states[runtime.verdict.state]++;
    return { ...this.#scheduler.stats(), states };
  }

  /** Starts the scheduler's counters afresh (a benchmark's warm-up). */
  resetStats(): void {
    this.#scheduler.resetStats();
  }

  /** Every check with its uptime over 24 h, 7 d, 30 d and latency percentiles over 24 h. */
  async summaries(): Promise<CheckSummary[]> {
    const windows = await this.#book.windows(this.#clock.now());
    return this.statuses().map((status) => {
      const w = windows.get(status.name);
      const day = w?.["24h"];
      return {
        ...status,
        uptime: { "24h": w ? uptime(w["24h"]) : null, "7d": w ? uptime(w["7d"]) : null, "30d": w ? uptime(w["30d"]) : null },
        runs24h: day?.runs ?? 0,
        latencyMs: { p50: day ? latencyQuantile(day, 0.5) : null, p95: day ? latencyQuantile(day, 0.95) : null, p99: day ? latencyQuantile(day, 0.99) : null },
      };
    });
  }

  /** A check's results per minute, hour or day since `sinceMs` ago, oldest first. */
  async history(name: string, options: { resolution: CheckResolution; sinceMs: number }): Promise<CheckHistoryPoint[]> {
    const buckets = await this.#book.history(name, options.resolution, this.#clock.now() - options.sinceMs);
    return buckets.map((b) => ({
      start: b.start,
      runs: b.runs,
      failures: b.failures,
      uptime: uptime(b),
      avgMs: b.runs === 0 ? null : Math.round((b.sumMs / b.runs) * 100) / 100,
      maxMs: b.maxMs,
      p50: latencyQuantile(b, 0.5),
      p95: latencyQuantile(b, 0.95),
      p99: latencyQuantile(b, 0.99),
    }));
  }

  /** Resolves once every store write queued so far has landed (tests, and stop). */
  async settled(): Promise<void> {
    await this.#writes;
  }

  async #run(runtime: Runtime, signal: AbortSignal, slot: Slot): Promise<void> {
    const result = await runCheck(runtime.definition, { signal, now: () => this.#clock.now() });
    if (!this.#running || this.#checks.get(runtime.definition.name) !== runtime) return; // stopped or replaced: not counted
    if (signal.aborted && result.error === "cancelled") result.error = `timed out at its deadline: the next run was due (${formatDuration(slot.deadlineMs)})`;
    this.#record(runtime, result);
  }

  #record(runtime: Runtime, result: CheckResult): void {
    const { definition } = runtime;
    const at = this.#clock.now();
    this.#book.add(definition.name, result.ok, result.durationMs);
    const from = runtime.verdict.state;
    const { verdict, changed } = nextVerdict(runtime.verdict, result.ok, at, definition);
    runtime.verdict = verdict;
    runtime.lastResult = result;
    runtime.dirty = true;
    const degraded = nextDegraded(runtime.degraded, result, verdict.state, definition);
    runtime.degraded = degraded.verdict;
    // Down wins: a degraded check going down is told as its transition to down, not as a degraded change.
    if (degraded.changed && verdict.state !== "down") this.#degradedChanged({ check: definition.name, degraded: degraded.verdict.degraded, at, labels: definition.labels, result });
    if (!changed) return;
    const transition: CheckTransition = {
      check: definition.name,
      from,
      to: verdict.state,
      at,
      labels: definition.labels,
      consecutiveFailures: verdict.consecutiveFailures,
      consecutivePasses: verdict.consecutivePasses,
      result,
    };
    this.#persistTransition(runtime, transition);
    this.#tell(this.#listeners, transition, definition.name);
  }

  /** Records a degraded change as an event (`check.degraded`, `check.degraded-ended`) and tells the listeners. */
  #degradedChanged(change: DegradedChange): void {
    const event = degradedEvent(change.check, change.labels, change.result, this.#checks.get(change.check)!.degraded);
    this.#write(() => this.#store.events.append(event).then(() => {}));
    this.#tell(this.#degradedListeners, change, change.check);
  }

  /** Calls each listener, never awaited: one that throws or rejects is logged and delays nothing. */
  #tell<T>(listeners: Set<(value: T) => unknown>, value: T, check: string): void {
    const failed = (error: unknown) => this.#logger.warn("a check listener failed", { check, error: String(error) });
    for (const listener of listeners) {
      try {
        const returned = listener(value);
        if (returned instanceof Promise) returned.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  /** Saves the new state; a check going down, and a down check coming back, are events too (pending → up is not news). */
  #persistTransition(runtime: Runtime, t: CheckTransition): void {
    const record = this.#recordOf(runtime);
    runtime.dirty = false;
    if (t.to === "pending" || (t.from === "pending" && t.to === "up")) {
      this.#write(() => this.#store.checks.saveStates([record]));
      return;
    }
    const { labels } = t;
    const why = t.to === "down" ? `${t.result.error ?? "failed"} (${t.consecutiveFailures} failures in a row)` : `${t.consecutivePasses} passes in a row`;
    const event = {
      type: `check.${t.to}`,
      service: labels.service ?? null,
      environment: labels.environment ?? null,
      message: `check ${t.check} is ${t.to}: ${why}`,
      data: { check: t.check, from: t.from, to: t.to, error: t.result.error ?? null, failed: t.result.failed, consecutiveFailures: t.consecutiveFailures, consecutivePasses: t.consecutivePasses, labels },
    };
    this.#write(() => this.#store.checks.transition(record, event).then(() => {}));
  }

  #recordOf(runtime: Runtime): CheckStateRecord {
    const { verdict, lastResult } = runtime;
    const record: CheckStateRecord = {
      name: runtime.definition.name,
      state: verdict.state,
      since: verdict.since,
      consecutiveFailures: verdict.consecutiveFailures,
      consecutivePasses: verdict.consecutivePasses,
      lastResult: lastResult && trimResult(lastResult),
      updatedAt: this.#clock.now(),
    };
    this.#saved.set(record.name, record);
    return record;
  }

  #dirtyStates(): CheckStateRecord[] {
    const records: CheckStateRecord[] = [];
    for (const runtime of this.#checks.values()) {
      if (!runtime.dirty) continue;
      runtime.dirty = false;
      records.push(this.#recordOf(runtime));
    }
    return records;
  }

  #write(task: () => Promise<void>): void {
    this.#writes = this.#writes.then(task).catch((error: unknown) => this.#logger.warn("saving check results failed", { error: String(error) }));
  }

  /** Closes each minute as it ends: every check's minute (and changed states) in one transaction. */
  async #tick(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const next = this.#book.openMinute + 60_000;
      try {
        await this.#clock.sleep(Math.max(0, next - this.#clock.now()), signal);
      } catch {
        return;
      }
      const now = this.#clock.now();
      // Transitions are saved as they happen; counts and last results every 10 minutes (and at
      // stop), so that most minutes write their buckets only (10,000 states are twice the bytes).
      const states = Math.floor(now / 60_000) % statesEveryMinutes === 0 ? this.#dirtyStates() : [];
      this.#write(() => this.#book.close(now, states));
      // The book moves to the next minute only once the write is queued; wait so minutes stay in order.
      await this.#writes;
    }
  }
}

function statusOf(runtime: Runtime): CheckStatus {
  const { definition: d, verdict } = runtime;
  return {
    name: d.name,
    type: d.type,
    labels: d.labels,
    derived: d.derived,
    intervalMs: d.intervalMs,
    timeoutMs: d.timeoutMs,
    failureThreshold: d.failureThreshold,
    recoveryThreshold: d.recoveryThreshold,
    state: verdict.state,
    since: verdict.since,
    consecutiveFailures: verdict.consecutiveFailures,
    consecutivePasses: verdict.consecutivePasses,
    degraded: runtime.degraded.degraded,
    lastResult: runtime.lastResult,
  };
}

function trimResult(result: CheckResult): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result.fields)) fields[key] = typeof value === "string" && value.length > maxFieldChars ? `${value.slice(0, maxFieldChars)}…` : value;
  return { ...result, fields };
}
