import type { ActionItem, ActionQuery, ActionRepo, LearningEntry, LearningQuery, LearningRepo, PostmortemRecord, PostmortemRepo } from "../postmortem-types.js";
import { SqlRepo, type SqlValue } from "./database.js";
import { compare, DocumentTable } from "./documents.js";

const actions = new DocumentTable({
  name: "action_items",
  key: "id",
  columns: (item: ActionItem) => ({ id: item.id, incident_id: item.incidentId, state: item.state, created_at: item.createdAt }),
  replaces: ["state"],
  order: "created_at ASC, id ASC",
});

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
  put(item: ActionItem): Promise<void> {
    return actions.put(this.db, item);
  }

  get(id: string): Promise<ActionItem | undefined> {
    return actions.get(this.db, id);
  }

  list(query: ActionQuery = {}): Promise<ActionItem[]> {
    const open = query.open ? { sql: "state = 'open'", params: [] } : undefined;
    return actions.list(this.db, { where: [open, compare("incident_id", "=", query.incidentId)], limit: query.limit ?? 1000 });
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
