import { redactor } from "../../core/index.js";
import { toEvent, type EventRow } from "../rows.js";
import type { EngineEvent, EventLog, EventQuery, NewEvent } from "../types.js";
import { SqlRepo, type SqlExecutor, type SqlValue } from "./database.js";

const defaultLimit = 100;

/**
 * Appends one event through `tx` (so a caller can append inside its own transaction). The message and
 * data pass through the redactor first: the audit log is kept for good and shown everywhere, so a
 * secret value must never reach it.
 */
export async function appendEvent(tx: SqlExecutor, time: number, event: NewEvent): Promise<EngineEvent> {
  const [row] = await tx.query<EventRow>(
    "INSERT INTO events (time, type, service, environment, release_id, message, data) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
    [
      time,
      event.type,
      event.service ?? null,
      event.environment ?? null,
      event.releaseId ?? null,
      redactor.redact(event.message),
      JSON.stringify(redactor.redactDeep(event.data ?? {})),
    ],
  );
  return toEvent(row!);
}

/** Where-clause conditions and their parameters for an event query's filters. */
function eventFilters(query: EventQuery): { where: string; params: SqlValue[] } {
  const conditions: string[] = [];
  const params: SqlValue[] = [];
  const equal = (column: string, value: string | number | undefined, op = "=") => {
    if (value === undefined) return;
    conditions.push(`${column} ${op} ?`);
    params.push(value);
  };
  equal("service", query.service);
  equal("environment", query.environment);
  equal("release_id", query.releaseId);
  equal("id", query.afterId, ">");
  equal("time", query.since, ">=");
  equal("time", query.until, "<");
  if (query.types !== undefined) {
    // A type ending in "." is a prefix. substr rather than LIKE, so "_" and "%" in types mean themselves.
    const alternatives = query.types.map((type) => {
      params.push(type);
      return type.endsWith(".") ? `substr(type, 1, ${type.length}) = ?` : "type = ?";
    });
    conditions.push(alternatives.length > 0 ? `(${alternatives.join(" OR ")})` : "1 = 0");
  }
  return { where: conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : "", params };
}

export class SqlEventLog extends SqlRepo implements EventLog {
  append(event: NewEvent): Promise<EngineEvent> {
    return appendEvent(this.db, this.now(), event);
  }

  async list(query: EventQuery = {}): Promise<EngineEvent[]> {
    const { where, params } = eventFilters(query);
    params.push(Math.max(0, Math.floor(query.limit ?? defaultLimit)));
    // Following (afterId) reads forward from a point; otherwise the newest events, put back in order.
    const following = query.afterId !== undefined;
    const rows = await this.db.query<EventRow>(`SELECT * FROM events${where} ORDER BY id ${following ? "ASC" : "DESC"} LIMIT ?`, params);
    if (!following) rows.reverse();
    return rows.map(toEvent);
  }
}
