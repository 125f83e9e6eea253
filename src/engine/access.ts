/**
 * Access: who calls (a Caller), what they may do (Scopes), and the checks every interface (API, CLI
 * over the API, MCP, dashboard) makes on the engine's side before it runs an operation. The token
 * store (`engine.tokens`), the audit trail (`engine.audit`) and the rate limit (`engine.access`)
 * implement the interfaces declared here.
 *
 * Scopes:
 * - `read`: every read. Any other scope implies it.
 * - `deploy:<env>`, `promote:<env>`, `rollback:<env>`, `apply:<env>`: that change in that environment;
 *   `<env>` may be `*` (every environment). `deploy:<env>` implies `rollback:<env>` (and abort), so
 *   `rollback:<env>` is the narrower, emergency-only scope.
 * - `approve`: approving a release (or plan) that waits for a person.
 * - `admin`: everything, including tokens and the audit trail.
 */
import { EngineError } from "../core/index.js";

export type Scope = "read" | "approve" | "admin" | `deploy:${string}` | `promote:${string}` | `rollback:${string}` | `apply:${string}`;

/** The scopes limited to an environment, as `<kind>:<env>`. */
export const environmentScopeKinds = ["deploy", "promote", "rollback", "apply"] as const;
export type EnvironmentScopeKind = (typeof environmentScopeKinds)[number];

/** Who makes a call, through which interface, with which rights. */
export interface Caller {
  /** The token's name (`admin` for the state folder's api-token). */
  name: string;
  /** The created token's id; absent for the local admin token. */
  tokenId?: string;
  scopes: readonly Scope[];
  via: "cli" | "api" | "mcp" | "ui";
}

/** The name the state folder's owner-only admin token (`<state>/api-token`) goes by. */
export const adminTokenName = "admin";

/** The local CLI's owner-only admin token as a Caller: scope `admin`, no token id. */
export function adminCaller(via: Caller["via"] = "cli"): Caller {
  return { name: adminTokenName, scopes: ["admin"], via };
}

const scopeForms = "read, approve, admin, deploy:<env>, promote:<env>, rollback:<env>, apply:<env> (<env> an environment's name or *)";
const environmentPattern = /^(\*|[A-Za-z0-9][A-Za-z0-9_-]{0,62})$/;

/** Checks a scope's text, e.g. `deploy:staging`, `rollback:*`. Throws TOKEN_SCOPE_INVALID. */
export function parseScope(text: string): Scope {
  const value = text.trim();
  if (value === "read" || value === "approve" || value === "admin") return value;
  const [kind, environment, ...rest] = value.split(":");
  if (rest.length === 0 && environment !== undefined && (environmentScopeKinds as readonly string[]).includes(kind!) && environmentPattern.test(environment)) {
    return value as Scope;
  }
  const shown = JSON.stringify(text.slice(0, 80));
  const known = (environmentScopeKinds as readonly string[]).includes(kind!) || ["read", "approve", "admin"].includes(kind!);
  throw new EngineError("TOKEN_SCOPE_INVALID", `${shown} is not a scope${known && environment === undefined ? ` (${kind} needs an environment: ${kind}:<env>)` : ""}.`, {
    hint: `A scope is one of ${scopeForms}.`,
  });
}

/** The scope an environment-limited change needs, e.g. `scopeFor("rollback", "production")`. */
export function scopeFor(kind: EnvironmentScopeKind, environment: string): Scope {
  return `${kind}:${environment}`;
}

/** True if one scope the caller holds grants `need`. */
export function can(caller: Pick<Caller, "scopes">, need: Scope): boolean {
  return caller.scopes.some((held) => grants(held, need));
}

