import { EngineError, parseAddress, type Clock } from "../core/index.js";
import { DrillRunner, DrillSchedule, drillsSchemaFor, type DrillAction, type DrillContext, type DrillDefinition, type DrillOutcome, type LoadTarget } from "../drill/index.js";
import type { DrillRunRecord } from "../store/index.js";
import { parseSection, type Engine } from "./engine.js";
import type { EnvironmentRuntime } from "./environment.js";

/** The drills as the engine runs them: their definitions, the runner (one at a time) and the schedule. */
export interface DrillParts {
  definitions: readonly DrillDefinition[];
  runner: DrillRunner;
  schedule: DrillSchedule;
  /** Refuses a drill that cannot run now (DRILL_BUSY, RELEASE_NOT_FOUND), whatever its type: what a restart drill's CLI asks first. */
  ready(drill: DrillDefinition): Promise<void>;
  stop(): Promise<void>;
}

/** `drills:` of engineroom.yaml, checked against the declared services and the chain: CONFIG_INVALID with the paths. */
export function drillsConfig(engine: Pick<Engine, "project">): DrillDefinition[] {
  const { project } = engine;
  const declared = { services: Object.keys(project.config.services), environments: project.config.environments.map((e) => e.name) };
  return parseSection(project, "drills", drillsSchemaFor(declared), (project.config as { drills?: unknown }).drills);
}

/** Starts the drills' runner and their schedule (on the engine's clock). */
export function startDrills(engine: Engine, definitions: readonly DrillDefinition[]): DrillParts {
  const onError = (what: string) => (error: unknown) => engine.logger.warn(`drills: ${what} failed`, { error: String(error) });
  const runner = new DrillRunner({
    store: engine.store,
    clock: engine.clock,
    actions: { rollback: rollbackDrill(engine), kill: killDrill(engine), restart: restartDrill },
    target: (drill) => loadTarget(engine, drill),
    ready: async (drill) => {
      if (drill.type === "restart") {
        throw new EngineError("DRILL_UNSUPPORTED", `Drill ${drill.name} is a restart drill: it restarts the engine process, which the engine cannot do to itself; run it with \`engineroom drill run ${drill.name}\` (the CLI stops this engine and starts it again, under load).`);
      }
      await ready(engine, drill);
    },
    onFinished: (run, drill) => learn(engine, run, drill),
    onError: onError("a drill"),
  });
  const schedule = new DrillSchedule({ drills: definitions, clock: engine.clock, run: (drill) => runner.runScheduled(drill), onError: onError("a scheduled drill") });
  schedule.start();
  return {
    definitions,
    runner,
    schedule,
    ready: async (drill) => {
      const running = runner.running();
      if (running) throw new EngineError("DRILL_BUSY", `Drill ${running} is running; one drill runs at a time. Refused: drill ${drill.name}.`);
      await ready(engine, drill);
    },
    stop: async () => {
      await schedule.stop();
      await runner.stop();
    },
  };
}

/** The environment's proxy, with the Host and path of the service's first route (or the drill's own path). */
export function loadTarget(engine: Engine, drill: DrillDefinition): LoadTarget {
  const environment = engine.environment(drill.environment);
  const { host, port } = parseAddress(environment.proxyAddress)!;
  const route = environment.config.services[drill.service]?.routes[0];
  return { host, port, ...(route && route.host !== "*" && { hostHeader: route.host }), path: drill.load.path ?? route?.path ?? "/" };
}

/** Refuses a drill that cannot run now: nothing live, a writer at work in the environment, a release in its watch window. */
async function ready(engine: Engine, drill: DrillDefinition): Promise<void> {
  const environment = engine.environment(drill.environment);
  const busy = environment.lock.holder();
  if (busy) throw new EngineError("DRILL_BUSY", `${environment.name} is busy: ${busy} is running. Refused: drill ${drill.name}.`);
  const live = await engine.store.live.get(drill.service, environment.name);
  const release = live && (await engine.store.releases.get(live.releaseId));
  if (!release) throw new EngineError("RELEASE_NOT_FOUND", `${drill.service} has no live release in ${environment.name} to drill.`, { hint: `Deploy ${drill.service} first.` });
  if (release.state === "watching") {
    throw new EngineError("DRILL_BUSY", `${drill.service} v${release.number} is in its watch window in ${environment.name}. Refused: drill ${drill.name}.`);
  }
}

