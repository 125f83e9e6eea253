import type { StoredToken, TokenRepo } from "../token-types.js";
import { SqlRepo } from "./database.js";

interface TokenRow {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: number | string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

const orNull = (value: number | string | null) => (value === null ? null : Number(value));

function toToken(row: TokenRow): StoredToken {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: Number(row.created_at),
    expiresAt: orNull(row.expires_at),
    lastUsedAt: orNull(row.last_used_at),
    revokedAt: orNull(row.revoked_at),
  };
}

/** The api_tokens table: one row per token, found by the hash of its secret. */
export class SqlTokenRepo extends SqlRepo implements TokenRepo {
  async insert(token: StoredToken): Promise<void> {
    await this.db.query(
      "INSERT INTO api_tokens (id, name, hash, scopes, created_at, expires_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [token.id, token.name, token.hash, JSON.stringify(token.scopes), token.createdAt, token.expiresAt, token.lastUsedAt, token.revokedAt],
    );
  }

  async byHash(hash: string): Promise<StoredToken | undefined> {
    const [row] = await this.db.query<TokenRow>("SELECT * FROM api_tokens WHERE hash = ?", [hash]);
    return row && toToken(row);
  }

  async list(): Promise<StoredToken[]> {
    const rows = await this.db.query<TokenRow>("SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC");
    return rows.map(toToken);
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.query("UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)", [at, id, at]);
  }

  async revoke(id: string, at: number): Promise<StoredToken | undefined> {
    const [row] = await this.db.query<TokenRow>("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *", [at, id]);
    return row && toToken(row);
  }
}
