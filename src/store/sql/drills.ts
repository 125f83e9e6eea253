import type { DrillRepo, DrillRunQuery, DrillRunRecord } from "../drill-types.js";
import type { EngineEvent, NewEvent } from "../types.js";
import { SqlRepo } from "./database.js";
import { compare, DocumentTable } from "./documents.js";

const runs = new DocumentTable({
  name: "drill_runs",
  key: "id",
  columns: (run: DrillRunRecord) => ({ id: run.id, drill: run.drill, state: run.state, started_at: run.startedAt }),
  replaces: ["state"],
  order: "started_at DESC, id DESC",
});

/**
 * The drill runs (migration 10): columns for what is filtered or ordered by, the run whole as JSON
 * in `detail`. A run and its events (drill.started, drill.finished) are written in one transaction.
 */
export class SqlDrillRepo extends SqlRepo implements DrillRepo {
  put(run: DrillRunRecord, events: readonly NewEvent[] = []): Promise<EngineEvent[]> {
    return runs.putWithEvents(this.db, this.now, run, events);
  }

  get(id: string): Promise<DrillRunRecord | undefined> {
    return runs.get(this.db, id);
  }

  list(query: DrillRunQuery = {}): Promise<DrillRunRecord[]> {
    return runs.list(this.db, { where: [compare("drill", "=", query.drill)], limit: query.limit ?? 50 });
  }
}