/** Waits (on the clock, every 100 ms) until `done` answers true; false when the drill's signal aborted first. */
async function until(clock: Clock, signal: AbortSignal, done: () => Promise<boolean> | boolean): Promise<boolean> {
  for (;;) {
    if (signal.aborted) return false;
    if (await done()) return true;
    try {
      await clock.sleep(100, signal);
    } catch {
      return false;
    }
  }
}

/** True when every instance of the release is running and in the rotation, and a request through the proxy succeeds. */
async function servesHealthy(environment: EnvironmentRuntime, releaseId: string, context: DrillContext): Promise<boolean> {
  const instances = environment.supervisor.view(releaseId);
  const inRotation = instances.length > 0 && instances.every((i) => i.status === "running" && i.healthy);
  return inRotation && (await context.probe());
}

/**
 * The live artifact released again (its digest, the service's config) with the drill's fault on
 * that release only; the watch's analysis must see it and roll it back by itself. Timings from its
 * switch: the first failing verdict, the rollback, and healthy again on the release before.
 */
function rollbackDrill(engine: Engine): DrillAction {
  return async (drill, context) => {
    const environment = engine.environment(drill.environment);
    const { store, clock } = engine;
    const live = (await store.live.get(drill.service, environment.name))!;
    const before = (await store.releases.get(live.releaseId))!;
    const outcome: DrillOutcome = { releaseId: null, faultAt: null, faultEndedAt: null, detectedAt: null, rolledBackAt: null, healthyAt: null };
    let marked: Promise<unknown> = Promise.resolve();
    const unsubscribe = environment.deployer.analysis.subscribe((id, verdict) => {
      if (id === outcome.releaseId && verdict.outcome === "fail" && outcome.detectedAt === null) outcome.detectedAt = clock.now();
    });
    const fault = drill.fault!;
    try {
      await environment.deployer.deployDigest(drill.service, before.artifactDigest, {
        reason: `drill ${drill.name}: v${before.number}'s artifact again, with a fault (${describeFault(fault)})`,
        actor: "drill",
        signal: context.signal,
        onProgress: (progress) => {
          if (progress.step !== "release" || !progress.releaseId || outcome.releaseId) return;
          const releaseId = progress.releaseId;
          outcome.releaseId = releaseId;
          context.onRelease(releaseId);
          // Set before the switch: the first request the release gets already meets the fault.
          void environment.traffic.setFault(releaseId, fault);
          marked = store.events.append({
            type: "drill.fault-injected",
            service: drill.service,
            environment: environment.name,
            releaseId,
            message: `drill ${drill.name}: the proxy injects ${describeFault(fault)} into the requests to this release`,
            data: { drill: drill.name, fault },
          });
        },
      });
      await marked;
      outcome.faultAt = clock.now();
      const releaseId = outcome.releaseId!;
      const ended = environment.deployer.analysis.ended(releaseId);
      const aborted = new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      await Promise.race([ended, aborted]);
      const release = await store.releases.get(releaseId);
      if (release?.state === "rolled-back") {
        const [event] = await store.events.list({ releaseId, types: ["release.rolled-back"], limit: 1 });
        outcome.rolledBackAt = outcome.faultEndedAt = event?.time ?? clock.now();
        const back = await store.live.get(drill.service, environment.name);
        if (back && (await until(clock, context.signal, () => servesHealthy(environment, back.releaseId, context)))) outcome.healthyAt = clock.now();
      } else {
        outcome.error = `the watch did not roll the drill release back (${release ? `v${release.number} is ${release.state}` : "release gone"}) before the drill ended`;
      }
    } catch (error) {
      outcome.error = (error as Error).message;
    } finally {
      unsubscribe();
      if (outcome.releaseId) await cleanUp(engine, environment, drill, outcome.releaseId);
    }
    return outcome;
  };
}

