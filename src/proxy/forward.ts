/**
 * The HTTP hot path: route a request, pick an upstream, and stream the exchange through undici's
 * low-level `dispatch()` with a hand-written handler that writes straight to the ServerResponse.
 *
 * The handler uses undici's original callbacks (onConnect/onHeaders/onData/onComplete/onError),
 * which the client core calls directly. undici 7 types mark them deprecated in favour of
 * onRequestStart/onResponseStart/..., but those are served through an adapter that allocates a
 * controller and parses the raw headers into an object for every response: about 3 µs more CPU per
 * request, measured, out of the ~20 µs undici spends. If undici drops the old callbacks, only the
 * Exchange class below changes (the controller also exposes `rawHeaders`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Client, Dispatcher } from "undici";
import type { ReleaseStats } from "./metrics.js";
import { requestFacts, requestHeaders, responseHeaders } from "./headers.js";
import type { RouteIndex } from "./route-table.js";
import type { UpstreamRegistry, UpstreamState } from "./upstreams.js";
import type { Route } from "./types.js";

/** What a compiled route points at. */
export interface RouteTarget {
  release: ReleaseStats;
  upstreams: UpstreamState[];
  /** Round-robin cursor. */
  next: number;
}

/** Compiles a route of a new table into what the hot path uses; `used` collects the upstream pools the table keeps. */
export function targetOf(route: Route, release: ReleaseStats, registry: UpstreamRegistry, used: Set<UpstreamState>): RouteTarget {
  return { release, upstreams: route.upstreams.map((u) => registry.use(u, used)), next: 0 };
}

/** Picks the route's next upstream, round robin; undefined when the route has none. */
function pickUpstream(target: RouteTarget): UpstreamState | undefined {
  const list = target.upstreams;
  if (list.length === 0) return undefined;
  const upstream = list[target.next]!;
  target.next = target.next + 1 === list.length ? 0 : target.next + 1;
  return upstream;
}

/** Where routeRequest() sends a request. Reused, like requestFacts: the worker is single-threaded. */
export const routed = {
  headers: [] as string[],
  release: undefined as unknown as ReleaseStats,
  upstream: undefined as unknown as UpstreamState,
};

/**
 * Rewrites a request's headers and picks its route and upstream into `routed`. Returns 0 when the
 * request can go on, else the status to answer: 404 (no route) or 502 (a route without upstreams,
 * counted as an upstream error of its release).
 */
export function routeRequest(table: RouteIndex<RouteTarget>, req: IncomingMessage, upgrade: boolean, start: number): 0 | 404 | 502 {
  routed.headers = requestHeaders(req, upgrade);
  const target = table.match(requestFacts.host, req.url!);
  if (target === undefined) return 404;
  const upstream = pickUpstream(target);
  if (upstream === undefined) {
    target.release.upstreamError(performance.now() - start, Date.now());
    return 502;
  }
  routed.release = target.release;
  routed.upstream = upstream;
  return 0;
}

/** The short plain-text bodies of the answers the proxy gives itself. */
export const answerText: Record<number, string> = { 400: "bad request", 404: "no route", 502: "bad gateway", 504: "gateway timeout" };

function plainAnswer(res: ServerResponse, status: number): void {
  const body = `${answerText[status]}\n`;
  res.writeHead(status, ["content-type", "text/plain; charset=utf-8", "content-length", String(body.length)]);
  res.end(body);
}

/** Upstream failures that mean "too slow" rather than "broken". */
export function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT";
}

const kExchange = Symbol("exchange");
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange };

/** One request in flight: undici's handler for it and the bookkeeping that ends it exactly once. */
class Exchange {
  readonly res: TaggedResponse;
  readonly release: ReleaseStats;
  readonly upstream: UpstreamState;
  readonly options: Dispatcher.DispatchOptions;
  readonly start: number;
  client: Client;
  status = 0;
  retried = false;
  /** The client side is done: answered, failed, or gone. */
  ended = false;
  /** The undici client is still ours (until undici is done with the request). */
  holding = true;
  abort: ((error?: Error) => void) | null = null;
  resume: (() => void) | null = null;

