import { analyse, withDefaults, type AnalysisPolicy, type Verdict } from "../analysis/index.js";
import type { ServiceConfig } from "../config/index.js";
import type { Clock } from "../core/index.js";
import type { MetricSource, ReleaseSample } from "../metrics/index.js";
import { latencyBoundsMs } from "../metrics/index.js";
import { AnalysisLog } from "./analysis-log.js";
import { unhealthyThreshold } from "./health.js";
import type { InstanceHealth } from "./instances.js";
import type { Release } from "../store/index.js";

export interface WatchInput {
  release: Release;
  service: ServiceConfig;
  /** How long the window still runs from now. */
  windowMs: number;
  /** When traffic went to the release; the sample is everything since. */
  switchedAt: number;
  /** The release that served before, whose traffic just before the switch is the baseline. */
  previousReleaseId: string | null;
  source: MetricSource;
  clock: Clock;
  signal: AbortSignal;
  onVerdict: (verdict: Verdict) => void;
  /**
   * The live health of every instance, as the supervisor last checked it; the watch fails a release
   * whose instance failed its health check `unhealthy_threshold` times in a row.
   */
  health?: () => InstanceHealth[];
}

export interface WatchOutcome {
  /** "fail" as soon as a verdict fails; otherwise the last verdict's outcome when the window ends. */
  outcome: Verdict["outcome"];
  verdict: Verdict | undefined;
  policy: AnalysisPolicy;
}

/** The analysis policy of a service, from its `analysis` config and its watch window. */
export function policyOf(service: ServiceConfig): AnalysisPolicy {
  const { analysis, release } = service;
  return withDefaults({
    maxErrorRate: analysis.max_error_rate,
    maxP95Ms: analysis.max_p95,
    confidence: analysis.confidence,
    // The false-rollback budget is shared by every look of the window (see analysis/verdict.ts).
    looks: Math.max(1, Math.ceil(release.watch / analysis.interval)),
    whenInconclusive: analysis.when_inconclusive,
  });
}

/**
 * The watch window of a live release: every `analysis.interval` a verdict over the release's traffic
 * since its switch, against the previous release's traffic over `analysis.baseline` before it.
 * Returns at the first failing verdict, or when the window ends. Rejects if `signal` aborts (the
 * release was rolled back or replaced, or the engine stops).
 */
export async function watchRelease(input: WatchInput): Promise<WatchOutcome> {
  const { release, service, clock, source, signal } = input;
  const policy = policyOf(service);
  const end = clock.now() + input.windowMs;
  if (!service.analysis.enabled) {
    await clock.sleep(input.windowMs, signal);
    return { outcome: "pass", verdict: undefined, policy };
  }
  const query = { service: release.service, environment: release.environment };
  const baseline: ReleaseSample | undefined = input.previousReleaseId
    ? await source
        .sample({ ...query, releaseId: input.previousReleaseId, fromMs: input.switchedAt - service.analysis.baseline, toMs: input.switchedAt })
        .catch(() => undefined)
    : undefined;
  let verdict: Verdict | undefined;
  let looks = 0;
  while (clock.now() < end) {
    await clock.sleep(Math.min(service.analysis.interval, end - clock.now()), signal);
    const now = clock.now();
    const candidate = await source.sample({ ...query, releaseId: release.id, fromMs: input.switchedAt, toMs: now }).catch(() => undefined);
    signal.throwIfAborted();
    // Metrics that cannot be read are no data: inconclusive, never a pass or a failure.
    const sample = candidate ?? { requests: 0, errors: 0, latency: new Array<number>(latencyBoundsMs.length + 1).fill(0), fromMs: input.switchedAt, toMs: now };
    verdict = analyse({ candidate: sample, baseline: baseline && baseline.requests > 0 ? baseline : undefined, policy, elapsedMs: now - input.switchedAt });
    if (input.health) verdict = withHealth(verdict, input.health(), ++looks, service);
    input.onVerdict(verdict);
    if (verdict.outcome === "fail") return { outcome: "fail", verdict, policy };
  }
  return { outcome: verdict?.outcome ?? "inconclusive", verdict, policy };
}