/** True if holding `held` grants `need`. */
export function grants(held: Scope, need: Scope): boolean {
  if (held === "admin" || held === need) return true;
  if (need === "read") return true; // every scope implies read
  if (need === "admin" || need === "approve") return false;
  const [needKind, needEnv] = split(need);
  const [heldKind, heldEnv] = split(held);
  if (heldKind === undefined || needKind === undefined) return false;
  const kindGrants = heldKind === needKind || (heldKind === "deploy" && needKind === "rollback");
  return kindGrants && (heldEnv === "*" || heldEnv === needEnv);
}

function split(scope: Scope): [EnvironmentScopeKind | undefined, string | undefined] {
  const at = scope.indexOf(":");
  return at < 0 ? [undefined, undefined] : [scope.slice(0, at) as EnvironmentScopeKind, scope.slice(at + 1)];
}

/** Throws ACCESS_DENIED unless the caller may do what needs `need`. */
export function authorize(caller: Caller, need: Scope): void {
  if (can(caller, need)) return;
  const held = caller.scopes.length ? caller.scopes.join(", ") : "none";
  throw new EngineError("ACCESS_DENIED", `Token "${caller.name}" may not do this: it needs scope ${need} (it has ${held}).`, {
    hint: `Ask an admin for a token with scope ${need}: \`engineroom tokens create --name <name> --scope ${need}\`.`,
    details: { need, token: caller.name, scopes: [...caller.scopes] },
  });
}

/** A created token as stored and listed: never its secret, never its hash. */
export interface TokenRecord {
  /** e.g. `tok_lx2k9a1b_8f3c2d1e`. */
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: number;
  /** Epoch ms, or null for a token that does not expire. */
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** `engine.tokens`: scoped API tokens, stored hashed. */
export interface Tokens {
  /** Creates a token; `token` is its secret (`ert_…`), shown this once. TOKEN_INVALID for a name in use or a past expiry, TOKEN_SCOPE_INVALID for a bad scope. */
  create(input: { name: string; scopes: readonly string[]; expiresAt?: number }): Promise<{ token: string; record: TokenRecord }>;
  /** Every token, revoked ones too, newest first. */
  list(): Promise<TokenRecord[]>;
  /** Revokes the token with this id, or the active one with this name. TOKEN_NOT_FOUND otherwise. */
  revoke(idOrName: string): Promise<TokenRecord>;
  /**
   * The caller a secret stands for: the state folder's admin token, or a created token that is
   * neither expired nor revoked (its last use is recorded). Undefined for anything else.
   */
  verify(secret: string, via?: Caller["via"]): Promise<Caller | undefined>;
}

export type AuditDecision = "allowed" | "refused";

/** One call as the audit trail records it (as an `audit.call` event). */
export interface AuditInput {
  caller: Caller;
  /** Defaults to the caller's. */
  via?: Caller["via"];
  /** What was called: an API route's operation or an MCP tool's name, e.g. `deploy`, `tokens.create`. */
  action: string;
  /** The call's arguments; secrets are redacted before they are written. */
  args?: Record<string, unknown>;
  decision: AuditDecision;
  /** Why it was refused (an error code and message), or a note. */
  reason?: string;
  /** A short summary of the result (e.g. the release id), never a secret. */
  result?: unknown;
}

/** An audited call, read back. */
export interface AuditEntry {
  eventId: number;
  time: number;
  caller: string;
  tokenId: string | null;
  via: Caller["via"];
  action: string;
  args: Record<string, unknown>;
  decision: AuditDecision;
  reason: string | null;
  result: unknown;
}

/** `engine.audit`: every call through an interface, allowed or refused. */
export interface Audit {
  record(input: AuditInput): Promise<void>;
  /** Oldest first; `token` is a token's name or id; `since` epoch ms; `limit` default 100. */
  list(query?: { since?: number; limit?: number; token?: string }): Promise<AuditEntry[]>;
}

/** `engine.access`: the per-token rate limit. */
export interface Access {
  /** Counts one request of the caller; throws RATE_LIMITED (with the seconds to wait) over `api.rate_limit`. */
  admit(caller: Caller): void;
}
