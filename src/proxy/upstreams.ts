/**
 * The worker's keep-alive connection pools, one per upstream address, shared by every route that
 * names the address. A pool whose address leaves the route table is retired: it is closed once its
 * last in-flight request ends, so a switch never cuts a request short.
 *
 * A pool is a stack of undici Clients (one keep-alive connection each, reconnecting by itself when
 * the upstream closes it). undici's own Pool does the same job, but it scans its clients for a free
 * one twice per request and relays every client's 'drain' event; with 64 concurrent connections
 * that cost a measurable share of the proxy's CPU. Here a request pops an idle client and pushes it
 * back when it ends: O(1), and a client only ever has one request.
 */
import { Client } from "undici";
import { formatAuthority } from "./address.js";
import type { Upstream } from "./types.js";

export interface UpstreamOptions {
  /** Headers and body-idle timeout, ms. */
  timeoutMs: number;
}

/** What UpstreamState keeps of a fast-lane connection. */
export interface RawConnection {
  /** Still usable: connected or connecting, not closed by either side. */
  readonly open: boolean;
  close(): void;
}

/** One upstream address and its connections. Exchanges hold it directly, so the hot path does no map lookup. */
export class UpstreamState {
  readonly host: string;
  readonly port: number;
  readonly origin: string;
  /** Headers and body-idle timeout, ms (UpstreamOptions). */
  readonly timeoutMs: number;
  inFlight = 0;
  retired = false;
  #idle: Client[] = [];
  /** The fast lane's idle connections (fast-lane/upstream-connection.ts), kept beside undici's. */
  #rawIdle: RawConnection[] = [];
  #options: Client.Options;

  constructor(host: string, port: number, options: UpstreamOptions) {
    this.host = host;
    this.port = port;
    this.origin = `http://${formatAuthority(host, port)}`;
    this.timeoutMs = options.timeoutMs;
    this.#options = {
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
    };
  }

  /** A client with no request on it; the caller gives it back with `release()`. Counts the request in flight. */
  acquire(): Client {
    this.inFlight++;
    return this.#idle.pop() ?? new Client(this.origin, this.#options);
  }

  /** Ends a request taken with `acquire()`. */
  release(client: Client): void {
    if (this.retired) client.close().catch(() => {});
    else this.#idle.push(client);
    this.leave();
  }

  /** The fast lane's version of acquire(): an idle connection of its own that is still open, else `create()`. */
  acquireRaw<T extends RawConnection>(create: () => T): T {
    this.inFlight++;
    for (let idle = this.#rawIdle.pop(); idle !== undefined; idle = this.#rawIdle.pop()) if (idle.open) return idle as T;
    return create();
  }

  /** Ends a request taken with `acquireRaw()`; the connection is kept for the next one when `reusable`. */
  releaseRaw(connection: RawConnection, reusable: boolean): void {
    if (reusable && !this.retired && connection.open) this.#rawIdle.push(connection);
    else connection.close();
    this.leave();
  }

  /** Counts a tunnel (which has its own connection) in flight; ended with `leave()`. */
  enter(): void {
    this.inFlight++;
  }

  leave(): void {
    if (--this.inFlight === 0 && this.retired) this.#closeIdle();
  }

  retire(): void {
    this.retired = true;
    this.#closeIdle();
  }

  #closeIdle(): void {
    // close() waits for queued requests; an idle client has none, so this only drops its connection.
    for (const client of this.#idle) client.close().catch(() => {});
    this.#idle = [];
    for (const connection of this.#rawIdle) connection.close();
    this.#rawIdle = [];
  }
}

/** Keeps one UpstreamState per address across route tables. */
export class UpstreamRegistry {
  #byAddress = new Map<string, UpstreamState>();
  #options: UpstreamOptions;

  constructor(options: UpstreamOptions) {
    this.#options = options;
  }

  /** The state of an upstream address, created on first use; records it in `used`, the set of states the table being built needs. */
  use(upstream: Upstream, used: Set<UpstreamState>): UpstreamState {
    const key = formatAuthority(upstream.host, upstream.port);
    let state = this.#byAddress.get(key);
    if (!state) this.#byAddress.set(key, (state = new UpstreamState(upstream.host, upstream.port, this.#options)));
    used.add(state);
    return state;
  }

  /** Retires every state the new table no longer uses. */
  commit(used: Set<UpstreamState>): void {
    for (const [key, state] of this.#byAddress) {
      if (used.has(state)) continue;
      this.#byAddress.delete(key);
      state.retire();
    }
  }
}
