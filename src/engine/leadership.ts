import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Clock, Logger } from "../core/index.js";
import type { LeaderClaim, LeaderState, Store } from "../store/index.js";

/** `ha:` of engineroom.yaml: how long a leader's lease lasts, and how often it renews it. */
export interface HaSettings {
  leaseMs: number;
  renewMs: number;
}

/**
 * A killed leader's lease runs out within `leaseMs` of its last renewal, and a standby claims it as it
 * ends: kill → new lease ≤ lease + a few ms. 8 s keeps that under 10 s while a leader can miss three
 * renewals in a row (every 2 s: a stalled event loop, a slow database) and keep its lease. Kubernetes'
 * leader election uses lease 15 s, renew deadline 10 s, retry 2 s; its candidates retry on the retry
 * period only, so its takeover is up to lease + retry. The same as `ha:`'s defaults in src/config/schema.ts.
 */
export const haDefaults: HaSettings = { leaseMs: 8_000, renewMs: 2_000 };

/** How long after the lease it saw ends a standby claims it: timer slack, not a renew period. */
export const takeoverMarginMs = 20;

/** Who leads, as a standby last read it (the lease row). */
export type LeaderView = NonNullable<LeadershipStatus["leader"]>;

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
 * resolves once this engine leads. A standby waits there: each failed claim reads the lease, and it
 * claims again just after that lease ends (on its own clock, which the store's claim compares too), or
 * after `renewMs` if that comes first, so that a renewed lease or a new leader is seen. Then the lease
 * is renewed every `renewMs`. When a renewal finds the lease taken, or the lease would end before a
 * renewal gets through (the database unreachable: a standby may claim it then), `onLost` is called
 * once; the store refuses this engine's writes from then on anyway (NOT_LEADER), by term.
 * On SQLite there is one engine: it leads, and nothing is claimed.
 */
export class Leadership {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  #role: LeadershipStatus["role"];
  #leader: LeaderState | undefined;
  #lastRenewal = 0;
  /** When the lease this engine last took or renewed ends, on its own clock (it wrote the time). */
  #leaseEnd = 0;
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

  /**
   * Resolves when this engine leads; rejects if `signal` aborts first. `onStandby` is called once, when
   * the first claim finds another leader: with that leader, and `latest` that gives the leader as the
   * most recent claim read it (a standby's answers name the current leader, not the first one).
   */
  async lead(options: { signal?: AbortSignal; onStandby?: (leader: LeaderState | undefined, latest: () => LeaderView | undefined) => void } = {}): Promise<void> {
    if (this.#role === "single") return;
    let told = false;
    let seen: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      let wait = this.settings.renewMs;
      try {
        if (await this.#claim()) break;
        wait = this.#nextClaimIn();
        const leader = this.#leader;
        const who = leader && `${leader.holder} ${leader.term} ${leader.address}`;
        if (who !== seen) {
          seen = who;
          this.parts.logger.info(told ? "standing by, the leader changed" : "standing by", { leader: leader?.holder ?? null, address: leader?.address ?? null, term: leader?.term ?? null });
        }
        if (!told) {
          told = true;
          options.onStandby?.(leader, () => this.status().leader ?? undefined);
        }
      } catch (error) {
        this.parts.logger.warn("leader lease claim failed", { error: String(error) });
      }
      await this.parts.clock.sleep(wait, options.signal);
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
    return this.#took(await this.store.leader.claim(this.holder, this.#address, this.settings.leaseMs));
  }

  #took(claim: LeaderClaim): boolean {
    this.#leader = claim.leading ? claim.state : claim.leader;
    if (claim.leading) {
      this.#role = "leader";
      this.#lastRenewal = this.parts.clock.now();
      this.#leaseEnd = claim.state.expiresAt;
    }
    return claim.leading;
  }

  /** A standby's wait before its next claim: until just after the lease it read ends, at most `renewMs`. */
  #nextClaimIn(): number {
    const expiresAt = this.#leader?.expiresAt;
    if (expiresAt === undefined) return this.settings.renewMs;
    const untilEnd = expiresAt - this.parts.clock.now() + takeoverMarginMs;
    return Math.min(this.settings.renewMs, Math.max(takeoverMarginMs, untilEnd));
  }

  #schedule(): void {
    if (this.#stopped) return;
    // On the engine's clock (a ManualClock in tests); stop() ends the wait.
    this.parts.clock.sleep(this.settings.renewMs, this.#stop.signal).then(
      () => this.#renew(),
      () => undefined,
    );
  }

  /**
   * One renewal. The leader gives up before a standby can claim its lease (on clocks in step): when a
   * renewal failed and the next one would come at or after the lease's end, or when a renewal has not
   * answered by the lease's end (a database that does not answer at all).
   */
  async #renew(): Promise<void> {
    const { clock } = this.parts;
    let reason: string | undefined;
    const answered = new AbortController();
    const claim = this.store.leader.claim(this.holder, this.#address, this.settings.leaseMs);
    const leaseEnd = clock.sleep(Math.max(0, this.#leaseEnd - clock.now()), answered.signal).then(
      () => "lease ended" as const,
      () => new Promise<never>(() => {}), // the renewal answered first: the race is over
    );
    try {
      const first = await Promise.race([claim, leaseEnd]);
      if (first === "lease ended") {
        reason = `no renewal answered before the lease ended (${clock.now() - this.#lastRenewal} ms after the last one; a lease lasts ${this.settings.leaseMs} ms)`;
        // Should the renewal land after all, give the lease up again: this engine stops leading.
        void claim.then((late) => (late.leading ? this.store.leader.resign(this.holder) : false)).catch(() => false);
      } else if (!this.#took(first)) {
        reason = `the lease was taken by ${this.#leader?.holder ?? "another engine"} (term ${this.#leader?.term ?? "?"})`;
      }
    } catch (error) {
      const since = clock.now() - this.#lastRenewal;
      const left = this.#leaseEnd - clock.now();
      this.parts.logger.warn("leader lease renewal failed", { error: String(error), sinceLastRenewalMs: since });
      if (left <= this.settings.renewMs) reason = `no renewal reached the store for ${since} ms, and the lease ends in ${Math.max(0, left)} ms, before another try (a lease lasts ${this.settings.leaseMs} ms)`;
    } finally {
      answered.abort();
    }
    if (this.#stopped) return;
    if (reason === undefined) return this.#schedule();
    this.#role = "standby";
    this.parts.logger.error("lost the leadership", { reason });
    this.#lost?.(reason);
  }
}
