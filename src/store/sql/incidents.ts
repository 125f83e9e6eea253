import type { IncidentQuery, IncidentRecord, IncidentRepo } from "../incident-types.js";
import { DocumentTable, SqlDocumentRepo } from "./documents.js";

/** States in which an incident is still open (the rest are over). */
const openStates = ["triage", "investigating", "mitigated"] as const;

const incidents = new DocumentTable({
  name: "incidents",
  key: "id",
  columns: (incident: IncidentRecord) => ({ id: incident.id, state: incident.state, opened_at: incident.openedAt, updated_at: incident.updatedAt }),
  replaces: ["state", "updated_at"],
  order: "opened_at DESC, id DESC",
});

/**
 * The incidents table: columns for what is filtered or ordered by, the record whole as JSON in
 * `detail` (the domain always reads and writes it whole). An incident and the events of its change
 * are written in one transaction.
 */
export class SqlIncidentRepo extends SqlDocumentRepo<IncidentRecord> implements IncidentRepo {
  protected readonly table = incidents;

  list(query: IncidentQuery = {}): Promise<IncidentRecord[]> {
    const open = query.open ? { sql: `state IN (${openStates.map(() => "?").join(", ")})`, params: openStates } : undefined;
    return incidents.list(this.db, { where: [open], limit: query.limit ?? 100 });
  }
}
