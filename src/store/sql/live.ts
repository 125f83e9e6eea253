import { toLive, type LiveRow } from "../rows.js";
import type { LiveRecord, LiveTable } from "../types.js";
import { SqlRepo, type SqlValue } from "./database.js";

export class SqlLiveTable extends SqlRepo implements LiveTable {
  async get(service: string, environment: string): Promise<LiveRecord | undefined> {
    const [row] = await this.db.query<LiveRow>("SELECT * FROM live WHERE service = ? AND environment = ?", [service, environment]);
    return row && toLive(row);
  }

  async set(service: string, environment: string, releaseId: string, previousReleaseId: string | null): Promise<LiveRecord> {
    const [row] = await this.db.query<LiveRow>(
      `INSERT INTO live (service, environment, release_id, previous_release_id, switched_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (service, environment) DO UPDATE SET release_id = excluded.release_id,
         previous_release_id = excluded.previous_release_id, switched_at = excluded.switched_at
       RETURNING *`,
      [service, environment, releaseId, previousReleaseId, this.now()],
    );
    return toLive(row!);
  }

  async list(environment?: string): Promise<LiveRecord[]> {
    const params: SqlValue[] = environment === undefined ? [] : [environment];
    const where = environment === undefined ? "" : " WHERE environment = ?";
    const rows = await this.db.query<LiveRow>(`SELECT * FROM live${where} ORDER BY environment, service`, params);
    return rows.map(toLive);
  }

  async remove(service: string, environment: string): Promise<void> {
    await this.db.query("DELETE FROM live WHERE service = ? AND environment = ? RETURNING service", [service, environment]);
  }
}
