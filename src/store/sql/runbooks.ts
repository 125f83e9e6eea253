import type { RunbookRunQuery, RunbookRunRecord, RunbookRunRepo } from "../runbook-types.js";
import { compare, DocumentTable, SqlDocumentRepo } from "./documents.js";

const runs = new DocumentTable({
  name: "runbook_runs",
  key: "id",
  columns: (run: RunbookRunRecord) => ({
    id: run.id,
    runbook: run.runbook,
    service: run.service,
    environment: run.environment,
    state: run.state,
    started_at: run.startedAt,
    updated_at: run.updatedAt,
  }),
  replaces: ["state", "updated_at"],
  order: "started_at DESC, id DESC",
});

/**
 * The runbook runs table: columns for what is filtered or ordered by, the run whole as JSON in
 * `detail`. A run and the events of its change are written in one transaction.
 */
export class SqlRunbookRunRepo extends SqlDocumentRepo<RunbookRunRecord> implements RunbookRunRepo {
  protected readonly table = runs;

  list(query: RunbookRunQuery = {}): Promise<RunbookRunRecord[]> {
    const where = [compare("runbook", "=", query.runbook), compare("service", "=", query.service), compare("started_at", ">=", query.sinceMs)];
    return runs.list(this.db, { where, limit: query.limit ?? 100 });
  }
}
