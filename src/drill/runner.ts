import { EngineError, newId, type Clock } from "../core/index.js";
import { startedDrillRun, type DrillRunRecord, type DrillTimings, type NewEvent, type Store } from "../store/index.js";
import type { DrillDefinition, DrillType } from "./config.js";
import { DrillLoad, type LoadFailure, type LoadTarget } from "./load.js";
import { judge } from "./rules.js";

/** What a drill's action gives the runner: what it acted on and when, and what it measured from there. */
export interface DrillOutcome {
  releaseId: string | null;
  /** When the fault began (the drill release's switch, the kill, the restart's start), epoch ms; null when it never did. */
  faultAt: number | null;
  /** When the fault ended (rolled back, recovered, restarted); null while it lasts. */
  faultEndedAt: number | null;
  detectedAt: number | null;
  rolledBackAt: number | null;
  healthyAt: number | null;
  /** Why the drill could not get through, if it could not. */
  error?: string;
}

/** What an action may use while it runs. */
export interface DrillContext {
  /** Aborted at the drill's time limit, or when the engine stops. */
  signal: AbortSignal;
  /** The time limit, epoch ms. */
  deadline: number;
  /** One request through the proxy now: true when it answered below 500 and not by the fault. */
  probe(): Promise<boolean>;
  /** Notes the release the drill works on as soon as it is known (the drill.started event names it). */
  onRelease(releaseId: string): void;
}

/** One drill type's work over the engine (engine/drill-wiring.ts implements them). */
export type DrillAction = (drill: DrillDefinition, context: DrillContext) => Promise<DrillOutcome>;

/** What the runner needs from the engine. */
export interface DrillRunnerOptions {
  store: Pick<Store, "drills">;
  clock: Clock;
  actions: Record<DrillType, DrillAction>;
  /** Where the drill's load goes: the environment's proxy and the service's route. */
  target: (drill: DrillDefinition) => LoadTarget;
  /** Refuses a drill that cannot start now (DRILL_BUSY: a deploy, a rollback or an apply holds the environment, or a release is being watched). */
  ready: (drill: DrillDefinition) => Promise<void>;
  /** Told of every run that finished (the learning log). */
  onFinished?: (run: DrillRunRecord, drill: DrillDefinition) => Promise<unknown>;
  onError?: (error: unknown) => void;
}

/** How long the load goes on after recovery, so failures just after it count (outside the fault). */
const tailMs = 1_000;

/**
 * Runs drills, one at a time engine-wide: a second one asked for by hand while one runs is refused
 * (DRILL_BUSY); a scheduled one waits for it. Each run sends its own bounded load through the
 * environment's proxy, lets its type's action work, judges the pass rule, and records the run with
 * `drill.started` and `drill.finished` events (a failed drill's opens an incident).
 */
export class DrillRunner {
  readonly #o: DrillRunnerOptions;
  #running: { drill: string; done: Promise<unknown> } | undefined;
  readonly #stop = new AbortController();

  constructor(options: DrillRunnerOptions) {
    this.#o = options;
  }

  /** The drill running now, if any. */
  running(): string | undefined {
    return this.#running?.drill;
  }

  /** Runs the drill now and resolves with its run once it finished; DRILL_BUSY while another one runs. */
  async run(drill: DrillDefinition, trigger: string): Promise<DrillRunRecord> {
    if (this.#running) {
      throw new EngineError("DRILL_BUSY", `Drill ${this.#running.drill} is running; one drill runs at a time. Refused: drill ${drill.name}.`);
    }
    return this.#exclusive(drill, trigger);
  }

