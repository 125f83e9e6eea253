import type { RunbookRunQuery, RunbookRunRecord, RunbookRunRepo } from "../runbook-types.js";
import type { EngineEvent, NewEvent } from "../types.js";
import { SqlRepo, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

/**
 * The runbook runs table: columns for what is filtered or ordered by, the run whole as JSON in
 * `detail`. A run and the events of its change are written in one transaction.
 */
export class SqlRunbookRunRepo extends SqlRepo implements RunbookRunRepo {
  put(run: RunbookRunRecord, events: readonly NewEvent[] = []): Promise<EngineEvent[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO runbook_runs (id, runbook, service, environment, state, started_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, detail = excluded.detail
         RETURNING id`,
        [run.id, run.runbook, run.service, run.environment, run.state, run.startedAt, run.updatedAt, JSON.stringify(run)],
      );
      const appended: EngineEvent[] = [];
      for (const event of events) appended.push(await appendEvent(tx, this.now(), event));
      return appended;
    });
  }

  async get(id: string): Promise<RunbookRunRecord | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM runbook_runs WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as RunbookRunRecord);
  }

  async list(query: RunbookRunQuery = {}): Promise<RunbookRunRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.runbook !== undefined) (where.push("runbook = ?"), params.push(query.runbook));
    if (query.service !== undefined) (where.push("service = ?"), params.push(query.service));
    if (query.sinceMs !== undefined) (where.push("started_at >= ?"), params.push(query.sinceMs));
    params.push(Math.max(0, Math.floor(query.limit ?? 100)));
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM runbook_runs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY started_at DESC, id DESC LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as RunbookRunRecord);
  }
}