/** The fault comes off the drill release, and a drill release still live is rolled back (the drill's own rollback, recorded). */
async function cleanUp(engine: Engine, environment: EnvironmentRuntime, drill: DrillDefinition, releaseId: string): Promise<void> {
  await environment.traffic.setFault(releaseId, undefined).catch(() => undefined);
  const live = await engine.store.live.get(drill.service, environment.name);
  if (live?.releaseId !== releaseId) return;
  await environment.deployer
    .rollback(drill.service, { reason: `drill ${drill.name} ended without its watch rolling the drill release back`, expectLive: releaseId, internal: true, actor: "drill" })
    .catch((error) => engine.logger.warn("drills: rolling the drill release back failed", { drill: drill.name, error: String(error) }));
}

/** One instance of the live release SIGKILLed (its whole process group: the shim and the app); timed until every instance serves again. */
function killDrill(engine: Engine): DrillAction {
  return async (drill, context) => {
    const environment = engine.environment(drill.environment);
    const { clock } = engine;
    const outcome: DrillOutcome = { releaseId: null, faultAt: null, faultEndedAt: null, detectedAt: null, rolledBackAt: null, healthyAt: null };
    // Under the environment's writer lock: no deploy, rollback or apply starts while the instance is down.
    await environment.lock.run(`drill ${drill.name}`, async () => {
      const live = await engine.store.live.get(drill.service, environment.name);
      if (!live) return void (outcome.error = `${drill.service} has no live release in ${environment.name}`);
      outcome.releaseId = live.releaseId;
      context.onRelease(live.releaseId);
      const victim = environment.supervisor.view(live.releaseId).find((i) => i.status === "running" && i.pid !== undefined);
      if (!victim) return void (outcome.error = `no running instance of ${drill.service} to kill`);
      outcome.faultAt = clock.now();
      killGroup(victim.pid!);
      const recovered = await until(clock, context.signal, async () => {
        const instances = environment.supervisor.view(live.releaseId);
        return !instances.some((i) => i.pid === victim.pid) && (await servesHealthy(environment, live.releaseId, context));
      });
      if (recovered) outcome.healthyAt = outcome.faultEndedAt = clock.now();
      else outcome.error = `instance ${victim.id} was not back in the rotation before the drill ended`;
    });
    return outcome;
  };
}

/** SIGKILL to the process group the instance leads (its log shim and the app), or to the process alone. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    process.kill(pid, "SIGKILL");
  }
}

/** Refused in ready() (DRILL_UNSUPPORTED); kept so that every type has its action. */
const restartDrill: DrillAction = async (drill) => {
  throw new EngineError("DRILL_UNSUPPORTED", `Drill ${drill.name} is a restart drill: it restarts the engine process, which the engine cannot do to itself; run it with \`engineroom drill run ${drill.name}\` (the CLI stops this engine and starts it again, under load).`);
};

function describeFault(fault: NonNullable<DrillDefinition["fault"]>): string {
  const parts = [fault.errorRate !== undefined ? `${+(fault.errorRate * 100).toFixed(2)}% errors` : undefined, fault.latencyMs !== undefined ? `+${fault.latencyMs} ms` : undefined];
  return parts.filter(Boolean).join(" and ");
}

/** Each drill appends a dated entry to the learning log (once per run). */
async function learn(engine: Engine, run: DrillRunRecord, drill: DrillDefinition): Promise<void> {
  const log = (engine as { learnings?: { append(input: { learning: string; source: string; services: string[]; environment?: string; key?: string; date?: number }): Promise<unknown> } }).learnings;
  if (!log) return;
  const learning = run.state === "passed" ? `Drill passed: ${run.reason}` : `Drill failed: ${run.reason}`;
  await log.append({ date: run.finishedAt ?? undefined, learning, source: `drill ${drill.name}`, services: [drill.service], environment: drill.environment, key: `drill:${run.id}` });
}
