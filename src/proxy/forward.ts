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
import { answerFault, faultFails, faultOf, type FaultState } from "./fault.js";
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
  /** The warm previous release's upstreams (Route.fallback), tried once when no other upstream of `upstreams` is left. */
  fallback: UpstreamState[];
  /** Where the answers of `fallback` count. */
  fallbackRelease: ReleaseStats;
  fallbackNext: number;
  /** A drill's fault on the requests to `upstreams` (Route.fault); undefined almost always. */
  fault: FaultState | undefined;
}

/** Gives the ReleaseStats of another release named by the table (the fallback's), created on first use and kept while the table names it. */
export type StatsOf = (releaseId: string, service: string, environment: string) => ReleaseStats;

/**
 * Compiles a route of a new table into what the hot path uses; `used` collects the upstream pools
 * the table keeps. `statsOf` gives the fallback release's stats; without it (or without
 * `route.fallbackReleaseId`) the fallback's answers count in the route's release.
 */
export function targetOf(route: Route, release: ReleaseStats, registry: UpstreamRegistry, used: Set<UpstreamState>, statsOf?: StatsOf): RouteTarget {
  const fallbackId = route.fallbackReleaseId;
  return {
    release,
    upstreams: route.upstreams.map((u) => registry.use(u, used)),
    next: 0,
    fallback: (route.fallback ?? []).map((u) => registry.use(u, used)),
    fallbackRelease: fallbackId !== undefined && fallbackId !== route.releaseId && statsOf ? statsOf(fallbackId, route.service, route.environment) : release,
    fallbackNext: 0,
    fault: faultOf(route.fault),
  };
}

/** Picks the route's next upstream, round robin; undefined when the route has none. */
export function pickUpstream(target: RouteTarget): UpstreamState | undefined {
  const list = target.upstreams;
  if (list.length === 0) return undefined;
  const upstream = list[target.next]!;
  target.next = target.next + 1 === list.length ? 0 : target.next + 1;
  return upstream;
}

/**
 * For a retry: the next of the fallback (the warm previous release, during a watch window), else
 * the upstream after `failed` in the route's list (the cursor is left alone, so the failed one is
 * not tried first by the next request too); undefined when there is neither.
 */
export function pickOther(target: RouteTarget, failed: UpstreamState | undefined): { upstream: UpstreamState; release: ReleaseStats } | undefined {
  const list = target.upstreams;
  const fallback = target.fallback;
  // During a watch window the warm previous release is the known-good place: a sibling of a crashed
  // instance of the new release is often crashing too (the same build).
  if (failed !== undefined && list.length > 1 && fallback.length === 0) {
    const at = list.indexOf(failed);
    return { upstream: list[at + 1 === list.length ? 0 : at + 1]!, release: target.release };
  }
  if (fallback.length === 0) return undefined;
  const upstream = fallback[target.fallbackNext]!;
  target.fallbackNext = target.fallbackNext + 1 === fallback.length ? 0 : target.fallbackNext + 1;
  return { upstream, release: target.fallbackRelease };
}

/** The try of a request a retry moves: its upstream and the release it counts in. */
export interface RetriedTry {
  upstream: UpstreamState;
  release: ReleaseStats;
  retried: boolean;
}

/**
 * Counts a failed try and points `attempt` at where its retry goes: another upstream of the route or
 * the warm fallback when there is one (the request in flight moves to that release's count), else the
 * same upstream when `sameAgain` (a fresh connection after a reset). False, counting nothing, when
 * there is nowhere to go. Shared by forward.ts and the fast lane.
 */
export function retarget(attempt: RetriedTry, target: RouteTarget, sameAgain: boolean, connectTimeout: boolean): boolean {
  const other = pickOther(target, attempt.upstream);
  if (other === undefined && !sameAgain) return false;
  const failed = attempt.release;
  failed.retriedError(Date.now(), connectTimeout);
  attempt.retried = true;
  if (other !== undefined) {
    attempt.upstream = other.upstream;
    if (other.release !== failed) {
      failed.inFlight--;
      other.release.inFlight++;
      attempt.release = other.release;
    }
  }
  return true;
}

