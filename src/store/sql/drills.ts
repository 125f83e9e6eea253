import type { DrillRepo, DrillRunQuery, DrillRunRecord } from "../drill-types.js";
import type { EngineEvent, NewEvent } from "../types.js";
import { SqlRepo, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

/**
 * The drill runs (migration 10): columns for what is filtered or ordered by, the run whole as JSON
 * in `detail`. A run and its events (drill.started, drill.finished) are written in one transaction.
 */
export class SqlDrillRepo extends SqlRepo implements DrillRepo {
  put(run: DrillRunRecord, events: readonly NewEvent[] = []): Promise<EngineEvent[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO drill_runs (id, drill, state, started_at, detail) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, detail = excluded.detail
         RETURNING id`,
        [run.id, run.drill, run.state, run.startedAt, JSON.stringify(run)],
      );
      const appended: EngineEvent[] = [];
      for (const event of events) appended.push(await appendEvent(tx, this.now(), event));
      return appended;
    });
  }

  async get(id: string): Promise<DrillRunRecord | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM drill_runs WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as DrillRunRecord);
  }

  async list(query: DrillRunQuery = {}): Promise<DrillRunRecord[]> {
    const params: SqlValue[] = [];
    let where = "";
    if (query.drill !== undefined) {
      where = " WHERE drill = ?";
      params.push(query.drill);
    }
    params.push(Math.max(0, Math.floor(query.limit ?? 50)));
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM drill_runs${where} ORDER BY started_at DESC, id DESC LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as DrillRunRecord);
  }
}
