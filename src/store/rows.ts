/**
 * Rows as both SQL backends return them, and their mapping to the Store's types. PostgreSQL returns
 * BIGINT columns as strings (they may exceed 2^53); every time and id here fits a JS number.
 */
import type { ArtifactProvenance, ArtifactRecord, EngineEvent, LiveRecord, Lock, Release, ReleaseState } from "./types.js";

type Int = number | string;

export interface ReleaseRow {
  id: string;
  service: string;
  environment: string;
  number: Int;
  artifact_digest: string;
  config_hash: string;
  state: string;
  reason: string;
  created_at: Int;
  updated_at: Int;
}

export interface EventRow {
  id: Int;
  time: Int;
  type: string;
  service: string | null;
  environment: string | null;
  release_id: string | null;
  message: string;
  data: string;
}

export interface LiveRow {
  service: string;
  environment: string;
  release_id: string;
  previous_release_id: string | null;
  switched_at: Int;
}

export interface LockRow {
  key: string;
  token: string;
  command: string;
  pid: Int;
  host: string;
  /** The holder's process start time (migration 2); null for holders that cannot tell. */
  start_time: Int | null;
  acquired_at: Int;
  expires_at: Int;
}

export interface ArtifactRow {
  digest: string;
  source: string;
  size_bytes: Int;
  file_count: Int;
  created_at: Int;
  /** JSON of an ArtifactProvenance, or null (migration 12). */
  provenance: string | null;
}

export function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    service: row.service,
    environment: row.environment,
    number: Number(row.number),
    artifactDigest: row.artifact_digest,
    configHash: row.config_hash,
    state: row.state as ReleaseState,
    reason: row.reason,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toEvent(row: EventRow): EngineEvent {
  return {
    id: Number(row.id),
    time: Number(row.time),
    type: row.type,
    service: row.service,
    environment: row.environment,
    releaseId: row.release_id,
    message: row.message,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

export function toLive(row: LiveRow): LiveRecord {
  return {
    service: row.service,
    environment: row.environment,
    releaseId: row.release_id,
    previousReleaseId: row.previous_release_id,
    switchedAt: Number(row.switched_at),
  };
}

export function toLock(row: LockRow): Lock {
  return {
    key: row.key,
    token: row.token,
    command: row.command,
    pid: Number(row.pid),
    host: row.host,
    ...(row.start_time === null || row.start_time === undefined ? {} : { startTime: Number(row.start_time) }),
    acquiredAt: Number(row.acquired_at),
    expiresAt: Number(row.expires_at),
  };
}

/** A lease as anyone but its holder may see it: without the token. */
export function toLockHolder(row: LockRow): Omit<Lock, "token"> {
  const { token: _token, ...holder } = toLock(row);
  return holder;
}

export function toArtifact(row: ArtifactRow): ArtifactRecord {
  return {
    digest: row.digest,
    source: row.source,
    sizeBytes: Number(row.size_bytes),
    fileCount: Number(row.file_count),
    createdAt: Number(row.created_at),
    ...(row.provenance && { provenance: JSON.parse(row.provenance) as ArtifactProvenance }),
  };
}
