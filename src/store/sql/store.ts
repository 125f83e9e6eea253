import type { Clock } from "../../core/index.js";
import { applyMigrations } from "../migrations.js";
import type { Store } from "../types.js";
import { SqlAlertRepo } from "./alerts.js";
import { SqlArtifactIndex } from "./artifacts.js";
import { SqlCheckRepo } from "./checks.js";
import type { SqlDatabase } from "./database.js";
import { SqlEventLog } from "./events.js";
import { SqlIncidentRepo } from "./incidents.js";
import { SqlUsageRepo } from "./usage.js";
import { SqlTokenRepo } from "./tokens.js";
import { SqlLiveTable } from "./live.js";
import { SqlLockTable } from "./locks.js";
import { SqlActionRepo, SqlLearningRepo, SqlPostmortemRepo } from "./postmortems.js";
import { SqlRunbookRunRepo } from "./runbooks.js";
import { SqlDrillRepo } from "./drills.js";
import { SqlBlobRepo, SqlStateRepo } from "./state.js";
import { SqlReleaseRepo } from "./releases.js";
import { Fence, FencedDatabase, SqlLeaderLease } from "./leader.js";
import { SqlRequestHistory } from "./requests.js";

/**
 * The Store over any `SqlDatabase`: the SQLite and PostgreSQL stores are this, each with its own
 * database underneath. Every time it records comes from the clock it is given.
 */
export abstract class SqlStore implements Store {
  abstract readonly kind: Store["kind"];
  readonly releases: SqlReleaseRepo;
  readonly events: SqlEventLog;
  readonly live: SqlLiveTable;
  readonly locks: SqlLockTable;
  readonly artifacts: SqlArtifactIndex;
  readonly requests: SqlRequestHistory;
  readonly checks: SqlCheckRepo;
  readonly alerts: SqlAlertRepo;
  readonly incidents: SqlIncidentRepo;
  readonly usage: SqlUsageRepo;
  readonly tokens: SqlTokenRepo;
  readonly learnings: SqlLearningRepo;
  readonly actions: SqlActionRepo;
  readonly postmortems: SqlPostmortemRepo;
  readonly runbookRuns: SqlRunbookRunRepo;
  readonly drills: SqlDrillRepo;
  readonly state: SqlStateRepo;
  readonly blobs: SqlBlobRepo;
  /** The leader lease; once claimed, every write of this store is fenced by its term. */
  readonly leader: SqlLeaderLease;
  protected readonly db: SqlDatabase;
  protected readonly clock: Clock;

  constructor(unfenced: SqlDatabase, clock: Clock) {
    const fence = new Fence();
    const db = new FencedDatabase(unfenced, fence);
    this.db = db;
    this.clock = clock;
    const now = () => clock.now();
    this.releases = new SqlReleaseRepo(db, now);
    this.events = new SqlEventLog(db, now);
    this.live = new SqlLiveTable(db, now);
    this.locks = new SqlLockTable(db, now);
    this.artifacts = new SqlArtifactIndex(db, now);
    this.requests = new SqlRequestHistory(db, now);
    this.checks = new SqlCheckRepo(db, now);
    this.alerts = new SqlAlertRepo(db, now);
    this.incidents = new SqlIncidentRepo(db, now);
    this.usage = new SqlUsageRepo(db, now);
    this.tokens = new SqlTokenRepo(db, now);
    this.learnings = new SqlLearningRepo(db, now);
    this.actions = new SqlActionRepo(db, now);
    this.postmortems = new SqlPostmortemRepo(db, now);
    this.runbookRuns = new SqlRunbookRunRepo(db, now);
    this.drills = new SqlDrillRepo(db, now);
    this.state = new SqlStateRepo(db, now);
    this.blobs = new SqlBlobRepo(db, now);
    this.leader = new SqlLeaderLease(db, now, fence);
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.db, () => this.clock.now());
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
