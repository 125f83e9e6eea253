import type { DrillRepo, DrillRunQuery, DrillRunRecord } from "../drill-types.js";
import { compare, DocumentTable, SqlDocumentRepo } from "./documents.js";

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
export class SqlDrillRepo extends SqlDocumentRepo<DrillRunRecord> implements DrillRepo {
  protected readonly table = runs;

  list(query: DrillRunQuery = {}): Promise<DrillRunRecord[]> {
    return runs.list(this.db, { where: [compare("drill", "=", query.drill)], limit: query.limit ?? 50 });
  }
}
