import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { EngineError, newId, type Clock } from "../core/index.js";
import type { StoredToken, Store } from "../store/index.js";
import { adminCaller, adminTokenName, parseScope, type Caller, type TokenRecord, type Tokens } from "./access.js";

/** What every created token's secret starts with, so that it is recognisable (and redactable). */
export const tokenPrefix = "ert_";
/** A created token's secret anywhere in a text. */
export const tokenSecretPattern = /ert_[A-Za-z0-9_-]{43}/g;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A use is written to the store at most this often per token (every request would be one write each). */
const touchEveryMs = 1_000;

const digest = (secret: string) => `sha256:${createHash("sha256").update(secret).digest("hex")}`;

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function toRecord(token: StoredToken): TokenRecord {
  const { hash: _hash, ...record } = token;
  return { ...record, scopes: record.scopes.map(parseScope) };
}

/**
 * `engine.tokens`: scoped API tokens. A secret is `ert_` and 256 random bits (base64url); the store
 * keeps only its sha256. The state folder's api-token stays the owner's admin token.
 */
export class TokenService implements Tokens {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #adminToken: () => string | undefined;

  constructor(options: { store: Store; clock: Clock; adminToken: () => string | undefined }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#adminToken = options.adminToken;
  }

  async create(input: { name: string; scopes: readonly string[]; expiresAt?: number }): Promise<{ token: string; record: TokenRecord }> {
    const name = input.name.trim();
    if (!namePattern.test(name) || name === adminTokenName) {
      throw new EngineError("TOKEN_INVALID", `${JSON.stringify(name.slice(0, 80))} cannot name a token${name === adminTokenName ? ` ("${adminTokenName}" is the state folder's api-token)` : ""}.`);
    }
    const scopes = [...new Set(input.scopes.map(parseScope))];
    if (scopes.length === 0) throw new EngineError("TOKEN_INVALID", `Token "${name}" needs at least one scope.`);
    const now = this.#clock.now();
    if (input.expiresAt !== undefined && !(input.expiresAt > now)) {
      throw new EngineError("TOKEN_INVALID", `Token "${name}" would expire before it is created.`);
    }
    const active = (await this.#store.tokens.list()).find((t) => t.name === name && t.revokedAt === null && !(t.expiresAt !== null && t.expiresAt <= now));
    if (active) throw new EngineError("TOKEN_INVALID", `A token named "${name}" exists (${active.id}); revoke it first or choose another name.`);
    const token = tokenPrefix + randomBytes(32).toString("base64url");
    const stored: StoredToken = { id: newId("tok", now), name, hash: digest(token), scopes, createdAt: now, expiresAt: input.expiresAt ?? null, lastUsedAt: null, revokedAt: null };
    await this.#store.tokens.insert(stored);
    await this.#store.events.append({
      type: "token.created",
      message: `token "${name}" created with ${scopes.join(", ")}${stored.expiresAt ? `, expires ${new Date(stored.expiresAt).toISOString()}` : ""}`,
      data: { id: stored.id, name, scopes, expiresAt: stored.expiresAt },
    });
    return { token, record: toRecord(stored) };
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.#store.tokens.list()).map(toRecord);
  }

  async revoke(idOrName: string): Promise<TokenRecord> {
    const all = await this.#store.tokens.list();
    const found = all.find((t) => t.id === idOrName) ?? all.find((t) => t.name === idOrName && t.revokedAt === null) ?? all.find((t) => t.name === idOrName);
    if (!found) throw new EngineError("TOKEN_NOT_FOUND", `No token named or with id ${JSON.stringify(idOrName.slice(0, 80))}.`);
    const revoked = await this.#store.tokens.revoke(found.id, this.#clock.now());
    if (!revoked) throw new EngineError("TOKEN_NOT_FOUND", `No token with id ${found.id}.`);
    if (found.revokedAt === null) {
      await this.#store.events.append({ type: "token.revoked", message: `token "${found.name}" revoked`, data: { id: found.id, name: found.name } });
    }
    return toRecord(revoked);
  }

  async verify(secret: string, via: Caller["via"] = "api"): Promise<Caller | undefined> {
    const admin = this.#adminToken();
    if (admin !== undefined && equalText(secret, admin)) return adminCaller(via);
    if (!secret.startsWith(tokenPrefix)) return undefined;
    const hash = digest(secret);
    const token = await this.#store.tokens.byHash(hash);
    if (!token || !equalText(token.hash, hash)) return undefined;
    const now = this.#clock.now();
    if (token.revokedAt !== null || (token.expiresAt !== null && token.expiresAt <= now)) return undefined;
    if (token.lastUsedAt === null || now - token.lastUsedAt >= touchEveryMs) await this.#store.tokens.touch(token.id, now);
    return { name: token.name, tokenId: token.id, scopes: token.scopes.map(parseScope), via };
  }
}
