import type { AlertSink } from "../alert/index.js";
import { RequestRecorder, SloEvaluator, type CheckCounts, type SloDefinition } from "../slo/index.js";
import type { CheckRepo } from "../store/index.js";
import type { Engine } from "./engine.js";

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/** The SLO parts as the engine runs them. */
export interface SloParts {
  recorder: RequestRecorder;
  evaluator: SloEvaluator;
  stop(): Promise<void>;
}

/**
 * Starts the request recorder on every environment's proxy metrics and the SLO evaluator of
 * `slos` (parsed at the engine's start, see monitoring-config.ts), every 30 s, the first 5 s after
 * start so that the alert manager is up.
 */
export async function startSlos(engine: Engine, sink: AlertSink, slos: readonly SloDefinition[]): Promise<SloParts> {
  const environments = engine.environments.map((e) => e.name);
  const longest = Math.max(0, ...slos.map((s) => s.windowMs));
  const recorder = new RequestRecorder({
    history: engine.store.requests,
    clock: engine.clock,
    logger: engine.logger.child({ component: "requests" }),
    // Hours for the longest window and a day more, at least 35 days (reports read them too).
    hourRetentionMs: Math.max(35 * dayMs, longest + dayMs),
  });
  await recorder.load(environments);
  const unsubscribe = engine.environments.map((e) => e.proxy.onMetrics((buckets) => recorder.add(buckets)));
  recorder.start();
  const evaluator = new SloEvaluator({
    slos,
    clock: engine.clock,
    sink,
    requests: engine.store.requests,
    checks: storeCheckCounts(engine.store.checks),
    events: engine.store.events,
    recordedUntil: async () => {
      await recorder.flush();
      return recorder.recordedUntil;
    },
    logger: engine.logger.child({ component: "slo" }),
  });
  if (slos.length > 0) evaluator.start(30_000, 5_000);
  return {
    recorder,
    evaluator,
    async stop() {
      await evaluator.stop();
      for (const u of unsubscribe) u();
      await recorder.stop();
    },
  };
}

/**
 * A check's runs and failures over [from, to) from the monitor's stored aggregates: whole hours
 * from the hours, the edges from the minutes (kept a day; an older edge counts from the next hour).
 */
export function storeCheckCounts(repo: CheckRepo): CheckCounts {
  const sum = async (resolution: "minute" | "hour", name: string, from: number, to: number) => {
    if (to <= from) return { runs: 0, failures: 0 };
    const buckets = await repo.buckets({ resolution, from, to, name });
    return buckets.reduce((a, b) => ({ runs: a.runs + b.runs, failures: a.failures + b.failures }), { runs: 0, failures: 0 });
  };
  return {
    async counts(check, from, to) {
      const firstHour = Math.ceil(from / hourMs) * hourMs;
      const lastHour = Math.floor(to / hourMs) * hourMs;
      if (firstHour >= lastHour) return sum("minute", check, from, to);
      const parts = await Promise.all([sum("minute", check, from, firstHour), sum("hour", check, firstHour, lastHour), sum("minute", check, lastHour, to)]);
      return parts.reduce((a, b) => ({ runs: a.runs + b.runs, failures: a.failures + b.failures }));
    },
  };
}
