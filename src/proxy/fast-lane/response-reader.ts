/**
 * Reads an upstream's HTTP/1.1 responses from the bytes of a keep-alive socket, for the fast lane.
 * The head is parsed strictly and its headers rewritten for the client (as `responseHeaders()` in
 * ../headers.ts does, except that `Transfer-Encoding: chunked` is kept); the body is passed through
 * as it came, chunked framing included, while the reader finds exactly where the response ends, so
 * the connection can carry the next request.
 *
 * The usual response (a small head and a Content-Length body in one read) costs one scan of the
 * head's bytes, one latin1 decode of the head, and a `subarray` of the read for its body.
 */

import { ChunkedScanner, Outcome } from "./chunked.js";
import { byteClass, sameLower, tchar, vchar } from "./grammar.js";
import { applyConnection, Kind, kindOf, Token, type ResponseHead } from "./response-head.js";

export type { ResponseHead } from "./response-head.js";

/** The most bytes a response head (status line to the empty line, inclusive) may have. */
const headLimit = 16 * 1024;
/**
 * Why a response could not be read. The first six are malformed responses; UNEXPECTED_UPGRADE is a
 * 101 (the fast lane never asks for one); UNSOLICITED_DATA means the upstream sent bytes while no
 * response was expected, so the connection is out of step (see `ResponseReader.start()`).
 */
export type ResponseErrorCode =
  | "BAD_STATUS_LINE"
  | "BAD_HEADER"
  | "HEAD_TOO_LARGE"
  | "BAD_FRAMING"
  | "BAD_CHUNK"
  | "PREMATURE_CLOSE"
  | "UNEXPECTED_UPGRADE"
  | "UNSOLICITED_DATA";

/** What a `ResponseReader` reports to. Calls come synchronously from `start()`, `push()` and `close()`. */
export interface ResponseHandler {
  /** A head; for 1xx (informational, never 101 here) another head follows; return nothing. */
  onHead(head: ResponseHead): void;
  /** Body bytes to send the client as they are (for chunked: chunk-size lines, data, trailers, all raw). */
  onBody(bytes: Buffer): void;
  /** The response ended; `extra` is true when the upstream sent bytes after its end (the connection must not be reused). */
  onEnd(extra: boolean): void;
  /**
   * The response is malformed (bad status line, bad header, head over 16 KiB, Transfer-Encoding
   * other than exactly "chunked" (case-insensitive), both TE and CL, several or invalid
   * Content-Length, bad chunk size line, or the upstream closed before the end). `bodyStarted` says
   * whether onHead of the final response was already called. Body bytes before the fault have been
   * passed to onBody; nothing after it is. The connection must not be reused. `code` is one of
   * `ResponseErrorCode`.
   */
  onError(code: string, bodyStarted: boolean): void;
}

const enum State {
  Idle,
  Head,
  Length,
  Chunked,
  Close,
}

/**
 * Reads one response at a time from an upstream connection's bytes and reports it to a handler.
 *
 * @example
 * const reader = new ResponseReader(handler);
 * reader.start(false);
 * socket.write("GET / HTTP/1.1\r\nhost: app\r\n\r\n");
 * socket.on("data", (data) => reader.push(data));
 * socket.on("close", () => reader.close());
 */
export class ResponseReader {
  readonly #handler: ResponseHandler;
  #state = State.Idle;
  /** Bumped whenever a response starts or finishes, so a handler that restarts the reader from a callback stops the old loop. */
  #generation = 0;
  #requestWasHead = false;
  /** onHead of the final response has been called. */
  #final = false;
  /** Bytes came while idle: the next start() fails. */
  #stray = false;

  // The head being scanned. Positions are relative to the head's first byte.
  /** A head split across reads is gathered here (allocated on first need). */
  #headBuffer: Buffer | undefined;
  /** Bytes of the head in #headBuffer; 0 while the head is read straight from the pushed buffer. */
  #have = 0;
  #lineStart = 0;
  /** Per header line: start, colon, value start, value end; the first #lineCount entries are this head's. */
  readonly #lines: number[] = [];
  #lineCount = 0;
  #status = 0;
  #minor = 0;
  #reasonStart = 0;
  #reasonEnd = 0;