/** Adds the health-check evidence to a verdict: a release whose instance keeps failing its health check fails, whatever its traffic says. */
export function withHealth(verdict: Verdict, results: InstanceHealth[], looks: number, service: ServiceConfig): Verdict {
  const { path } = service.health;
  const threshold = unhealthyThreshold(service.health);
  // An instance replaced for failing its check still counts: its slot keeps the peak it reached.
  const peaks = results.map((r) => (r.peak && r.peak.failures > r.failures ? { ...r, ...r.peak } : r));
  const worst = [...peaks].sort((a, b) => b.failures - a.failures)[0];
  const failing = results.filter((r) => !r.ok).length;
  const fails = !!worst && worst.failures >= threshold;
  const summary = fails
    ? `Instance ${worst.instanceId} failed GET ${path} ${worst.failures} times in a row (last: ${worst.detail})`
    : `${results.length - failing} of ${results.length} instances pass GET ${path}`;
  const check: Verdict["checks"][number] = {
    name: "health-checks",
    outcome: results.length === 0 ? "inconclusive" : fails ? "fail" : "pass",
    metric: "health",
    observed: failing,
    baseline: null,
    limit: threshold,
    test: "probe",
    statistic: { name: "failures in a row", value: worst?.failures ?? 0 },
    pValue: null,
    alpha: verdict.alpha,
    samples: { candidate: looks, baseline: null },
    summary: summary + ".",
  };
  // One health check per verdict: a verdict built on an earlier one (release.down) replaces its check.
  const checks = [...verdict.checks.filter((c) => c.name !== "health-checks"), check];
  if (fails) return { ...verdict, outcome: "fail", reason: `${summary}.`, checks };
  return { ...verdict, checks };
}

/**
 * The verdict on a watched release that lost every instance (`release.down`): a failure, with the
 * health evidence added to the last verdict (or to one over no traffic, when none was given yet).
 */
export function downVerdict(last: Verdict | undefined, results: InstanceHealth[], service: ServiceConfig, elapsedMs: number, reason: string): Verdict {
  const base = last ?? analyse({ candidate: emptySample(elapsedMs), baseline: undefined, policy: policyOf(service), elapsedMs });
  const verdict = withHealth(base, results, 1, service);
  return verdict.outcome === "fail" ? verdict : { ...verdict, outcome: "fail", reason };
}

function emptySample(toMs: number): ReleaseSample {
  return { requests: 0, errors: 0, latency: new Array<number>(latencyBoundsMs.length + 1).fill(0), fromMs: 0, toMs };
}

/** The watch windows running now, one per watched release, and their verdicts. */
export class Watches {
  /** Verdicts of the releases being watched, for `engineroom watch` and status. */
  readonly analysis = new AnalysisLog();
  #running = new Map<string, AbortController>();
  /** What a cancelled watch waits for before it ends (see cancel). */
  #actedOn = new WeakMap<AbortController, Promise<unknown>>();

  /**
   * Starts the watch of a release; `onEnd` gets the outcome when the window ends or a verdict fails
   * (not when the watch is cancelled). Returns the whole watch, `onEnd` included.
   */
  start(input: Omit<WatchInput, "signal" | "onVerdict">, onEnd: (result: WatchOutcome) => Promise<void>): Promise<void> {
    const { release } = input;
    const controller = new AbortController();
    this.#running.set(release.id, controller);
    const watch = (async () => {
      let result: WatchOutcome;
      try {
        result = await watchRelease({ ...input, signal: controller.signal, onVerdict: (verdict) => this.analysis.verdict(release.id, verdict) });
      } catch {
        // Cancelled: rolled back, superseded, or the engine stops. The watch ends when that is done.
        await this.#actedOn.get(controller)?.catch(() => {});
        return;
      } finally {
        if (this.#running.get(release.id) === controller) this.#running.delete(release.id);
      }
      await onEnd(result);
    })();
    this.analysis.watching(release.id, watch);
    return watch;
  }

  has(releaseId: string): boolean {
    return this.#running.has(releaseId);
  }

  /**
   * Stops the watch of a release. With `actedOn`, whoever follows the watch (`analysis.ended`) waits
   * for that too: a rollback ends the watch before its switch and records the release after it.
   */
  cancel(releaseId: string, actedOn?: Promise<unknown>): void {
    const controller = this.#running.get(releaseId);
    if (controller && actedOn) this.#actedOn.set(controller, actedOn);
    controller?.abort(new Error("watch cancelled"));
    this.#running.delete(releaseId);
  }

  cancelAll(): void {
    for (const id of [...this.#running.keys()]) this.cancel(id);
  }
}
