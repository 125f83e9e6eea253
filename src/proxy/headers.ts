/**
 * Header rewriting on the hot path. Headers stay flat `[name, value, name, value, ...]` arrays, the
 * form both Node (`req.rawHeaders`, `res.writeHead`) and undici (`headers`, raw response headers)
 * use, so nothing is rebuilt into objects. Names are only lower-cased when their length says they
 * might be one of the few headers the proxy cares about.
 */
import type { IncomingMessage } from "node:http";

const enum Kind {
  Plain,
  /** Hop-by-hop: never forwarded (RFC 9110 §7.6.1). */
  Hop,
  Connection,
  Upgrade,
  Host,
  ContentLength,
  TransferEncoding,
  /** undici rejects `expect`; Node's server already answered any 100-continue itself. */
  Expect,
  ForwardedFor,
  ForwardedHost,
  ForwardedProto,
}

function kindOf(name: string): Kind {
  switch (name.length) {
    case 2:
      return name.toLowerCase() === "te" ? Kind.Hop : Kind.Plain;
    case 4:
      return name.toLowerCase() === "host" ? Kind.Host : Kind.Plain;
    case 6:
      return name.toLowerCase() === "expect" ? Kind.Expect : Kind.Plain;
    case 7: {
      const lower = name.toLowerCase();
      return lower === "upgrade" ? Kind.Upgrade : lower === "trailer" ? Kind.Hop : Kind.Plain;
    }
    case 10: {
      const lower = name.toLowerCase();
      return lower === "connection" ? Kind.Connection : lower === "keep-alive" ? Kind.Hop : Kind.Plain;
    }
    case 14:
      return name.toLowerCase() === "content-length" ? Kind.ContentLength : Kind.Plain;
    case 15:
      return name.toLowerCase() === "x-forwarded-for" ? Kind.ForwardedFor : Kind.Plain;
    case 16: {
      const lower = name.toLowerCase();
      return lower === "x-forwarded-host" ? Kind.ForwardedHost : lower === "proxy-connection" ? Kind.Hop : Kind.Plain;
    }
    case 17: {
      const lower = name.toLowerCase();
      return lower === "transfer-encoding" ? Kind.TransferEncoding : lower === "x-forwarded-proto" ? Kind.ForwardedProto : Kind.Plain;
    }
    default:
      return Kind.Plain;
  }
}

/** What requestHeaders() learnt besides the headers; reused, because the worker is single-threaded. */
export const requestFacts = { host: undefined as string | undefined, hasBody: false };

/**
 * The headers to send upstream for a client request: hop-by-hop headers dropped (and any header the
 * Connection header names), X-Forwarded-For appended to, X-Forwarded-Proto and -Host set. The Host
 * header is kept, so the release sees the name the client asked for. With `upgrade`, Connection and
 * Upgrade are kept, for a WebSocket handshake. Sets `requestFacts`.
 */
export function requestHeaders(req: IncomingMessage, upgrade: boolean): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let connection: string | undefined;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (kindOf(name)) {
      case Kind.Plain:
        out.push(name, value);
        break;
      case Kind.Host:
        host = value;
        out.push(name, value);
        break;
      case Kind.ContentLength:
        if (value !== "0") hasBody = true;
        out.push(name, value);
        break;
      case Kind.TransferEncoding:
        // undici frames a streamed body itself.
        hasBody = true;
        break;
      case Kind.ForwardedFor:
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case Kind.Connection:
        connection = connection === undefined ? value : `${connection}, ${value}`;
        if (upgrade) out.push(name, value);
        break;
      case Kind.Upgrade:
        if (upgrade) out.push(name, value);
        break;
      default:
        break; // hop-by-hop, Expect, and the X-Forwarded-Host/-Proto we set below
    }
  }
  if (connection !== undefined) dropNamedBy(connection, out);
  const client = req.socket.remoteAddress ?? "";
  out.push("x-forwarded-for", forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  out.push("x-forwarded-proto", "http");
  if (host !== undefined) out.push("x-forwarded-host", host);
  requestFacts.host = host;
  requestFacts.hasBody = hasBody;
  return out;
}

/** Whether a response header of this kind goes on to the client (Node frames the body and its own connection). */
function relayedToClient(kind: Kind): boolean {
  return kind !== Kind.Hop && kind !== Kind.TransferEncoding && kind !== Kind.Upgrade;
}

/** A response header name seen before, and the last value it had: most responses repeat them. */
interface KnownName {
  name: string;
  kind: Kind;
  lastValue: string;
}

/** Response header names by length, first and last byte; bounded, so odd names cannot grow it. */
const knownNames = new Map<number, KnownName[]>();
let knownCount = 0;
const maxKnown = 256;

/** True when `text` has exactly the bytes of `bytes` (latin1: one char per byte). */
function sameText(text: string, bytes: Buffer): boolean {
  const length = bytes.length;
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

function knownName(bytes: Buffer): KnownName {
  const length = bytes.length;
  const key = length === 0 ? 0 : (length << 16) | (bytes[0]! << 8) | bytes[length - 1]!;
  let list = knownNames.get(key);
  if (list !== undefined) for (let i = 0; i < list.length; i++) if (sameText(list[i]!.name, bytes)) return list[i]!;
  // latin1 maps bytes 1:1, and Node writes header strings back as latin1: the bytes pass unchanged.
  const name = bytes.toString("latin1");
  const known = { name, kind: kindOf(name), lastValue: "" };
  if (knownCount < maxKnown) {
    if (list === undefined) knownNames.set(key, (list = []));
    list.push(known);
    knownCount++;
  }
  return known;
}

/**
 * The headers to send the client for an upstream response (undici's raw Buffers), hop-by-hop ones
 * dropped. Decoding each Buffer was a measurable share of a request's CPU; names and values that
 * repeat the previous response's are taken from a small cache instead.
 */
export function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const known = knownName(raw[i]!);
    const bytes = raw[i + 1]!;
    let value = known.lastValue;
    if (!sameText(value, bytes)) known.lastValue = value = bytes.toString("latin1");
    const kind = known.kind;
    if (kind === Kind.Connection) connection = value;
    else if (relayedToClient(kind)) out.push(known.name, value);
  }
  if (connection !== undefined) dropNamedBy(connection, out);
  return out;
}

/** As responseHeaders(), for a response Node's own HTTP client parsed (`rawHeaders`, strings). */
export function responseHeaderStrings(raw: string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const kind = kindOf(name);
    if (kind === Kind.Connection) connection = raw[i + 1]!;
    else if (relayedToClient(kind)) out.push(name, raw[i + 1]!);
  }
  if (connection !== undefined) dropNamedBy(connection, out);
  return out;
}

/** Removes from `out` the headers a Connection header lists (other than its own keywords). */
function dropNamedBy(connection: string, out: string[]): void {
  const lower = connection.toLowerCase();
  if (lower === "keep-alive" || lower === "close" || lower === "upgrade") return; // the usual case
  const names = new Set(lower.split(",").map((t) => t.trim()));
  names.delete("upgrade"); // kept for a handshake; dropped already otherwise
  for (let i = out.length - 2; i >= 0; i -= 2) if (names.has(out[i]!.toLowerCase())) out.splice(i, 2);
}