  // The body.
  #remaining = 0;
  readonly #chunked = new ChunkedScanner();

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
  }

  /** Whether a response is being read (between start() and onEnd/onError). */
  get busy(): boolean {
    return this.#state !== State.Idle;
  }

  /**
   * Expect a new response, to a HEAD request or not. If the upstream sent bytes since the last
   * response ended, onError("UNSOLICITED_DATA", false) is called at once, before any request is
   * written: that connection is out of step and must be closed.
   */
  start(requestWasHead: boolean): void {
    if (this.#state !== State.Idle) throw new Error("ResponseReader.start(): the previous response is still being read");
    this.#generation++;
    this.#requestWasHead = requestWasHead;
    this.#final = false;
    this.#resetHead();
    this.#state = State.Head;
    if (this.#stray) {
      this.#stray = false;
      this.#fail("UNSOLICITED_DATA");
    }
  }

  /** Bytes from the upstream socket. */
  push(data: Buffer): void {
    if (this.#state === State.Idle) {
      if (data.length > 0) this.#stray = true;
      return;
    }
    let offset = 0;
    while (offset >= 0 && offset < data.length) {
      switch (this.#state) {
        case State.Head:
          offset = this.#readHead(data, offset);
          break;
        case State.Length:
          offset = this.#readLength(data, offset);
          break;
        case State.Chunked:
          offset = this.#readChunked(data, offset);
          break;
        case State.Close:
          this.#emit(data, offset, data.length);
          return;
        default:
          return;
      }
    }
  }

  /** The upstream closed its side: ends a "close"-framed body (onEnd(false)) or is a PREMATURE_CLOSE. */
  close(): void {
    if (this.#state === State.Idle) return;
    if (this.#state === State.Close) this.#end(false);
    else this.#fail("PREMATURE_CLOSE");
  }

  #end(extra: boolean): void {
    this.#state = State.Idle;
    this.#generation++;
    this.#handler.onEnd(extra);
  }

  #fail(code: ResponseErrorCode): void {
    this.#state = State.Idle;
    this.#generation++;
    this.#handler.onError(code, this.#final);
  }

  #emit(data: Buffer, from: number, to: number): void {
    if (to > from) this.#handler.onBody(from === 0 && to === data.length ? data : data.subarray(from, to));
  }

  #resetHead(): void {
    this.#have = 0;
    this.#lineStart = 0;
    this.#lineCount = 0;
    this.#status = 0;
  }

  /** Scans for the end of the head; returns where the body starts in `data`, or -1 when this read is used up or the response is over. */
  #readHead(data: Buffer, offset: number): number {
    let b: Buffer;
    let base: number; // where the head's first byte is in `b`
    let from: number; // where to go on scanning in `b`
    let end: number; // scan no further in `b`
    const had = this.#have;
    if (had === 0) {
      b = data;
      base = offset;
      from = offset;
      end = Math.min(data.length, offset + headLimit);
    } else {
      b = this.#headBuffer!;
      const n = Math.min(data.length - offset, headLimit - had);
      data.copy(b, had, offset, offset + n);
      base = 0;
      from = had;
      end = had + n;
    }
    let lineStart = base + this.#lineStart;
    for (;;) {
      const lf = b.indexOf(10, from);
      if (lf === -1 || lf >= end) break;
      if (lf === lineStart || b[lf - 1] !== 13) {
        this.#fail(this.#status === 0 ? "BAD_STATUS_LINE" : "BAD_HEADER");
        return -1;
      }
      const cr = lf - 1;
      if (this.#status === 0) {
        if (!this.#statusLine(b, lineStart, cr, base)) return -1;
      } else if (cr === lineStart) {
        const headLength = lf + 1 - base;
        const bodyStart = had === 0 ? base + headLength : offset + headLength - had;
        return this.#headDone(b, base, headLength, data, bodyStart);
      } else if (!this.#headerLine(b, lineStart, cr, base)) {
        this.#fail("BAD_HEADER");
        return -1;
      }
      lineStart = from = lf + 1;
    }
    if (end - base >= headLimit) {
      this.#fail("HEAD_TOO_LARGE");
      return -1;
    }
    this.#lineStart = lineStart - base;
    if (had === 0) {
      this.#headBuffer ??= Buffer.allocUnsafe(headLimit);
      data.copy(this.#headBuffer, 0, offset, data.length);
      this.#have = data.length - offset;
    } else {
      this.#have = end;
    }
    return -1;
  }

  /** Checks `HTTP/1.x ddd reason` in `b[start..cr)`; reports BAD_STATUS_LINE or UNEXPECTED_UPGRADE itself. */
  #statusLine(b: Buffer, start: number, cr: number, base: number): boolean {
    const minor = b[start + 7]! - 0x30;
    const d0 = b[start + 9]! - 0x30;
    const d1 = b[start + 10]! - 0x30;
    const d2 = b[start + 11]! - 0x30;
    let ok =
      cr - start >= 13 &&
      b[start] === 0x48 && // H
      b[start + 1] === 0x54 && // T
      b[start + 2] === 0x54 && // T
      b[start + 3] === 0x50 && // P
      b[start + 4] === 0x2f && // /
      b[start + 5] === 0x31 && // 1
      b[start + 6] === 0x2e && // .
      (minor === 0 || minor === 1) &&
      b[start + 8] === 0x20 &&
      d0 >= 1 &&
      d0 <= 5 &&
      d1 >= 0 &&
      d1 <= 9 &&
      d2 >= 0 &&
      d2 <= 9 &&
      b[start + 12] === 0x20;
    for (let i = start + 13; ok && i < cr; i++) if ((byteClass[b[i]!]! & vchar) === 0) ok = false;
    if (!ok) {
      this.#fail("BAD_STATUS_LINE");
      return false;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    if (status === 101) {
      this.#fail("UNEXPECTED_UPGRADE");
      return false;
    }
    this.#status = status;
    this.#minor = minor;
    this.#reasonStart = start + 13 - base;
    this.#reasonEnd = cr - base;
    return true;
  }

  /** Checks `name: value` in `b[start..cr)` (RFC 9110 §5: tchar name, no space before the colon, no obs-fold, no CTL but HTAB) and records it. */
  #headerLine(b: Buffer, start: number, cr: number, base: number): boolean {
    let i = start;
    while (i < cr && (byteClass[b[i]!]! & tchar) !== 0) i++;
    if (i === start || i === cr || b[i] !== 0x3a) return false;
    const colon = i++;
    while (i < cr && (b[i] === 0x20 || b[i] === 0x09)) i++;
    const valueStart = i;
    let valueEnd = i;
    for (; i < cr; i++) {
      const c = b[i]!;
      if ((byteClass[c]! & vchar) === 0) return false;
      if (c !== 0x20 && c !== 0x09) valueEnd = i + 1;
    }
    const lines = this.#lines;
    const at = this.#lineCount;
    lines[at] = start - base;
    lines[at + 1] = colon - base;
    lines[at + 2] = valueStart - base;
    lines[at + 3] = valueEnd - base;
    this.#lineCount = at + 4;
    return true;
  }

  /** The head is complete in `b[base..base + length)`: builds it, reports it, and sets up the body. */
  #headDone(b: Buffer, base: number, length: number, data: Buffer, bodyStart: number): number {
    const text = b.toString("latin1", base, base + length);
    const lines = this.#lines;
    const out: string[] = [];
    let connection: string | undefined;
    let contentLength = -1;
    let chunked = false;
    let dateSeen = false;
    const lineCount = this.#lineCount;
    for (let l = 0; l < lineCount; l += 4) {
      const start = lines[l]!;
      const colon = lines[l + 1]!;
      const valueStart = lines[l + 2]!;
      const valueEnd = lines[l + 3]!;
      switch (kindOf(b, base + start, colon - start)) {
        case Kind.Plain:
          out.push(text.slice(start, colon), text.slice(valueStart, valueEnd));
          break;
        case Kind.Date:
          dateSeen = true;
          out.push(text.slice(start, colon), text.slice(valueStart, valueEnd));
          break;
        case Kind.Connection: {
          const value = text.slice(valueStart, valueEnd);
          connection = connection === undefined ? value : `${connection}, ${value}`;
          break;
        }
        case Kind.ContentLength: {
          const digits = valueEnd - valueStart;
          let value = digits === 0 || digits > 15 ? -1 : 0;
          for (let i = base + valueStart; value >= 0 && i < base + valueEnd; i++) {
            const d = b[i]! - 0x30;
            value = d >= 0 && d <= 9 ? value * 10 + d : -1;
          }
          if (value < 0 || (contentLength >= 0 && value !== contentLength)) return this.#badHead("BAD_FRAMING");
          if (contentLength < 0) out.push(text.slice(start, colon), text.slice(valueStart, valueEnd));
          contentLength = value;
          break;
        }
        case Kind.TransferEncoding:
          if (chunked || valueEnd - valueStart !== 7 || !sameLower(b, base + valueStart, "chunked")) return this.#badHead("BAD_FRAMING");
          chunked = true;
          out.push(text.slice(start, colon), text.slice(valueStart, valueEnd));
          break;
        default:
          break; // hop-by-hop
      }
    }
    const minor = this.#minor;
    // RFC 9112 §6.1: TE with CL, or TE in an HTTP/1.0 message, is faulty framing.
    if (chunked && (contentLength >= 0 || minor === 0)) return this.#badHead("BAD_FRAMING");

    let closeToken = false;
    let keepAliveToken = false;
    let hasDate = dateSeen;
    if (connection !== undefined) {
      const tokens = applyConnection(connection, out);
      closeToken = (tokens & Token.Close) !== 0;
      keepAliveToken = (tokens & Token.KeepAlive) !== 0;
      if ((tokens & Token.DropsDate) !== 0) hasDate = false;
    }

    const status = this.#status;
    const informational = status < 200;
    let framing: ResponseHead["framing"];
    if (informational || status === 204 || status === 304 || this.#requestWasHead) framing = "none";
    else if (chunked) framing = "chunked";
    else if (contentLength >= 0) framing = "length";
    else framing = "close";
    const head: ResponseHead = {
      status,
      reason: text.slice(this.#reasonStart, this.#reasonEnd),
      headers: out,
      framing,
      closes: closeToken || (minor === 0 && !keepAliveToken) || framing === "close",
      hasDate,
    };

    this.#resetHead();
    if (!informational) this.#final = true;
    const generation = this.#generation;
    this.#handler.onHead(head);
    if (generation !== this.#generation) return -1;
    if (informational) return bodyStart; // another head follows
    switch (framing) {
      case "none":
        this.#end(bodyStart < data.length);
        return -1;
      case "length":
        if (contentLength === 0) {
          this.#end(bodyStart < data.length);
          return -1;
        }
        this.#remaining = contentLength;
        this.#state = State.Length;
        return bodyStart;
      case "chunked":
        this.#chunked.reset();
        this.#state = State.Chunked;
        return bodyStart;
      default:
        this.#state = State.Close;
        return bodyStart;
    }
  }

  #badHead(code: ResponseErrorCode): number {
    this.#fail(code);
    return -1;
  }

  /** Walks chunked framing through `data` from `offset`; every byte up to the body's end (or a fault) goes to onBody as it is. */
  #readChunked(data: Buffer, offset: number): number {
    const scanner = this.#chunked;
    const end = scanner.scan(data, offset);
    const generation = this.#generation;
    this.#emit(data, offset, end);
    if (generation !== this.#generation) return -1;
    if (scanner.outcome === Outcome.Fault) this.#fail("BAD_CHUNK");
    else if (scanner.outcome === Outcome.Done) this.#end(end < data.length);
    return -1;
  }

  #readLength(data: Buffer, offset: number): number {
    const available = data.length - offset;
    if (available < this.#remaining) {
      this.#remaining -= available;
      this.#emit(data, offset, data.length);
      return -1;
    }
    const end = offset + this.#remaining;
    this.#remaining = 0;
    const generation = this.#generation;
    this.#emit(data, offset, end);
    if (generation === this.#generation) this.#end(end < data.length);
    return -1;
  }
}
