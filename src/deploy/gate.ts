import { setMaxListeners } from "node:events";
import type { ServiceConfig } from "../config/index.js";
import { EngineError, type Clock } from "../core/index.js";
import type { Runtime } from "../runtime/index.js";
import { waitHealthy, type HealthOutcome } from "./health.js";
import type { Supervisor } from "./instances.js";
import { runSmokeTests } from "./smoke.js";

/**
 * The health gate: resolves when every instance of the release passed its health check
 * `healthy_threshold` times in a row; throws DEPLOY_HEALTH_TIMEOUT (with the last probe and the
 * instance's last output) or DEPLOY_INSTANCE_CRASHED as soon as one instance fails or exits.
 */
export async function healthGate(
  releaseId: string,
  service: ServiceConfig,
  deps: { supervisor: Supervisor; runtime: Runtime; clock: Clock },
  signal: AbortSignal,
  /** Only these instances of the release (the fresh ones next to adopted instances); default all. */
  only?: readonly string[],
): Promise<{ ms: number }> {
  // An abort that came before this point fires no "abort" event for the listener below.
  signal.throwIfAborted();
  const { supervisor, runtime, clock } = deps;
  const local = new AbortController();
  // Every instance's health loop listens on it (up to 64): not a leak.
  setMaxListeners(0, local.signal);
  const onAbort = () => local.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let crashed: ((error: EngineError) => void) | undefined;
  const crash = new Promise<never>((_, reject) => (crashed = reject));
  crash.catch(() => {});
  const unsubscribe = supervisor.onEarlyCrash(releaseId, (exit, instanceId) => {
    void runtime.logs(instanceId, { lines: 20 }).then(
      (lines) =>
        crashed!(
          new EngineError("DEPLOY_INSTANCE_CRASHED", `instance ${instanceId} exited (${exit.signal ?? `code ${exit.code}`}) before it became healthy`, {
            details: { instanceId, code: exit.code, signal: exit.signal, lastLines: lines },
          }),
        ),
      () => crashed!(new EngineError("DEPLOY_INSTANCE_CRASHED", `instance ${instanceId} exited before it became healthy`)),
    );
  });
  const started = clock.now();
  try {
    const outcomes = await Promise.race([
      Promise.all(supervisor.targets(releaseId).filter((t) => !only || only.includes(t.id)).map((target) => waitHealthy(target, service.health, clock, local.signal, runtime).then((o) => ({ target, o })))),
      crash,
    ]);
    const failed = outcomes.find((x): x is { target: (typeof outcomes)[number]["target"]; o: Extract<HealthOutcome, { healthy: false }> } => !x.o.healthy);
    if (failed) {
      const lines = await runtime.logs(failed.target.id, { lines: 20 }).catch(() => []);
      throw new EngineError("DEPLOY_HEALTH_TIMEOUT", `health check failed: ${failed.o.reason}; last probe: ${failed.o.lastProbe ?? "none"}`, {
        details: { instanceId: failed.target.id, check: `GET ${service.health.path}`, lastProbe: failed.o.lastProbe, lastLines: lines },
      });
    }
    return { ms: clock.now() - started };
  } finally {
    local.abort(new Error("health gate over"));
    signal.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}

/** Runs the service's smoke tests against every instance of the release; throws DEPLOY_SMOKE_FAILED on the first failure. */
export async function smokeGate(
  releaseId: string,
  service: ServiceConfig,
  deps: { supervisor: Supervisor; runtime: Runtime },
  signal: AbortSignal,
): Promise<void> {
  if (service.smoke.length === 0) return;
  const failure = await runSmokeTests(deps.supervisor.targets(releaseId), service.smoke, signal, deps.runtime);
  if (failure) {
    const lines = await deps.runtime.logs(failure.instanceId, { lines: 20 }).catch(() => []);
    throw new EngineError("DEPLOY_SMOKE_FAILED", `smoke test "${failure.test}" failed on ${failure.instanceId}: ${failure.problem}`, {
      details: { test: failure.test, instanceId: failure.instanceId, problem: failure.problem, lastLines: lines },
    });
  }
}
