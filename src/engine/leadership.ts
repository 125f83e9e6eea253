import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Clock, Logger } from "../core/index.js";
import type { LeaderState, Store } from "../store/index.js";

/** `ha:` of engineroom.yaml: how long a leader's lease lasts, and how often it renews it. */
export interface HaSettings {
  leaseMs: number;
  renewMs: number;
}

export const haDefaults: HaSettings = { leaseMs: 10_000, renewMs: 3_000 };

/** What `status` shows of the control plane's leadership. */
export interface LeadershipStatus {
  /** `single`: an SQLite store, one engine, always leading; `leader` or `standby` on PostgreSQL. */
  role: "single" | "leader" | "standby";
  /** This engine's holder id. */
  holder: string;
  /** The term this engine leads in (null when it does not lead). */
  term: number | null;
  /** Who leads (this engine when it leads), with its API address. */
  leader: { holder: string; address: string | null; term: number; expiresAt: number } | null;
}

/**
 * Leadership of the engines sharing one PostgreSQL store, by the store's fenced lease. `lead()`
 * resolves once this engine leads (a standby waits there, claiming every `renewMs`); then the lease is
 * renewed every `renewMs`. When a renewal finds the lease taken, or no renewal succeeded for a whole
 * lease (the database was unreachable: another engine may lead by now), `onLost` is called once; the
 * store refuses this engine's writes from then on anyway (NOT_LEADER), by term.
 * On SQLite there is one engine: it leads, and nothing is claimed.
 */
export class Leadership {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  #role: LeadershipStatus["role"];
  #leader: LeaderState | undefined;
  #lastRenewal = 0;
  readonly #stop = new AbortController();
  #lost: ((reason: string) => void) | undefined;
  #stopped = false;
  #address: string | null;

  constructor(
    readonly store: Store,
    readonly settings: HaSettings,
    readonly parts: { address: string | null; clock: Clock; logger: Logger },
  ) {
    this.#role = store.kind === "postgres" ? "standby" : "single";
    this.#address = parts.address;
  }

  /** The API address standbys name in NOT_LEADER's hint (the bound one, once the API listens): a leader writes it at once, with a renewal. */
  async advertise(address: string): Promise<void> {
    this.#address = address;
    if (this.#role !== "leader") return;
    await this.#claim().catch((error: unknown) => this.parts.logger.warn("leader lease renewal failed", { error: String(error) }));
  }

  get leading(): boolean {
    return this.#role !== "standby";
  }

  status(): LeadershipStatus {
    const leader = this.#leader;
    return {
      role: this.#role,
      holder: this.holder,
      term: this.#role === "leader" ? (leader?.term ?? null) : null,
      leader: leader ? { holder: leader.holder, address: leader.address, term: leader.term, expiresAt: leader.expiresAt } : null,
    };
  }

  /** Resolves when this engine leads; rejects if `signal` aborts first. */
  async lead(options: { signal?: AbortSignal; onStandby?: (leader: LeaderState | undefined) => void } = {}): Promise<void> {
    if (this.#role === "single") return;
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        if (await this.#claim()) break;
        if (!told) {
          told = true;
          options.onStandby?.(this.#leader);
          this.parts.logger.info("standing by", { leader: this.#leader?.holder ?? null, address: this.#leader?.address ?? null, term: this.#leader?.term ?? null });
        }
      } catch (error) {
        this.parts.logger.warn("leader lease claim failed", { error: String(error) });
      }
      await this.parts.clock.sleep(this.settings.renewMs, options.signal);
    }
    this.parts.logger.info("leading", { term: this.#leader?.term ?? null });
    this.#schedule();
  }

  /** Called once when this engine stops leading. */
  onLost(listener: (reason: string) => void): void {
    this.#lost = listener;
  }

  /** Stops renewing and gives the lease up, so that a standby leads at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    if (this.#role === "leader") {
      this.#role = "standby";
      await this.store.leader.resign(this.holder).catch(() => false);
    }
  }

  async #claim(): Promise<boolean> {
    const claim = await this.store.leader.claim(this.holder, this.#address, this.settings.leaseMs);
    this.#leader = claim.leading ? claim.state : claim.leader;
    if (claim.leading) {
      this.#role = "leader";
      this.#lastRenewal = this.parts.clock.now();
    }
    return claim.leading;
  }

  #schedule(): void {
    if (this.#stopped) return;
    // On the engine's clock (a ManualClock in tests); stop() ends the wait.
    this.parts.clock.sleep(this.settings.renewMs, this.#stop.signal).then(
      () => this.#renew(),
      () => undefined,
    );
  }

  async #renew(): Promise<void> {
    let reason: string | undefined;
    try {
      if (!(await this.#claim())) reason = `the lease was taken by ${this.#leader?.holder ?? "another engine"} (term ${this.#leader?.term ?? "?"})`;
    } catch (error) {
      const since = this.parts.clock.now() - this.#lastRenewal;
      this.parts.logger.warn("leader lease renewal failed", { error: String(error), sinceLastRenewalMs: since });
      if (since >= this.settings.leaseMs) reason = `no renewal reached the store for ${since} ms (a lease lasts ${this.settings.leaseMs} ms)`;
    }
    if (this.#stopped) return;
    if (reason === undefined) return this.#schedule();
    this.#role = "standby";
    this.parts.logger.error("lost the leadership", { reason });
    this.#lost?.(reason);
  }
}
