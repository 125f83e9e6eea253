/**
 * A strict HTTP/1.1 request-head parser for the fast lane. It accepts only heads in a small,
 * unambiguous subset (GET/HEAD, origin-form, no body, plain visible-ASCII headers), where its
 * reading is provably Node's (llhttp's): same method, target, header names and values, same end
 * of message. Anything else is `null`, and the bytes go to Node's HTTP server unchanged, so a
 * rejection is always safe and an acceptance must be exact.
 *
 * One pass over the bytes validates and records offsets; the strings needed (the whole head, then
 * slices of it) are made once at the end.
 */
import { sameLower } from "./grammar.js";

/** A request head the fast lane may serve itself. */
export interface RequestHead {
  method: "GET" | "HEAD";
  /** The request target as sent (origin-form, starts with "/"). */
  target: string;
  /** The Host header's value as sent (routing lower-cases and strips the port itself). */
  host: string;
  /** The client asked to close after this response (Connection: close). */
  close: boolean;
  /** Bytes of the head in the buffer, the final CRLFCRLF included. */
  length: number;
  /**
   * The head to send upstream, ready to write (latin1): the request line, the kept headers in order
   * as sent (`name: value\r\n`, OWS trimmed), then x-forwarded-for (the client's values joined by
   * ", ", then the client address), x-forwarded-proto and x-forwarded-host, then `\r\n`: exactly
   * what requestHeaders() keeps and adds.
   */
  upstreamHead: string;
}

/** The default bound on a head's bytes: Node's own default `maxHeaderSize`. */
export const defaultMaxHeadBytes = 16_384;

/** Header lines a fast-lane head may have. */
const maxHeaderLines = 100;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** What follows the target's SP on the request line. */
const versionLine = Buffer.from("HTTP/1.1\r\n", "latin1");

/** RFC 9110 tchar: 1 for the bytes a header name may have. */
const tchar = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") tchar[c.charCodeAt(0)] = 1;

const enum Kind {
  Plain,
  Host,
  ContentLength,
  Connection,
  ForwardedFor,
  /** Not forwarded: te, trailer, keep-alive, x-forwarded-host, x-forwarded-proto (set anew). */
  Dropped,
  /** Not for the fast lane: Transfer-Encoding, Upgrade, Expect, HTTP2-Settings, Proxy-Connection. */
  Refused,
}

/** As kindOf() in headers.ts: a name is only compared when its length is a special header's. */
function kindAt(buffer: Buffer, start: number, length: number): Kind {
  switch (length) {
    case 2:
      return sameLower(buffer, start, "te") ? Kind.Dropped : Kind.Plain;
    case 4:
      return sameLower(buffer, start, "host") ? Kind.Host : Kind.Plain;
    case 6:
      return sameLower(buffer, start, "expect") ? Kind.Refused : Kind.Plain;
    case 7:
      return sameLower(buffer, start, "upgrade") ? Kind.Refused : sameLower(buffer, start, "trailer") ? Kind.Dropped : Kind.Plain;
    case 10:
      return sameLower(buffer, start, "connection") ? Kind.Connection : sameLower(buffer, start, "keep-alive") ? Kind.Dropped : Kind.Plain;
    case 14:
      return sameLower(buffer, start, "content-length") ? Kind.ContentLength : sameLower(buffer, start, "http2-settings") ? Kind.Refused : Kind.Plain;
    case 15:
      return sameLower(buffer, start, "x-forwarded-for") ? Kind.ForwardedFor : Kind.Plain;
    case 16:
      // llhttp reads Proxy-Connection as a Connection header (its "close" ends the connection after
      // the response), so it is refused rather than dropped.
      return sameLower(buffer, start, "x-forwarded-host") ? Kind.Dropped : sameLower(buffer, start, "proxy-connection") ? Kind.Refused : Kind.Plain;
    case 17:
      return sameLower(buffer, start, "transfer-encoding") ? Kind.Refused : sameLower(buffer, start, "x-forwarded-proto") ? Kind.Dropped : Kind.Plain;
    default:
      return Kind.Plain;
  }
}

