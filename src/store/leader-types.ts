/**
 * Leadership of the control plane: one lease row in the store. Engines on one PostgreSQL claim it;
 * the one that holds it leads, and its term (a number that only grows) fences its writes.
 */

/** Who leads, and since when. */
export interface LeaderState {
  /** The holder's id: unique per engine process, e.g. `host:pid:random`. */
  holder: string;
  /** Where the holder's API is reached (what a standby names in NOT_LEADER's hint), if it said. */
  address: string | null;
  /** 1, 2, 3…: one more every time another holder takes the lease. */
  term: number;
  acquiredAt: number;
  expiresAt: number;
}

export type LeaderClaim = { leading: true; state: LeaderState } | { leading: false; leader: LeaderState | undefined };

export interface LeaderLease {
  /**
   * Takes the lease for `holder` when it is free or expired (the term goes up), or extends it when
   * `holder` holds it already (the same term), in one statement. From then on every write of this
   * store carries the term and is refused (NOT_LEADER) once another holder took a later one; a claim
   * that does not lead makes every write of this store refused until one leads.
   */
  claim(holder: string, address: string | null, leaseMs: number): Promise<LeaderClaim>;
  /** The lease as recorded (expired or not), if anyone ever held it. */
  current(): Promise<LeaderState | undefined>;
  /** Gives the lease up (it expires now) if `holder` still holds it; this store's writes are refused after. */
  resign(holder: string): Promise<boolean>;
  /** The term this store's writes carry: undefined when no claim was made (no fencing: SQLite, tools). */
  readonly fencedTerm: number | null | undefined;
}
