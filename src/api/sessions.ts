import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/index.js";

/** The dashboard's session cookie (HttpOnly) and the CSRF token's cookie (readable by the page). */
export const sessionCookie = "er_session";
export const csrfCookie = "er_csrf";
export const csrfHeader = "x-csrf-token";
/** A session ends after this long at the most (sooner with its token). */
export const sessionMaxMs = 12 * 3600_000;

interface Session {
  /** The token the session was opened with: every request re-verifies it, so a revoked or expired token ends its sessions at once. */
  secret: string;
  csrf: string;
  expiresAt: number;
}

/**
 * Server-side sessions, in the engine's memory only (an engine restart logs everyone out): the
 * cookie holds an opaque random id, never the token.
 */
export class Sessions {
  readonly #clock: Clock;
  readonly #sessions = new Map<string, Session>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  open(secret: string): { id: string; csrf: string; expiresAt: number } {
    this.#sweep();
    const id = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const expiresAt = this.#clock.now() + sessionMaxMs;
    this.#sessions.set(id, { secret, csrf, expiresAt });
    return { id, csrf, expiresAt };
  }

  /** The session's token and CSRF token, or undefined when there is none or it expired. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.#clock.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
  }
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