/**
 * Offsets of the kept lines, four per line: line start, line end (after its CRLF), and the value's
 * start and end, or -1, -1 when the line is already `name: value\r\n` and is copied whole. The
 * request line is entry 0. Reused: the parser is synchronous and the worker single-threaded.
 */
const kept = new Int32Array((maxHeaderLines + 1) * 4);
/** Value start and end of each X-Forwarded-For header, in order. */
const forwardedFor = new Int32Array(maxHeaderLines * 2);

interface Latin1Sliceable {
  /** Node's Buffer#latin1Slice (undocumented, used by Buffer#toString): one string, no argument checks. */
  latin1Slice(start: number, end: number): string;
}

/**
 * Parses the request head at the start of `buffer` if it is in the fast lane's strict subset.
 *
 * @returns the head; `undefined` when the bytes so far could start an accepted head but its end
 *   (CRLFCRLF) is not there yet and the buffer holds fewer than `maxHeadBytes` bytes (wait for more);
 *   `null` when the head is not for the fast lane (hand the bytes to Node's parser), which is known as
 *   soon as a byte breaks the subset or `maxHeadBytes` bytes hold no end. Bytes after the head are
 *   not looked at. `maxHeadBytes` must not exceed the HTTP server's `maxHeaderSize`, so that an
 *   accepted head is never one Node refuses as too large.
 * @example
 * const head = parseRequestHead(bytes, socket.remoteAddress ?? "");
 * if (head === undefined) return; // wait for more bytes
 * if (head === null) return handToNode(bytes);
 * upstream.write(head.upstreamHead, "latin1");
 */
