import type { ActionItem, ActionQuery, ActionRepo, LearningEntry, LearningQuery, LearningRepo, PostmortemRecord, PostmortemRepo } from "../postmortem-types.js";
import { SqlRepo } from "./database.js";
import { compare, DocumentTable } from "./documents.js";

/** Keyed by `entry_key` (unique, null for an entry that may be appended again): an append takes a key once. */
const learnings = new DocumentTable({
  name: "learnings",
  key: "entry_key",
  columns: (entry: LearningEntry) => ({ id: entry.id, entry_key: entry.key, date: entry.date, services: `,${entry.services.join(",")},` }),
});

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
    if ((await learnings.insertNew(this.db, entry)) || entry.key === null) return entry;
    // The key was taken: the entry kept is the one first appended under it (never deleted).
    return (await learnings.get(this.db, entry.key))!;
  }

  async list(query: LearningQuery = {}): Promise<LearningEntry[]> {
    const where = [
      query.service === undefined ? undefined : compare("services", "LIKE", `%,${query.service},%`),
      compare("date", ">=", query.since),
    ];
    const order = query.newest ? "DESC" : "ASC";
    const entries = await learnings.list(this.db, { where, order: `date ${order}, seq ${order}`, limit: query.limit ?? 1000 });
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
