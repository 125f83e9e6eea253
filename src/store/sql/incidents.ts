import type { IncidentQuery, IncidentRecord, IncidentRepo } from "../incident-types.js";
import type { EngineEvent, NewEvent } from "../types.js";
import { SqlRepo, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

/** States in which an incident is still open (the rest are over). */
const openStates = ["triage", "investigating", "mitigated"] as const;

/**
 * The incidents table: columns for what is filtered or ordered by, the record whole as JSON in
 * `detail` (the domain always reads and writes it whole). An incident and the events of its change
 * are written in one transaction, so the log never tells of a change the table does not hold.
 */
export class SqlIncidentRepo extends SqlRepo implements IncidentRepo {
  put(incident: IncidentRecord, events: readonly NewEvent[] = []): Promise<EngineEvent[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO incidents (id, state, opened_at, updated_at, detail) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, detail = excluded.detail
         RETURNING id`,
        [incident.id, incident.state, incident.openedAt, incident.updatedAt, JSON.stringify(incident)],
      );
      const appended: EngineEvent[] = [];
      for (const event of events) appended.push(await appendEvent(tx, this.now(), event));
      return appended;
    });
  }

  async get(id: string): Promise<IncidentRecord | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM incidents WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as IncidentRecord);
  }

  async list(query: IncidentQuery = {}): Promise<IncidentRecord[]> {
    const params: SqlValue[] = [];
    let where = "";
    if (query.open) {
      where = ` WHERE state IN (${openStates.map(() => "?").join(", ")})`;
      params.push(...openStates);
    }
    params.push(Math.max(0, Math.floor(query.limit ?? 100)));
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM incidents${where} ORDER BY opened_at DESC, id DESC LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as IncidentRecord);
  }
}
