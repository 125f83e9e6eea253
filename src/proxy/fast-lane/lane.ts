/**
 * The fast lane: the common request proxied without Node's HTTP server or undici.
 *
 * A worker gives the lane every connection it accepts. The lane reads the client's bytes itself and
 * proxies each request whose head is in a strict subset of HTTP/1.1 (request-head.ts: GET or HEAD,
 * no body, no upgrade, unambiguous headers) and whose route is plain (an upstream to send it to, no
 * drill fault) over its own keep-alive connections (upstream-connection.ts), passing the response
 * body through as it comes. The first request that is anything else hands the connection, with the
 * bytes read so far, to Node's HTTP server, which parses them again and keeps the connection: so
 * every request outside the subset (a body, an upgrade, an odd header) is served by the regular path
 * (forward.ts), and what the lane accepts is read the same way by any parser.
 *
 * It counts into the same ReleaseStats as forward.ts, with the same rules: a try that failed before
 * any response byte is retried once (elsewhere when there is another upstream or a warm fallback),
 * an upstream silent past `upstreamTimeoutMs` is answered 504, a client that gives up on an upstream
 * silent for `hungUpstreamMs` counts as an upstream timeout.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { defaultHungUpstreamMs, pickUpstream, retarget, type RouteTarget } from "../forward.js";
import type { ReleaseStats } from "../metrics.js";
import type { RouteIndex } from "../route-table.js";
import type { UpstreamState } from "../upstreams.js";
import { parseRequestHead, type RequestHead } from "./request-head.js";
import type { ResponseHead } from "./response-reader.js";
import { UpstreamConnection, type ConnectionUser } from "./upstream-connection.js";

export interface FastLaneOptions {
  /** An upstream that sends no response head, or goes quiet in its body, for this long is answered 504 (or cut). */
  upstreamTimeoutMs: number;
  /** See ForwarderOptions.hungUpstreamMs. Default 5 000. */
  hungUpstreamMs?: number;
  /** An idle client connection is closed after this long. Default 75 000 (the worker's keepAliveTimeout). */
  keepAliveMs?: number;
  /** A client that has not finished a request head this long after it began is disconnected. Default 60 000 (Node's headersTimeout). */
  headersTimeoutMs?: number;
}

let dateSecond = 0;
let dateText = "";
/** The Date header's value, computed once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const keepAliveHeaders = "connection: keep-alive\r\nkeep-alive: timeout=75\r\n\r\n";
const closeHeaders = "connection: close\r\n\r\n";

/** The lane's own answers (502, 504), with the same bodies as forward.ts's. */
function plainAnswer(status: 502 | 504, keepAlive: boolean): string {
  const body = status === 502 ? "bad gateway\n" : "gateway timeout\n";
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
    `date: ${httpDate()}\r\n${keepAlive ? keepAliveHeaders : closeHeaders}${body}`
  );
}

export class FastLane {
  readonly table: () => RouteIndex<RouteTarget>;
  readonly handOff: (socket: Socket) => void;
  readonly timeoutMs: number;
  readonly hungMs: number;
  readonly keepAliveMs: number;
  readonly headersTimeoutMs: number;
  /** Set while the worker drains: every answer closes its connection. */
  stopping = false;
  /** Requests the lane proxied, and connections it handed to Node's HTTP server. */
  served = 0;
  handedOff = 0;
  readonly connections = new Set<ClientConnection>();
  #sweep: NodeJS.Timeout;
  #sweeps = 0;

  /** `handOff(socket)` gives a connection to Node's HTTP server (the bytes the lane read are back in the socket). */
  constructor(table: () => RouteIndex<RouteTarget>, handOff: (socket: Socket) => void, options: FastLaneOptions) {
    this.table = table;
    this.handOff = handOff;
    this.timeoutMs = options.upstreamTimeoutMs;
    this.hungMs = options.hungUpstreamMs ?? defaultHungUpstreamMs;
    this.keepAliveMs = options.keepAliveMs ?? 75_000;
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    // One timer for every deadline: per-request timers cost more than the requests they guard.
    const every = Math.max(10, Math.min(250, Math.floor(this.timeoutMs / 4)));
    this.#sweep = setInterval(() => this.#check(every), every);
    this.#sweep.unref();
  }

  /** Serves a connection the worker accepted. */
  adopt(socket: Socket): void {
    this.connections.add(new ClientConnection(this, socket));
  }

  /** Closes every connection of the lane with nothing in flight (the worker drains). */
  closeIdle(): void {
    for (const connection of this.connections) if (connection.idle) connection.socket.destroy();
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const connection of this.connections) connection.socket.destroy();
  }

  #check(every: number): void {
    const now = performance.now();
    // Exchanges every time, idle client connections about once a second.
    const idleToo = ++this.#sweeps * every >= 1000;
    if (idleToo) this.#sweeps = 0;
    for (const connection of this.connections) {
      if (connection.exchange !== null) connection.exchange.checkDeadlines(now);
      else if (idleToo) connection.checkDeadlines(now);
    }
  }
}