export function parseRequestHead(buffer: Buffer, clientAddress: string, maxHeadBytes: number = defaultMaxHeadBytes): RequestHead | null | undefined {
  const end = Math.min(buffer.length, maxHeadBytes);
  /** The head goes past the bytes there are: wait, unless it has reached the bound. */
  const more = end >= maxHeadBytes ? null : undefined;

  // Request line: "GET " or "HEAD ", "/" and visible ASCII, " HTTP/1.1\r\n".
  let i: number;
  let method: "GET" | "HEAD";
  if (end < 4) return startsAnyMethod(buffer, end) ? more : null;
  if (buffer[0] === 0x47 && buffer[1] === 0x45 && buffer[2] === 0x54 && buffer[3] === SP) {
    method = "GET";
    i = 4;
  } else if (buffer[0] === 0x48 && buffer[1] === 0x45 && buffer[2] === 0x41 && buffer[3] === 0x44) {
    if (end < 5) return more;
    if (buffer[4] !== SP) return null;
    method = "HEAD";
    i = 5;
  } else {
    return null;
  }
  const targetStart = i;
  if (i >= end) return more;
  if (buffer[i] !== 0x2f) return null;
  for (i++; i < end; i++) {
    const c = buffer[i]!;
    if (c < 0x21 || c > 0x7e) break;
  }
  if (i >= end) return more;
  if (buffer[i] !== SP) return null;
  const targetEnd = i++;
  for (let k = 0; k < versionLine.length; k++, i++) {
    if (i >= end) return more;
    if (buffer[i] !== versionLine[k]) return null;
  }
  kept[0] = 0;
  kept[1] = i;
  kept[2] = -1;
  kept[3] = -1;
  let keptCount = 1;

  let lines = 0;
  let hostStart = -1;
  let hostEnd = -1;
  let contentLengths = 0;
  let connections = 0;
  let close = false;
  let forwardedCount = 0;

  for (;;) {
    if (i >= end) return more;
    const lineStart = i;
    if (buffer[i] === CR) {
      if (i + 1 >= end) return more;
      if (buffer[i + 1] !== LF) return null;
      i += 2;
      break;
    }
    if (++lines > maxHeaderLines) return null;

    // name ":" — an empty name (obs-fold's leading SP/HTAB among others) fails here.
    while (i < end && tchar[buffer[i]!] === 1) i++;
    if (i >= end) return more;
    const nameEnd = i;
    if (nameEnd === lineStart || buffer[i] !== COLON) return null;
    i++;

    // OWS value OWS CRLF: the value runs from its first to its last visible byte.
    while (i < end && (buffer[i] === SP || buffer[i] === HTAB)) i++;
    const valueStart = i;
    let valueEnd = i;
    for (; i < end; i++) {
      const c = buffer[i]!;
      if (c >= 0x21 && c <= 0x7e) valueEnd = i + 1;
      else if (c !== SP && c !== HTAB) break;
    }
    if (i >= end) return more;
    if (buffer[i] !== CR) return null;
    if (i + 1 >= end) return more;
    if (buffer[i + 1] !== LF) return null;
    i += 2;

    const valueLength = valueEnd - valueStart;
    switch (kindAt(buffer, lineStart, nameEnd - lineStart)) {
      case Kind.Plain:
        break;
      case Kind.Host:
        if (hostStart !== -1 || valueLength === 0) return null;
        hostStart = valueStart;
        hostEnd = valueEnd;
        break;
      case Kind.ContentLength:
        if (++contentLengths > 1 || valueLength !== 1 || buffer[valueStart] !== 0x30) return null;
        break;
      case Kind.Connection:
        if (++connections > 1) return null;
        if (valueLength === 5 && sameLower(buffer, valueStart, "close")) close = true;
        else if (valueLength !== 10 || !sameLower(buffer, valueStart, "keep-alive")) return null;
        continue; // never forwarded
      case Kind.ForwardedFor:
        forwardedFor[forwardedCount * 2] = valueStart;
        forwardedFor[forwardedCount * 2 + 1] = valueEnd;
        forwardedCount++;
        continue;
      case Kind.Dropped:
        continue;
      case Kind.Refused:
        return null;
    }
    const at = keptCount++ * 4;
    kept[at] = lineStart;
    kept[at + 1] = i;
    const canonical = valueStart === nameEnd + 2 && buffer[nameEnd + 1] === SP && valueEnd === i - 2;
    kept[at + 2] = canonical ? -1 : valueStart;
    kept[at + 3] = canonical ? -1 : valueEnd;
  }
  if (hostStart === -1) return null;

  const length = i;
  const text = (buffer as unknown as Latin1Sliceable).latin1Slice(0, length);
  const host = text.slice(hostStart, hostEnd);

  // Runs of adjacent lines that are already canonical are copied as one slice.
  let upstreamHead = "";
  let runStart = 0;
  let runEnd = 0;
  for (let k = 0; k < keptCount; k++) {
    const at = k * 4;
    const lineStart = kept[at]!;
    const valueStart = kept[at + 2]!;
    if (valueStart === -1) {
      if (lineStart !== runEnd) {
        upstreamHead += text.slice(runStart, runEnd);
        runStart = lineStart;
      }
      runEnd = kept[at + 1]!;
    } else {
      upstreamHead += text.slice(runStart, runEnd);
      runStart = runEnd = kept[at + 1]!;
      upstreamHead += `${text.slice(lineStart, text.indexOf(":", lineStart))}: ${text.slice(valueStart, kept[at + 3]!)}\r\n`;
    }
  }
  upstreamHead += text.slice(runStart, runEnd);

  let forwarded = "";
  for (let k = 0; k < forwardedCount; k++) forwarded += `${text.slice(forwardedFor[k * 2]!, forwardedFor[k * 2 + 1]!)}, `;
  upstreamHead += `x-forwarded-for: ${forwarded}${clientAddress}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${host}\r\n\r\n`;

  return { method, target: text.slice(targetStart, targetEnd), host, close, length, upstreamHead };
}

/** Whether the first `end` (< 4) bytes begin "GET " or "HEAD ". */
function startsAnyMethod(buffer: Buffer, end: number): boolean {
  return startsWith(buffer, end, "GET ") || startsWith(buffer, end, "HEAD ");
}

function startsWith(buffer: Buffer, end: number, text: string): boolean {
  for (let k = 0; k < end; k++) if (buffer[k] !== text.charCodeAt(k)) return false;
  return true;
}
