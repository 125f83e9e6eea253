import type { EngineEvent, NewEvent } from "../types.js";
import { SqlRepo, type SqlExecutor, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

/** One condition of a list's WHERE, written with `?` placeholders, and the values they bind. */
export interface Condition {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** `column op ?` bound to `value`; no condition when the query leaves `value` out. */
export function compare(column: string, op: "=" | ">=" | "LIKE", value: SqlValue | undefined): Condition | undefined {
  return value === undefined ? undefined : { sql: `${column} ${op} ?`, params: [value] };
}

/** How a table keeps a kind of record: whole as JSON in `detail`, with columns beside it. */
export interface DocumentTableSpec<T, C extends string> {
  readonly name: string;
  /** The column a record is put and read by (the conflict target of an upsert). */
  readonly key: NoInfer<C>;
  /** A record's values for the columns other than `detail`: what is filtered or ordered by. */
  readonly columns: (record: T) => Record<C, SqlValue>;
  /** The columns a put replaces when the key is there already, besides `detail` (none by default); the others keep what the first put wrote. */
  readonly replaces?: readonly NoInfer<C>[];
  /** A list's ORDER BY, unless the list names its own; by the key if neither does. */
  readonly order?: string;
}

/**
 * A table of JSON documents: each record whole in `detail` (the domain always reads and writes
 * them whole), its columns for what is filtered or ordered by. Every method takes the executor to
 * run on: the store's fenced database (a lone put is one fenced statement) or a transaction of it.
 *
 * @example
 * const runs = new DocumentTable({
 *   name: "drill_runs", key: "id", order: "started_at DESC, id DESC", replaces: ["state"],
 *   columns: (run: DrillRunRecord) => ({ id: run.id, drill: run.drill, state: run.state, started_at: run.startedAt }),
 * });
 * await runs.put(db, run);
 * await runs.list(db, { where: [compare("drill", "=", "web-rollback")], limit: 50 });
 */
export class DocumentTable<T, C extends string> {
  constructor(readonly spec: DocumentTableSpec<T, C>) {}

  /** Writes the record whole: inserted, or replaced by its key. */
  async put(db: SqlExecutor, record: T): Promise<void> {
    const replaced = [...(this.spec.replaces ?? []), "detail"].map((column) => `${column} = excluded.${column}`).join(", ");
    await this.#insert(db, record, `DO UPDATE SET ${replaced}`);
  }

  /** Writes the record unless its key is there already; answers whether it was written. */
  async insertNew(db: SqlExecutor, record: T): Promise<boolean> {
    return (await this.#insert(db, record, "DO NOTHING")).length > 0;
  }

  async get(db: SqlExecutor, key: string): Promise<T | undefined> {
    const [row] = await db.query<{ detail: string }>(`SELECT detail FROM ${this.spec.name} WHERE ${this.spec.key} = ?`, [key]);
    return row && (JSON.parse(row.detail) as T);
  }

  /** The records that meet every condition given, in `order` (the table's by default), at most `limit`. */
  async list(db: SqlExecutor, query: { where?: readonly (Condition | undefined)[]; order?: string; limit: number }): Promise<T[]> {
    const conditions = (query.where ?? []).filter((condition) => condition !== undefined);
    const params = conditions.flatMap((condition) => condition.params);
    params.push(Math.max(0, Math.floor(query.limit)));
    const where = conditions.length ? ` WHERE ${conditions.map((condition) => condition.sql).join(" AND ")}` : "";
    const rows = await db.query<{ detail: string }>(`SELECT detail FROM ${this.spec.name}${where} ORDER BY ${query.order ?? this.spec.order ?? this.spec.key} LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as T);
  }

  #insert(db: SqlExecutor, record: T, onConflict: string): Promise<unknown[]> {
    const values: Record<string, SqlValue> = this.spec.columns(record);
    const columns = [...Object.keys(values), "detail"];
    return db.query(
      `INSERT INTO ${this.spec.name} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})
       ON CONFLICT (${this.spec.key}) ${onConflict} RETURNING ${this.spec.key}`,
      [...Object.values(values), JSON.stringify(record)],
    );
  }
}

/**
 * A repository of records written whole with the events of their change (incidents, drill runs,
 * runbook runs): `put` and `get` as the Store declares them, on the table a subclass names; the
 * subclass adds its `list`.
 */
export abstract class SqlDocumentRepo<T> extends SqlRepo {
  protected abstract readonly table: DocumentTable<T, string>;

  /**
   * Writes the record whole (insert or replace by key) and appends `events` in the same transaction,
   * so the log never tells of a change the table does not hold; answers the events as appended.
   */
  put(record: T, events: readonly NewEvent[] = []): Promise<EngineEvent[]> {
    return this.db.transaction(async (tx) => {
      await this.table.put(tx, record);
      const appended: EngineEvent[] = [];
      for (const event of events) appended.push(await appendEvent(tx, this.now(), event));
      return appended;
    });
  }

  get(key: string): Promise<T | undefined> {
    return this.table.get(this.db, key);
  }
}