  /** A scheduled run: waits for the drill that runs now, then runs (a busy environment still refuses it: DRILL_BUSY, logged, not run). */
  async runScheduled(drill: DrillDefinition): Promise<DrillRunRecord | undefined> {
    while (this.#running) await this.#running.done.catch(() => undefined);
    if (this.#stop.signal.aborted) return undefined;
    return this.#exclusive(drill, "schedule");
  }

  /** Stops the drill that runs (it ends as failed: "the engine stopped") and refuses new ones. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("the engine stopped"));
    await this.#running?.done.catch(() => undefined);
  }

  #exclusive(drill: DrillDefinition, trigger: string): Promise<DrillRunRecord> {
    if (this.#stop.signal.aborted) throw new EngineError("ENGINE_NOT_RUNNING", "The engine is stopping; no drill starts.");
    const done = this.#execute(drill, trigger);
    this.#running = { drill: drill.name, done };
    return done.finally(() => (this.#running = undefined));
  }

  async #execute(drill: DrillDefinition, trigger: string): Promise<DrillRunRecord> {
    const { clock, store } = this.#o;
    await this.#o.ready(drill);
    const startedAt = clock.now();
    const run = newRun(drill, trigger, startedAt);
    let outcome: DrillOutcome;
    let load: DrillLoad | undefined;
    const limit = new AbortController();
    const timer = new AbortController();
    clock.sleep(drill.timeoutMs, timer.signal).then(
      () => limit.abort(new Error(`the drill's time limit (${drill.timeoutMs} ms) passed`)),
      () => undefined,
    );
    const timeLimit = AbortSignal.any([this.#stop.signal, limit.signal]);
    await store.drills.put(run, [startedEvent(run, drill)]);
    try {
      load = new DrillLoad(this.#o.target(drill), clock);
      load.start(drill.load.rps, Math.ceil((drill.load.rps * drill.timeoutMs) / 1000));
      outcome = await this.#o.actions[drill.type](drill, {
        signal: timeLimit,
        deadline: startedAt + drill.timeoutMs,
        probe: () => load!.probe(),
        onRelease: (releaseId) => (run.releaseId = releaseId),
      });
      if (outcome.healthyAt !== null) await clock.sleep(tailMs, this.#stop.signal).catch(() => undefined);
    } catch (error) {
      outcome = { releaseId: run.releaseId, faultAt: null, faultEndedAt: null, detectedAt: null, rolledBackAt: null, healthyAt: null, error: (error as Error).message };
    } finally {
      timer.abort();
      await load?.stop();
    }
    return this.#finish(run, drill, outcome, load?.sent ?? 0, load?.failures ?? []);
  }

  /**
   * Records a run measured outside the engine (a restart drill: the CLI stops and starts the engine
   * process under its own load, then hands in what it saw), judged and recorded as any other.
   */
  async record(drill: DrillDefinition, trigger: string, measured: { startedAt: number; outcome: DrillOutcome; sent: number; failures: readonly LoadFailure[] }): Promise<DrillRunRecord> {
    if (this.#running) {
      throw new EngineError("DRILL_BUSY", `Drill ${this.#running.drill} is running; one drill runs at a time. Refused: drill ${drill.name}.`);
    }
    const run = newRun(drill, trigger, measured.startedAt);
    await this.#o.store.drills.put(run, [startedEvent(run, drill)]);
    return this.#finish(run, drill, measured.outcome, measured.sent, measured.failures);
  }

  async #finish(run: DrillRunRecord, drill: DrillDefinition, outcome: DrillOutcome, sent: number, failures: readonly LoadFailure[]): Promise<DrillRunRecord> {
    const { clock, store } = this.#o;
    const on = { service: drill.service, environment: drill.environment };
    run.releaseId = outcome.releaseId ?? run.releaseId;
    run.timings = timingsOf(outcome);
    run.requests = requestsOf(drill, outcome, sent, failures);
    const verdict = judge(drill, { timings: run.timings, requests: run.requests, error: outcome.error });
    Object.assign(run, { state: verdict.passed ? "passed" : "failed", finishedAt: clock.now(), rules: verdict.rules, reason: verdict.reason });
    await store.drills.put(run, [
      {
        type: "drill.finished",
        ...on,
        releaseId: run.releaseId,
        message: `${drill.type} drill ${drill.name} ${run.state}: ${verdict.reason}`,
        data: { drillRun: run.id, drill: drill.name, type: drill.type, passed: verdict.passed, reason: verdict.reason, timings: run.timings, requests: run.requests, startedAt: run.startedAt },
      },
    ]);
    await this.#o.onFinished?.(run, drill).catch((error) => this.#o.onError?.(error));
    return run;
  }
}

function newRun(drill: DrillDefinition, trigger: string, startedAt: number): DrillRunRecord {
  return startedDrillRun({ id: newId("drl", startedAt), drill: drill.name, type: drill.type, service: drill.service, environment: drill.environment, trigger, startedAt });
}

function startedEvent(run: DrillRunRecord, drill: DrillDefinition): NewEvent {
  return {
    type: "drill.started",
    service: drill.service,
    environment: drill.environment,
    message: `${drill.type} drill ${drill.name} started (${run.trigger})`,
    data: { drillRun: run.id, drill: drill.name, type: drill.type, trigger: run.trigger },
  };
}

function timingsOf(o: DrillOutcome): DrillTimings {
  const after = (at: number | null) => (at === null || o.faultAt === null ? null : Math.max(0, at - o.faultAt));
  return { detectedAfterMs: after(o.detectedAt), rolledBackAfterMs: after(o.rolledBackAt), healthyAfterMs: after(o.healthyAt) };
}

/**
 * Rollback drills: a failure the proxy's fault answered is inside the fault, any other is outside.
 * Kill and restart drills: the fault is the kill or the restart, so failures while it lasted (from
 * its start to recovery) are inside, the rest outside.
 */
function requestsOf(drill: DrillDefinition, o: DrillOutcome, sent: number, failures: readonly LoadFailure[]) {
  const inside = (f: LoadFailure) =>
    drill.type === "rollback" ? f.fault : o.faultAt !== null && f.at >= o.faultAt && (o.faultEndedAt === null || f.at <= o.faultEndedAt);
  const failedInsideFault = failures.filter(inside).length;
  return { sent, failed: failures.length, failedInsideFault, failedOutsideFault: failures.length - failedInsideFault };
}