  constructor(res: TaggedResponse, release: ReleaseStats, upstream: UpstreamState, options: Dispatcher.DispatchOptions, start: number) {
    this.res = res;
    this.release = release;
    this.upstream = upstream;
    this.options = options;
    this.start = start;
    this.client = upstream.acquire();
  }

  dispatch(): void {
    this.client.dispatch(this.options, this);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
    // The client left while the request waited for a connection: do not send it.
    if (this.ended) this.#cancel();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    // Interim 1xx answers (103 Early Hints) are not relayed; the final answer follows.
    if (status < 200 || this.ended) return true;
    this.status = status;
    this.resume = resume;
    const headers = responseHeaders(raw);
    if (statusText) this.res.writeHead(status, statusText, headers);
    else this.res.writeHead(status, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.ended) return true;
    if (this.res.write(chunk)) return true;
    // Backpressure from a slow client pauses the upstream socket until the client drains.
    this.res.once("drain", this.resume!);
    return false;
  }

  onComplete(): void {
    this.#giveBack();
    if (this.ended) return;
    this.res.end();
    this.#endClientSide();
    this.release.response(this.status, performance.now() - this.start, Date.now());
  }

  onError(error: Error): void {
    this.#giveBack();
    if (this.ended) return;
    const res = this.res;
    const socket = res.socket;
    if (socket === null || socket.destroyed) return this.clientAborted();
    if (this.#mayRetry(error)) {
      this.retried = true;
      this.client = this.upstream.acquire();
      this.holding = true;
      this.abort = null;
      return this.dispatch();
    }
    this.#endClientSide();
    const ms = performance.now() - this.start;
    if ((error as { code?: string }).code === "UND_ERR_INVALID_ARG") {
      // undici refused the request itself (e.g. a duplicate Host header): the client's fault.
      if (!res.headersSent) plainAnswer(res, 400);
      this.release.response(400, ms, Date.now());
      return;
    }
    if (res.headersSent) res.destroy(error);
    else if (isTimeout(error)) plainAnswer(res, 504);
    else plainAnswer(res, 502);
    this.release.upstreamError(ms, Date.now());
  }

  clientAborted(): void {
    if (this.ended) return;
    this.#endClientSide();
    this.release.clientAbort(Date.now());
    // Before onConnect there is nothing to abort yet; onConnect cancels it then.
    if (this.abort !== null && this.holding) this.#cancel();
  }

  /**
   * A kept-alive connection the upstream closed just as the request went out fails with a reset
   * and no answer. A request without a body that is safe to repeat gets one more try, on a fresh
   * connection, rather than a 502.
   */
  #mayRetry(error: Error): boolean {
    if (this.retried || this.status !== 0 || this.options.body !== null) return false;
    const method = this.options.method;
    if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") return false;
    const code = (error as { code?: string }).code;
    return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
  }

  #cancel(): void {
    this.abort!(clientGone); // undici answers with onError, which gives the client back
    this.#giveBack();
  }

  #endClientSide(): void {
    this.ended = true;
    this.release.inFlight--;
  }

  #giveBack(): void {
    if (!this.holding) return;
    this.holding = false;
    this.upstream.release(this.client);
  }
}

const clientGone = new Error("client closed the connection");

/** A ServerResponse closes after it ends, or earlier when the client goes away: only the latter matters. */
function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.clientAborted();
}

/**
 * Builds the worker's request listener. `table()` returns the current route table; it is read once
 * per request, so a request is routed against exactly one table version.
 */
export function createForwarder(table: () => RouteIndex<RouteTarget>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const start = performance.now();
    const refused = routeRequest(table(), req, false, start);
    if (refused !== 0) return plainAnswer(res, refused);
    const release = routed.release;
    const upstream = routed.upstream;
    release.inFlight++;
    const options = { path: req.url!, method: req.method as Dispatcher.HttpMethod, headers: routed.headers, body: requestFacts.hasBody ? req : null };
    const exchange = new Exchange(res, release, upstream, options, start);
    (res as TaggedResponse)[kExchange] = exchange;
    res.on("close", onResponseClose);
    exchange.dispatch();
  };
}
