import type { ProjectConfig } from "../config/index.js";
import { decimal, type Clock, type Logger } from "../core/index.js";
import { meanUse, money, monthlyCost, priceSheetOf, reservationColumns, reservationOf, type MeasuredUse, type PriceSheet, type Reservation } from "../cost/index.js";
import type { ConfigSnapshots } from "../deploy/index.js";
import type { Runtime } from "../runtime/index.js";
import { usageBucketMs, type Store, type UsageBucket } from "../store/index.js";

/** What the watch works with: the engine's parts (the engine itself is one). */
export interface CostWatchParts {
  runtime: Pick<Runtime, "list" | "usage">;
  clock: Clock;
  store: Pick<Store, "live" | "usage" | "releases">;
  configSnapshots: Pick<ConfigSnapshots, "load">;
  logger: Logger;
  /** The project as the engine started with it: its environments and its price sheet. */
  project: { config: Pick<ProjectConfig, "cost" | "environments"> };
}

const hourMs = 3_600_000;
/** Usage buckets are kept as long as the request history's hours (35 days by default): reports read both. */
const retentionMs = 35 * 24 * hourMs;

/**
 * Samples what every running instance uses (CPU time, resident memory: the runtime's `usage()`)
 * every `intervalMs` on the engine's clock, and adds each sample to its instance's 5-minute bucket
 * in the store with what the instance reserved and whether its release was live. Each sample covers
 * the time since the one before (an instance started since then: since its start), and goes to the
 * bucket it ends in. An instance an earlier engine started is measured from its first sample here.
 */
export class CostWatch {
  readonly #engine: CostWatchParts;
  /** The last sample of each instance: when, and its CPU time then. */
  readonly #last = new Map<string, { at: number; cpuMs: number }>();
  readonly #reservations = new Map<string, Reservation>();
  #since = 0;
  #prunedAt = 0;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(engine: CostWatchParts) {
    this.#engine = engine;
  }

  /** The project's price sheet as the engine started with it; undefined when engineroom.yaml declares none. */
  get sheet(): PriceSheet | undefined {
    return priceSheetOf(this.#engine.project.config.cost);
  }

  start(intervalMs = 30_000): void {
    if (this.#loop || !this.#engine.runtime.usage) return;
    this.#since = this.#engine.clock.now();
    const stop = (this.#stop = new AbortController());
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.#engine.clock.sleep(intervalMs, stop.signal);
        } catch {
          return;
        }
        await this.sample().catch((error) => this.#engine.logger.warn("usage sample failed", { error: String(error) }));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Takes one sample of every running instance and records it; answers the buckets written. */
  async sample(): Promise<UsageBucket[]> {
    const { runtime, clock, store } = this.#engine;
    const usage = await runtime.usage?.();
    if (!usage) return [];
    const now = clock.now();
    const live = new Set<string>();
    for (const environment of this.#environments()) for (const record of await store.live.list(environment)) live.add(record.releaseId);
    const environments = new Set(this.#environments());
    const samples: UsageBucket[] = [];
    const seen = new Set<string>();
    for (const instance of runtime.list()) {
      const used = usage.get(instance.id);
      const environment = instance.labels.environment;
      if (!used || instance.status !== "running" || environment === undefined || !environments.has(environment)) continue;
      seen.add(instance.id);
      const last = this.#last.get(instance.id);
      this.#last.set(instance.id, { at: now, cpuMs: used.cpuMs });
      // First seen: since its start if it started while this watch ran (all its CPU time is since then); else from now on.
      const from = last ? last.at : instance.startedAt >= this.#since ? instance.startedAt : undefined;
      if (from === undefined || now <= from) continue;
      samples.push({
        environment,
        service: instance.service,
        releaseId: instance.releaseId,
        instanceId: instance.id,
        start: Math.floor(now / usageBucketMs) * usageBucketMs,
        aliveMs: now - from,
        cpuMs: Math.max(0, Math.round(used.cpuMs - (last?.cpuMs ?? 0))),
        rssBytes: used.rssBytes,
        rssMaxBytes: used.rssBytes,
        ...reservationColumns(await this.#reservation(instance.releaseId)),
        live: live.has(instance.releaseId),
      });
    }
    for (const id of this.#last.keys()) if (!seen.has(id)) this.#last.delete(id);
    await store.usage.record(samples);
    if (now - this.#prunedAt >= hourMs) {
      this.#prunedAt = now;
      await store.usage.prune(now - retentionMs);
    }
    return samples;
  }

  /** The mean use per instance of each live release over the last hour, by `${environment}\0${service}`. */
  async measured(): Promise<Map<string, MeasuredUse>> {
    const { store, clock } = this.#engine;
    const now = clock.now();
    const result = new Map<string, MeasuredUse>();
    for (const environment of this.#environments()) {
      const live = new Map((await store.live.list(environment)).map((r) => [r.releaseId, r.service]));
      const buckets = await store.usage.list({ environment, fromMs: now - hourMs, toMs: now + usageBucketMs });
      for (const [releaseId, service] of live) {
        const use = meanUse(buckets.filter((b) => b.releaseId === releaseId));
        if (use) result.set(`${environment}\0${service}`, use);
      }
    }
    return result;
  }

  /**
   * What a service costs a month at its current rate in an environment: its instances running now ×
   * max(what its live release reserves, measured) × price × 730 h. Undefined without a price sheet
   * or a live release.
   */
  async monthlyRate(environment: string, service: string, instances: number, measured?: ReadonlyMap<string, MeasuredUse>): Promise<{ monthly: string; text: string } | undefined> {
    const sheet = this.sheet;
    const live = sheet && (await this.#engine.store.live.get(service, environment));
    if (!sheet || !live) return undefined;
    const use = (measured ?? (await this.measured())).get(`${environment}\0${service}`);
    const monthly = monthlyCost(await this.#reservation(live.releaseId), instances, sheet.prices(environment), use);
    return { monthly: decimal.decimalText(monthly), text: `${money(monthly, sheet.currency)}/month` };
  }

  #environments(): string[] {
    return this.#engine.project.config.environments.map((e) => e.name);
  }

  async #reservation(releaseId: string): Promise<Reservation> {
    let reservation = this.#reservations.get(releaseId);
    if (!reservation) {
      const release = await this.#engine.store.releases.get(releaseId);
      const config = release && (await this.#engine.configSnapshots.load(release.configHash));
      reservation = reservationOf(config ?? {});
      this.#reservations.set(releaseId, reservation);
    }
    return reservation;
  }
}
