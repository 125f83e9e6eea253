import type { ActionItem, ActionQuery, ActionRepo, LearningEntry, LearningQuery, LearningRepo, PostmortemRecord, PostmortemRepo } from "../postmortem-types.js";
import { SqlRepo, type SqlValue } from "./database.js";
import { DocumentTable } from "./documents.js";

const postmortems = new DocumentTable({
  name: "postmortems",
  key: "incident_id",
  columns: (record: PostmortemRecord) => ({ incident_id: record.incidentId, created_at: record.createdAt, updated_at: record.updatedAt }),
  replaces: ["updated_at"],
});

/**
 * The learning log. `services` is also a column written `,web,api,` so that a service's entries are
 * found by LIKE in both dialects (and checked exactly after, since `_` is a LIKE wildcard).
 */
export class SqlLearningRepo extends SqlRepo implements LearningRepo {
  async append(entry: LearningEntry): Promise<LearningEntry> {
    const inserted = await this.db.query(
      `INSERT INTO learnings (id, entry_key, date, services, detail) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (entry_key) DO NOTHING RETURNING id`,
      [entry.id, entry.key, entry.date, `,${entry.services.join(",")},`, JSON.stringify(entry)],
    );
    if (inserted.length > 0 || entry.key === null) return entry;
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM learnings WHERE entry_key = ?", [entry.key]);
    return JSON.parse(row!.detail) as LearningEntry;
  }

  async list(query: LearningQuery = {}): Promise<LearningEntry[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.service !== undefined) {
      conditions.push("services LIKE ?");
      params.push(`%,${query.service},%`);
    }
    if (query.since !== undefined) {
      conditions.push("date >= ?");
      params.push(query.since);
    }
    params.push(Math.max(0, Math.floor(query.limit ?? 1000)));
    const where = conditions.length ? ` WHERE ${conditions.join(" AND ")}` : "";
    const order = query.newest ? "DESC" : "ASC";
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM learnings${where} ORDER BY date ${order}, seq ${order} LIMIT ?`, params);
    const entries = rows.map((row) => JSON.parse(row.detail) as LearningEntry);
    return query.service === undefined ? entries : entries.filter((e) => e.services.includes(query.service!));
  }
}

/** Action items: columns for the filters, the item whole in `detail`. */
export class SqlActionRepo extends SqlRepo implements ActionRepo {
  async put(item: ActionItem): Promise<void> {
    await this.db.query(
      `INSERT INTO action_items (id, incident_id, state, created_at, detail) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, detail = excluded.detail
       RETURNING id`,
      [item.id, item.incidentId, item.state, item.createdAt, JSON.stringify(item)],
    );
  }

  async get(id: string): Promise<ActionItem | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM action_items WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as ActionItem);
  }

  async list(query: ActionQuery = {}): Promise<ActionItem[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.open) conditions.push("state = 'open'");
    if (query.incidentId !== undefined) {
      conditions.push("incident_id = ?");
      params.push(query.incidentId);
    }
    params.push(Math.max(0, Math.floor(query.limit ?? 1000)));
    const where = conditions.length ? ` WHERE ${conditions.join(" AND ")}` : "";
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM action_items${where} ORDER BY created_at ASC, id ASC LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as ActionItem);
  }
}

/** Post-mortems, one per incident, whole in `detail`. */
export class SqlPostmortemRepo extends SqlRepo implements PostmortemRepo {
  put(record: PostmortemRecord): Promise<void> {
    return postmortems.put(this.db, record);
  }

  get(incidentId: string): Promise<PostmortemRecord | undefined> {
    return postmortems.get(this.db, incidentId);
  }
}
