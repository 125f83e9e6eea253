import type { AlertGroupRecord, AlertQuery, AlertRecord, AlertRepo, DeliveryRecord, SilenceRecord } from "../alert-types.js";
import { SqlRepo, type SqlValue } from "./database.js";

type Int = number | string;

/**
 * The alert manager's tables. Columns hold what is queried or ordered by; the rest of a record is
 * one JSON `detail` column, since the manager always reads and writes records whole.
 */
export class SqlAlertRepo extends SqlRepo implements AlertRepo {
  async put(alert: AlertRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO alerts (id, fingerprint, rule, state, starts_at, ends_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, rule = excluded.rule, state = excluded.state,
         starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = excluded.updated_at, detail = excluded.detail
       RETURNING id`,
      [alert.id, alert.fingerprint, alert.rule, alert.state, alert.startsAt, alert.endsAt, alert.updatedAt, JSON.stringify(alert)],
    );
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM alerts WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as AlertRecord);
  }

  async list(query: AlertQuery = {}): Promise<AlertRecord[]> {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (query.state !== undefined) {
      conditions.push("state = ?");
      params.push(query.state);
    }
    if (query.since !== undefined) {
      conditions.push("starts_at >= ?");
      params.push(query.since);
    }
    params.push(Math.max(0, Math.floor(query.limit ?? 100)));
    const where = conditions.length ? ` WHERE ${conditions.join(" AND ")}` : "";
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM alerts${where} ORDER BY starts_at DESC, id DESC LIMIT ?`, params);
    return rows.map((row) => JSON.parse(row.detail) as AlertRecord);
  }

  async putGroup(group: AlertGroupRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO alert_groups (key, next_flush_at, updated_at, detail) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET next_flush_at = excluded.next_flush_at, updated_at = excluded.updated_at, detail = excluded.detail
       RETURNING key`,
      [group.key, group.nextFlushAt, group.updatedAt, JSON.stringify(group)],
    );
  }

  async removeGroup(key: string): Promise<void> {
    await this.db.query("DELETE FROM alert_groups WHERE key = ? RETURNING key", [key]);
  }

  async listGroups(): Promise<AlertGroupRecord[]> {
    const rows = await this.db.query<{ detail: string }>("SELECT detail FROM alert_groups ORDER BY key");
    return rows.map((row) => JSON.parse(row.detail) as AlertGroupRecord);
  }

  async putSilence(silence: SilenceRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO silences (id, created_at, ends_at, expired_at, detail) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at, expired_at = excluded.expired_at, detail = excluded.detail
       RETURNING id`,
      [silence.id, silence.createdAt, silence.endsAt, silence.expiredAt, JSON.stringify(silence)],
    );
  }

  async getSilence(id: string): Promise<SilenceRecord | undefined> {
    const [row] = await this.db.query<{ detail: string }>("SELECT detail FROM silences WHERE id = ?", [id]);
    return row && (JSON.parse(row.detail) as SilenceRecord);
  }

  async listSilences(query: { active?: boolean; limit?: number } = {}): Promise<SilenceRecord[]> {
    const where = query.active ? " WHERE expired_at IS NULL" : "";
    const rows = await this.db.query<{ detail: string }>(`SELECT detail FROM silences${where} ORDER BY created_at DESC, id DESC LIMIT ?`, [
      Math.max(0, Math.floor(query.limit ?? 100)),
    ]);
    return rows.map((row) => JSON.parse(row.detail) as SilenceRecord);
  }

  async putDelivery(d: DeliveryRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO alert_deliveries (notification_id, channel, state, attempts, last_error, last_status, created_at, updated_at, title)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (notification_id, channel) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         last_error = excluded.last_error, last_status = excluded.last_status, updated_at = excluded.updated_at
       RETURNING notification_id`,
      [d.notificationId, d.channel, d.state, d.attempts, d.lastError, d.lastStatus, d.createdAt, d.updatedAt, d.title],
    );
  }

  async listDeliveries(query: { limit?: number } = {}): Promise<DeliveryRecord[]> {
    const rows = await this.db.query<DeliveryRow>("SELECT * FROM alert_deliveries ORDER BY created_at DESC, notification_id DESC, channel LIMIT ?", [
      Math.max(0, Math.floor(query.limit ?? 50)),
    ]);
    return rows.map((row) => ({
      notificationId: row.notification_id,
      channel: row.channel,
      state: row.state as DeliveryRecord["state"],
      attempts: Number(row.attempts),
      lastError: row.last_error,
      lastStatus: row.last_status === null ? null : Number(row.last_status),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      title: row.title,
    }));
  }
}

interface DeliveryRow {
  notification_id: string;
  channel: string;
  state: string;
  attempts: Int;
  last_error: string | null;
  last_status: Int | null;
  created_at: Int;
  updated_at: Int;
  title: string;
}