/** A client connection while the lane serves it. */
class ClientConnection {
  readonly lane: FastLane;
  readonly socket: Socket;
  readonly address: string;
  /** Bytes read and not yet served (a head still incomplete, or a request sent before the previous answer). */
  pending: Buffer | null = null;
  exchange: Exchange | null = null;
  /** Since when it has been idle, or since when its pending head has been incomplete. */
  since = performance.now();
  /** The client closed its side (half-close): the answer in flight still goes out, then the connection closes. */
  clientEnded = false;
  #partial = false;
  #paused = false;

  constructor(lane: FastLane, socket: Socket) {
    this.lane = lane;
    this.socket = socket;
    this.address = socket.remoteAddress ?? "";
    // A client may send its request and close its side at once: its answer must still reach it.
    socket.allowHalfOpen = true;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", noop);
  }

  get idle(): boolean {
    return this.exchange === null && this.pending === null;
  }

  #onData = (data: Buffer): void => {
    this.pending = this.pending === null ? data : Buffer.concat([this.pending, data]);
    if (this.exchange === null) this.#serveNext();
    else if (this.pending.length > 16_384 && !this.#paused) {
      // A client sending far ahead of its answers waits for them.
      this.#paused = true;
      this.socket.pause();
    }
  };

  #onEnd = (): void => {
    this.clientEnded = true;
    if (this.exchange === null) this.socket.end();
  };

  #onClose = (): void => {
    this.lane.connections.delete(this);
    this.exchange?.clientGone();
  };

  #serveNext(): void {
    const buffer = this.pending;
    if (buffer === null) {
      this.since = performance.now();
      return;
    }
    const head = parseRequestHead(buffer, this.address);
    if (head === undefined) {
      if (!this.#partial) {
        this.#partial = true;
        this.since = performance.now();
      }
      return;
    }
    if (head === null) return this.#handOff();
    const target = this.lane.table().match(head.host, head.target);
    // No route, no upstream left, or a drill's fault: forward.ts answers those.
    if (target === undefined || target.fault !== undefined || target.upstreams.length === 0) return this.#handOff();
    this.#partial = false;
    this.pending = head.length === buffer.length ? null : buffer.subarray(head.length);
    this.lane.served++;
    this.exchange = new Exchange(this, target, head);
  }

  /** The exchange ended; `keepAlive` is false when the connection closes after its answer. */
  done(keepAlive: boolean): void {
    this.exchange = null;
    if (!keepAlive || this.clientEnded) {
      this.socket.end();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
    this.#serveNext();
  }

  /** Gives the connection to Node's HTTP server with the bytes read so far, which it parses again. */
  #handOff(): void {
    const socket = this.socket;
    this.lane.connections.delete(this);
    this.lane.handedOff++;
    socket.removeListener("data", this.#onData);
    socket.removeListener("end", this.#onEnd);
    socket.removeListener("close", this.#onClose);
    socket.removeListener("error", noop);
    socket.pause();
    if (this.pending !== null) socket.unshift(this.pending);
    this.pending = null;
    this.lane.handOff(socket);
    process.nextTick(() => socket.resume());
  }

  /** An idle connection's deadlines (the lane checks an exchange's own while one runs). */
  checkDeadlines(now: number): void {
    if (this.pending === null ? now - this.since > this.lane.keepAliveMs : now - this.since > this.lane.headersTimeoutMs) this.socket.destroy();
  }
}

function noop(): void {}

/** One request of the lane, from its head to the end of its answer. */
class Exchange implements ConnectionUser {
  readonly connection: ClientConnection;
  readonly client: Socket;
  readonly target: RouteTarget;
  readonly head: RequestHead;
  readonly start = performance.now();
  release: ReleaseStats;
  upstream: UpstreamState;
  upstreamConnection!: UpstreamConnection;
  /** When the current try was sent, and when the upstream last sent bytes of its answer. */
  sentAt = 0;
  lastDataAt = 0;
  status = 0;
  retried = false;
  keepAlive = true;
  #upstreamCloses = false;
  /** The answer's head, held until the end of the upstream read it came in, to go out with the first body bytes in one write. */
  #head: string | null = null;
  #ended = false;
  #waitingForDrain = false;

  constructor(connection: ClientConnection, target: RouteTarget, head: RequestHead) {
    this.connection = connection;
    this.client = connection.socket;
    this.target = target;
    this.head = head;
    this.release = target.release;
    this.upstream = pickUpstream(target)!;
    this.release.inFlight++;
    this.#send();
  }

  #send(): void {
    const upstream = this.upstream;
    this.upstreamConnection = upstream.acquireRaw(() => new UpstreamConnection(upstream.host, upstream.port));
    this.sentAt = performance.now();
    this.upstreamConnection.send(this.head.upstreamHead, this, this.head.method === "HEAD");
  }

  onHead(head: ResponseHead): void {
    // Interim 1xx answers (103 Early Hints) are not relayed, as in forward.ts; the final answer follows.
    if (head.status < 200 || this.#ended) return;
    this.status = head.status;
    this.lastDataAt = performance.now();
    this.#upstreamCloses = head.closes;
    const lane = this.connection.lane;
    this.keepAlive = !this.head.close && !lane.stopping && !this.connection.clientEnded && head.framing !== "close";
    const headers = head.headers;
    let text = `HTTP/1.1 ${head.status} ${head.reason || STATUS_CODES[head.status] || "unknown"}\r\n`;
    for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (!head.hasDate) text += `date: ${httpDate()}\r\n`;
    this.#head = text + (this.keepAlive ? keepAliveHeaders : closeHeaders);
  }

  flush(): void {
    if (this.#head === null) return;
    this.client.write(this.#head, "latin1");
    this.#head = null;
  }

  onBody(bytes: Buffer): void {
    if (this.#ended) return;
    this.lastDataAt = performance.now();
    // `bytes` is the worker's shared read buffer: what is written is copied first.
    const head = this.#head;
    let written: boolean;
    if (head === null) written = this.client.write(Buffer.from(bytes));
    else {
      this.#head = null;
      // One write, not two: the body (or its first part) is copied behind the head.
      const out = Buffer.allocUnsafe(head.length + bytes.length);
      out.write(head, 0, "latin1");
      bytes.copy(out, head.length);
      written = this.client.write(out);
    }
    if (written || this.#waitingForDrain) return;
    // Backpressure from a slow client pauses the upstream socket until the client drains.
    this.#waitingForDrain = true;
    const socket = this.upstreamConnection.socket;
    socket.pause();
    this.client.once("drain", () => {
      this.#waitingForDrain = false;
      socket.resume();
    });
  }

  onEnd(extra: boolean): void {
    if (this.#ended) return;
    this.flush();
    this.#finish();
    this.upstream.releaseRaw(this.upstreamConnection, !extra && !this.#upstreamCloses);
    this.release.response(this.status, performance.now() - this.start, Date.now());
    this.connection.done(this.keepAlive);
  }

  onError(code: string): void {
    if (this.#ended) return;
    const failed = this.upstreamConnection;
    this.upstream.releaseRaw(failed, false);
    // Nothing of the answer reached the client: one more try, when the rules allow it.
    if (this.status === 0 && code === "PREMATURE_CLOSE" && this.#retry(failed)) return;
    this.#fail(false);
  }

  /** The client's connection closed before the answer ended. */
  clientGone(): void {
    if (this.#ended) return;
    this.#finish();
    const now = performance.now();
    // An upstream silent this long is hung: its clients giving up are its errors, not theirs.
    if (this.status === 0 && now - this.sentAt >= this.connection.lane.hungMs) this.release.upstreamError(now - this.start, Date.now(), true);
    else this.release.clientAbort(Date.now());
    this.upstreamConnection.detach();
    this.upstream.releaseRaw(this.upstreamConnection, false);
  }

  checkDeadlines(now: number): void {
    // Ended, its connection about to close (a cut answer): nothing left to time.
    if (this.#ended) return;
    const timeoutMs = this.connection.lane.timeoutMs;
    const connection = this.upstreamConnection;
    if (this.status === 0) {
      if (!connection.connected && now - this.sentAt > Math.min(timeoutMs, 10_000)) {
        // A connect timeout: nothing was sent, so the request may go elsewhere.
        connection.detach();
        this.upstream.releaseRaw(connection, false);
        if (!this.#retry(connection, true)) this.#fail(true);
      } else if (now - this.sentAt > timeoutMs) {
        connection.detach();
        this.upstream.releaseRaw(connection, false);
        this.#fail(true);
      }
    } else if (now - this.lastDataAt > timeoutMs) {
      connection.detach();
      this.upstream.releaseRaw(connection, false);
      this.#fail(true);
    }
  }

  /**
   * A try that failed before any answer byte gets one more, as in forward.ts: refused (nothing was
   * sent) on another upstream when there is one; broken under the request (a crashed instance's
   * reset, a kept-alive connection the upstream closed as the request went out) on another one, or
   * on a fresh connection to the same one. Only GET and HEAD come here: safe to send twice.
   */
  #retry(failed: UpstreamConnection, connectTimeout = false): boolean {
    if (this.retried || !retarget(this, this.target, failed.connected, connectTimeout)) return false;
    this.#send();
    return true;
  }

  /** Answers the failure: 502 (504 when `timedOut`) if nothing was sent yet, else cuts the connection. */
  #fail(timedOut: boolean): void {
    this.#finish();
    const ms = performance.now() - this.start;
    this.release.upstreamError(ms, Date.now(), timedOut);
    // A head still held back was never sent: the client can have a clean 502 instead.
    if (this.#head !== null) {
      this.#head = null;
      this.status = 0;
    }
    if (this.status !== 0) {
      this.client.destroy();
      return;
    }
    const keepAlive = !this.head.close && !this.connection.lane.stopping;
    this.client.write(plainAnswer(timedOut ? 504 : 502, keepAlive), "latin1");
    this.connection.done(keepAlive);
  }

  #finish(): void {
    this.#ended = true;
    this.release.inFlight--;
  }
}
