import { EngineError, newId, redactor } from "../../core/index.js";
import { toRelease, type ReleaseRow } from "../rows.js";
import type { NewRelease, Release, ReleaseRepo, ReleaseState } from "../types.js";
import { SqlRepo, limitClause, type SqlValue } from "./database.js";
import { appendEvent } from "./events.js";

function label(release: Release): string {
  return `${release.service} v${release.number} in ${release.environment}`;
}

export class SqlReleaseRepo extends SqlRepo implements ReleaseRepo {
  create(input: NewRelease): Promise<Release> {
    // The lock makes "max + 1" safe against another engine creating a release of the same service.
    const lockKey = `engineroom:release-number:${input.service}:${input.environment}`;
    return this.db.transaction(async (tx) => {
      const now = this.now();
      const [last] = await tx.query<{ number: number | string | null }>(
        "SELECT MAX(number) AS number FROM releases WHERE service = ? AND environment = ?",
        [input.service, input.environment],
      );
      const [row] = await tx.query<ReleaseRow>(
        `INSERT INTO releases (id, service, environment, number, artifact_digest, config_hash, state, reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING *`,
        [newId("rel", now), input.service, input.environment, Number(last?.number ?? 0) + 1, input.artifactDigest, input.configHash, redactor.redact(input.reason), now, now],
      );
      const release = toRelease(row!);
      await appendEvent(tx, now, {
        type: "release.pending",
        service: release.service,
        environment: release.environment,
        releaseId: release.id,
        message: `${label(release)} created: ${release.reason}`,
        data: { number: release.number, artifactDigest: release.artifactDigest, configHash: release.configHash, ...(input.commit && { commit: input.commit }), ...(input.provenance && { provenance: input.provenance }) },
      });
      return release;
    }, lockKey);
  }

  async get(id: string): Promise<Release | undefined> {
    const [row] = await this.db.query<ReleaseRow>("SELECT * FROM releases WHERE id = ?", [id]);
    return row && toRelease(row);
  }

  async list(query: { service: string; environment: string; limit?: number }): Promise<Release[]> {
    const params: SqlValue[] = [query.service, query.environment];
    const sql = "SELECT * FROM releases WHERE service = ? AND environment = ? ORDER BY number DESC" + limitClause(query.limit, params);
    return (await this.db.query<ReleaseRow>(sql, params)).map(toRelease);
  }

  async listInStates(states: readonly ReleaseState[]): Promise<Release[]> {
    if (states.length === 0) return [];
    const rows = await this.db.query<ReleaseRow>(
      `SELECT * FROM releases WHERE state IN (${states.map(() => "?").join(", ")}) ORDER BY created_at, id`,
      [...states],
    );
    return rows.map(toRelease);
  }

  transition(id: string, to: ReleaseState, reason: string, data: Record<string, unknown> = {}): Promise<Release> {
    return this.db.transaction(async (tx) => {
      const now = this.now();
      const [row] = await tx.query<ReleaseRow>("UPDATE releases SET state = ?, reason = ?, updated_at = ? WHERE id = ? RETURNING *", [to, redactor.redact(reason), now, id]);
      if (!row) throw new EngineError("RELEASE_NOT_FOUND", `No release has the id ${id}.`, { details: { releaseId: id } });
      const release = toRelease(row);
      await appendEvent(tx, now, {
        type: `release.${to}`,
        service: release.service,
        environment: release.environment,
        releaseId: release.id,
        message: `${label(release)} is ${to}: ${reason}`,
        data,
      });
      return release;
    });
  }
}
