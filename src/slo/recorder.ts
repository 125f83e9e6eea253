import type { Clock, Logger } from "../core/index.js";
import type { MetricsBucket } from "../metrics/index.js";
import type { RequestBucket, RequestHistory } from "../store/index.js";

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

export interface RecorderOptions {
  history: Pick<RequestHistory, "record" | "lastMinute" | "prune">;
  clock: Clock;
  logger?: Logger;
  /** How long after its end a minute waits for late buckets before it is written (default 5 s: the proxies send each second once it is over). */
  graceMs?: number;
  /** Minutes kept (default 3 d). */
  minuteRetentionMs?: number;
  /** Hours kept (default 35 d; the engine passes more when an SLO window is longer). */
  hourRetentionMs?: number;
}

/**
 * Folds the proxies' per-second buckets into per-minute ones per service, environment and release,
 * and writes each closed minute to the request history in one batch.
 *
 * A minute is written once: the newest minute recorded per environment is the mark below which
 * buckets are already in the history, so the data plane's replay of its recent buckets to an engine
 * that attaches again adds only the minutes no engine wrote. A bucket that comes after its minute
 * was written (later than the grace) is dropped and counted in `dropped`.
 */
export class RequestRecorder {
  readonly #history: RecorderOptions["history"];
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #graceMs: number;
  readonly #minuteRetentionMs: number;
  readonly #hourRetentionMs: number;
  /** Per environment: the start of the newest minute in the history. */
  readonly #written = new Map<string, number>();
  /** Open minutes, by environment, service, release and minute. */
  readonly #open = new Map<string, RequestBucket>();
  /** Closed minutes whose write failed: written with the next flush. */
  #unwritten: RequestBucket[] = [];
  #flushing: Promise<number> = Promise.resolve(0);
  #recordedUntil: number;
  #stop: AbortController | undefined;
  #loop: Promise<void> | undefined;
  /** Buckets that came after their minute was written. */
  dropped = 0;

  constructor(options: RecorderOptions) {
    this.#history = options.history;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#graceMs = options.graceMs ?? 5_000;
    this.#minuteRetentionMs = options.minuteRetentionMs ?? 3 * day;
    this.#hourRetentionMs = options.hourRetentionMs ?? 35 * day;
    this.#recordedUntil = this.#closedBefore();
  }

  /** Reads where the history ends for each environment; call it before the first `add`. */
  async load(environments: readonly string[]): Promise<void> {
    for (const environment of environments) {
      const last = await this.#history.lastMinute(environment);
      if (last !== undefined) this.#written.set(environment, last);
    }
  }

  /** Adds buckets of any environment (as the proxies send them, or replay them). */
  add(buckets: readonly MetricsBucket[]): void {
    for (const b of buckets) {
      const start = b.time - (b.time % minute);
      if (start <= (this.#written.get(b.environment) ?? -Infinity)) {
        this.dropped++;
        continue;
      }
      const key = `${b.environment}\u0000${b.service}\u0000${b.releaseId}\u0000${start}`;
      let m = this.#open.get(key);
      if (!m) {
        m = { service: b.service, environment: b.environment, releaseId: b.releaseId, time: start, status: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 }, upstreamErrors: 0, upstreamTimeouts: 0, retried: 0, clientAborts: 0, latency: new Array<number>(b.latency.length).fill(0) };
        this.#open.set(key, m);
      }
      for (const c of ["1xx", "2xx", "3xx", "4xx", "5xx"] as const) m.status[c] += b.status[c];
      m.upstreamErrors += b.upstreamErrors;
      m.upstreamTimeouts += b.upstreamTimeouts ?? 0;
      m.retried += b.retried ?? 0;
      m.clientAborts += b.clientAborts;
      b.latency.forEach((n, i) => (m.latency[i]! += n));
    }
  }

  /** Every minute before this is in the history (or had no traffic): the end of what queries may read. */
  get recordedUntil(): number {
    return this.#recordedUntil;
  }

  /** Writes every closed minute in one batch; answers how many rows were written. Flushes run one at a time. */
  flush(): Promise<number> {
    this.#flushing = this.#flushing.then(() => this.#flush(), () => this.#flush());
    return this.#flushing;
  }

  /** Deletes minutes and hours past their retention. */
  async prune(): Promise<{ minutes: number; hours: number }> {
    const now = this.#clock.now();
    // Whole hours of minutes go, so that a window's edge is either all there or counted from the next hour.
    const minutesBefore = Math.floor((now - this.#minuteRetentionMs) / hour) * hour;
    return this.#history.prune({ minutesBefore, hoursBefore: now - this.#hourRetentionMs });
  }

  /** Flushes every `intervalMs` (default 10 s) and prunes every hour, until `stop`. */
  start(intervalMs = 10_000): void {
    if (this.#stop) return;
    const stop = (this.#stop = new AbortController());
    let lastPrune = -Infinity;
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.flush();
          if (this.#clock.now() - lastPrune >= hour) {
            lastPrune = this.#clock.now();
            await this.prune();
          }
        } catch (error) {
          this.#logger?.warn("request history upkeep failed", { error: String(error) });
        }
        await this.#clock.sleep(intervalMs, stop.signal).catch(() => {});
      }
    })();
  }

  /** Stops the loop and writes the minutes that are closed; open ones are left to the data plane's replay. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#stop = undefined;
    await this.flush().catch((error) => this.#logger?.warn("request history flush failed", { error: String(error) }));
  }

  #closedBefore(): number {
    const now = this.#clock.now() - this.#graceMs;
    return now - (now % minute);
  }

  async #flush(): Promise<number> {
    const before = this.#closedBefore();
    const closed: RequestBucket[] = [];
    for (const [key, m] of this.#open) {
      if (m.time >= before) continue;
      closed.push(m);
      this.#open.delete(key);
    }
    const batch = [...this.#unwritten, ...closed];
    if (batch.length > 0) {
      try {
        await this.#history.record(batch);
        this.#unwritten = [];
      } catch (error) {
        this.#unwritten = batch;
        throw error;
      }
      for (const m of batch) this.#written.set(m.environment, Math.max(m.time, this.#written.get(m.environment) ?? -Infinity));
    }
    this.#recordedUntil = Math.max(this.#recordedUntil, before);
    return batch.length;
  }
}
