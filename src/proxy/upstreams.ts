/**
 * The worker's keep-alive connection pools, one undici Pool per upstream address, shared by every
 * route that names the address. A pool whose address leaves the route table is retired: it is closed
 * once its last in-flight request ends, so a switch never cuts a request short.
 */
import { Pool } from "undici";
import { formatAuthority } from "./address.js";
import type { Upstream } from "./types.js";

export interface UpstreamOptions {
  /** Headers and body-idle timeout, ms. */
  timeoutMs: number;
}

/** One upstream address and its pool. Exchanges hold it directly, so the hot path does no map lookup. */
export class UpstreamState {
  readonly host: string;
  readonly port: number;
  readonly pool: Pool;
  inFlight = 0;
  retired = false;

  constructor(host: string, port: number, options: UpstreamOptions) {
    this.host = host;
    this.port = port;
    this.pool = new Pool(`http://${formatAuthority(host, port)}`, {
      // Unlimited connections, like nginx: a cap would queue requests inside the proxy.
      connections: null,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: Math.min(options.timeoutMs, 10_000) },
    });
  }

  /** Called when an exchange on this upstream ends. */
  release(): void {
    if (--this.inFlight === 0 && this.retired) this.#close();
  }

  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.#close();
  }

  #close(): void {
    // close() waits for queued requests; there are none left, so this only drops idle connections.
    this.pool.close().catch(() => {});
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

  /** Closes every pool, e.g. when the worker exits. */
  async closeAll(): Promise<void> {
    const states = [...this.#byAddress.values()];
    this.#byAddress.clear();
    await Promise.all(states.map((s) => s.pool.destroy().catch(() => {})));
  }
}
