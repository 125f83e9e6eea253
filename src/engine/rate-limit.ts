import { EngineError, type Clock } from "../core/index.js";
import type { Access, Caller } from "./access.js";

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * `engine.access`: a token bucket per created token, `requests_per_minute` deep and refilled evenly
 * over the minute. The state folder's admin token (no token id) is the owner's and is not limited.
 */
export class RateLimiter implements Access {
  readonly #clock: Clock;
  readonly #perMinute: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: { clock: Clock; requestsPerMinute: number }) {
    this.#clock = options.clock;
    this.#perMinute = options.requestsPerMinute;
  }

  admit(caller: Caller): void {
    if (caller.tokenId === undefined) return;
    const now = this.#clock.now();
    const perMs = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(caller.tokenId) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + Math.max(0, now - bucket.at) * perMs);
    bucket.at = now;
    this.#buckets.set(caller.tokenId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    throw new EngineError("RATE_LIMITED", `Token "${caller.name}" made more than ${this.#perMinute} requests in a minute.`, {
      hint: `Wait ${retryAfterSeconds} s (Retry-After), then try again; the limit is api.rate_limit.requests_per_minute (${this.#perMinute}) per token.`,
      details: { retryAfterSeconds, requestsPerMinute: this.#perMinute },
    });
  }
}
