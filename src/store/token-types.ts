/**
 * API tokens as the store keeps them: the sha256 of the secret, never the secret. What scopes mean
 * is the engine's (src/engine/access.ts); the store records the strings it is given.
 */

export interface StoredToken {
  id: string;
  name: string;
  /** `sha256:<hex>` of the secret. */
  hash: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface TokenRepo {
  insert(token: StoredToken): Promise<void>;
  /** The token with this secret's hash, revoked or expired ones too. */
  byHash(hash: string): Promise<StoredToken | undefined>;
  /** Newest first, revoked ones too. */
  list(): Promise<StoredToken[]>;
  /** Records a use; the time only moves forward. */
  touch(id: string, at: number): Promise<void>;
  /** Sets `revokedAt` once (a revoked token stays revoked at its first time) and answers the token, undefined if no such id. */
  revoke(id: string, at: number): Promise<StoredToken | undefined>;
}