/** Where routeRequest() sends a request. Reused, like requestFacts: the worker is single-threaded. */
export const routed = {
  headers: [] as string[],
  target: undefined as unknown as RouteTarget,
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
  routed.target = target;
  const upstream = pickUpstream(target);
  if (upstream !== undefined) {
    routed.release = target.release;
    routed.upstream = upstream;
    return 0;
  }
  // Every instance of the release is out (crashed, unhealthy): during a watch window the warm
  // previous release takes the request. It still counts as a failed try of the release.
  const fallback = pickOther(target, undefined);
  if (fallback === undefined) {
    target.release.upstreamError(performance.now() - start, Date.now());
    return 502;
  }
  target.release.retriedError(Date.now());
  routed.release = fallback.release;
  routed.upstream = fallback.upstream;
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

/** Errors of a connection that broke under a request (the upstream closed or reset it). */
function isReset(code: string | undefined): boolean {
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/** Methods that may be sent twice (RFC 9110 §9.2.2). */
function isIdempotent(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" || method === "PUT" || method === "DELETE" || method === "TRACE";
}

/** What createForwarder() takes besides the table. */
export interface ForwarderOptions {
  /** A client that gives up after the upstream sent no response header for this long counts as an upstream timeout, not a client abort. Default 5 000 ms. */
  hungUpstreamMs?: number;
}

export const defaultHungUpstreamMs = 5_000;

const kExchange = Symbol("exchange");
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange };

/** One request in flight: undici's handler for it and the bookkeeping that ends it exactly once. */
class Exchange {
  readonly res: TaggedResponse;
  readonly target: RouteTarget;
  readonly options: Dispatcher.DispatchOptions;
  readonly start: number;
  readonly hungMs: number;
  /** Since when the whole request is with the upstream (its body read to the end), waiting for an answer; 0 while the body is still coming. */
  waitingSince: number;
  /** The release and upstream of the current try (they change when a retry goes elsewhere). */
  release: ReleaseStats;
  upstream: UpstreamState;
  client: Client;
  status = 0;
  retried = false;
  /** The client side is done: answered, failed, or gone. */
  ended = false;
  /** The undici client is still ours (until undici is done with the request). */
  holding = true;
  /** Set by undici when it starts writing the request upstream: null means nothing of this try was sent. */
  abort: ((error?: Error) => void) | null = null;
  resume: (() => void) | null = null;

  constructor(res: TaggedResponse, target: RouteTarget, upstream: UpstreamState, options: Dispatcher.DispatchOptions, start: number, hungMs: number, release: ReleaseStats) {
    this.res = res;
    this.target = target;
    this.release = release;
    this.upstream = upstream;
    this.options = options;
    this.start = start;
    this.hungMs = hungMs;
    this.waitingSince = options.body === null ? start : 0;
    this.client = upstream.acquire();
  }

  dispatch(): void {
    this.client.dispatch(this.options, this);
  }

  /** Gives the upstream client back without having sent anything (a drill's fault answered instead). */
  giveUp(): void {
    this.#giveBack();
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
    const code = (error as { code?: string }).code;
    const socket = res.socket;
    // The client went away (undici saw its body stream close): not the upstream's failure.
    if (socket === null || (socket.destroyed && (code === "UND_ERR_ABORTED" || error === clientGone))) return this.clientAborted();
    if (this.#mayRetry(code) && this.#retry(code)) return;
    this.#endClientSide();
    const ms = performance.now() - this.start;
    if (code === "UND_ERR_INVALID_ARG") {
      // undici refused the request itself (e.g. a duplicate Host header): the client's fault.
      if (!res.headersSent) plainAnswer(res, 400);
      this.release.response(400, ms, Date.now());
      return;
    }
    const timedOut = isTimeout(error);
    if (res.headersSent || socket.destroyed) res.destroy(error);
    else plainAnswer(res, timedOut ? 504 : 502);
    this.release.upstreamError(ms, Date.now(), timedOut);
  }

  clientAborted(): void {
    if (this.ended) return;
    this.#endClientSide();
    const ms = performance.now() - this.start;
    // An upstream silent for this long after it got the whole request is hung: its clients giving
    // up are its errors, not theirs. (A client slow to upload its body is not waiting for it.)
    if (this.status === 0 && this.waitingSince > 0 && performance.now() - this.waitingSince >= this.hungMs) this.release.upstreamError(ms, Date.now(), true);
    else this.release.clientAbort(Date.now());
    // Before onConnect there is nothing to abort yet; onConnect cancels it then.
    if (this.abort !== null && this.holding) this.#cancel();
  }

  /**
   * A try that failed before any response byte gets one more, on another upstream when there is one.
   * Nothing of it was sent (connection refused, connect timeout): any method, as long as its body
   * stream was not read. The connection broke under it (refused by a crashed instance's reset, or
   * a kept-alive connection the upstream closed just as the request went out): only an idempotent
   * method without a body, which is safe to send twice.
   */
  #mayRetry(code: string | undefined): boolean {
    if (this.retried || this.status !== 0 || code === "UND_ERR_INVALID_ARG" || code === "UND_ERR_ABORTED") return false;
    const body = this.options.body as IncomingMessage | null;
    if (this.abort === null) return body === null || (!body.destroyed && !body.readableDidRead);
    return isReset(code) && body === null && isIdempotent(this.options.method);
  }

  /** Sends the request again, elsewhere when it can; false when there is nowhere to send it (the caller answers the error). */
  #retry(code: string | undefined): boolean {
    // Refused with nowhere else to go: the same address would refuse again. After a reset, the same
    // upstream on a fresh connection is still worth it (a stale keep-alive connection broke).
    if (!retarget(this, this.target, this.abort !== null, code === "UND_ERR_CONNECT_TIMEOUT")) return false;
    this.client = this.upstream.acquire();
    this.holding = true;
    this.abort = null;
    this.dispatch();
    return true;
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

/** A request under a drill's latency fault: held back, then failed (its share) or sent on. A client gone meanwhile is a client abort. */
function delayed(exchange: Exchange, fault: FaultState): void {
  setTimeout(() => {
    if (exchange.ended) return exchange.giveUp();
    if (!faultFails(fault)) return exchange.dispatch();
    exchange.giveUp();
    exchange.release.inFlight--;
    exchange.ended = true;
    answerFault(exchange.res, exchange.release, exchange.start);
  }, fault.latencyMs);
}

/** A ServerResponse closes after it ends, or earlier when the client goes away: only the latter matters. */
function onResponseClose(this: TaggedResponse): void {
  this[kExchange]?.clientAborted();
}

/**
 * Builds the worker's request listener. `table()` returns the current route table; it is read once
 * per request, so a request is routed against exactly one table version.
 */
export function createForwarder(table: () => RouteIndex<RouteTarget>, options: ForwarderOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const hungMs = options.hungUpstreamMs ?? defaultHungUpstreamMs;
  return (req, res) => {
    const start = performance.now();
    const refused = routeRequest(table(), req, false, start);
    if (refused !== 0) return plainAnswer(res, refused);
    const target = routed.target;
    // A drill's fault, on its release's own upstreams only (not on a request the fallback takes).
    let fault = target.fault !== undefined && routed.release === target.release ? target.fault : undefined;
    if (fault !== undefined && fault.latencyMs === 0) {
      if (faultFails(fault)) return answerFault(res, routed.release, start);
      fault = undefined;
    }
    const options = { path: req.url!, method: req.method as Dispatcher.HttpMethod, headers: routed.headers, body: requestFacts.hasBody ? req : null };
    const exchange = new Exchange(res, target, routed.upstream, options, start, hungMs, routed.release);
    exchange.release.inFlight++;
    (res as TaggedResponse)[kExchange] = exchange;
    res.on("close", onResponseClose);
    if (options.body !== null) req.once("end", () => (exchange.waitingSince = performance.now()));
    if (fault === undefined) exchange.dispatch();
    else delayed(exchange, fault);
  };
}
