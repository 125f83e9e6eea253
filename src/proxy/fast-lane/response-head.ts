/**
 * What the fast lane's response reader makes of a response head: the ResponseHead it reports, how
 * each header name is classified (by its bytes, without decoding them), and what a Connection header
 * does to the headers relayed to the client.
 */
import { sameLower } from "./grammar.js";

export interface ResponseHead {
  status: number;
  /** The reason phrase as sent (may be empty). */
  reason: string;
  /**
   * Headers for the client, flat `[name, value, ...]` (latin1 strings as sent), with hop-by-hop ones
   * dropped: connection, keep-alive, proxy-connection, te, trailer, upgrade, and any header the
   * Connection header names (as `responseHeaders()` does). Transfer-Encoding (when exactly
   * "chunked") and Content-Length are kept, even when Connection names them: the body passes through
   * with the framing they describe. Repeated equal Content-Length headers are collapsed into the first.
   */
  headers: string[];
  /** How the body is framed: "none" (HEAD request, 1xx, 204, 304), "length", "chunked", or "close" (read until the upstream closes). */
  framing: "none" | "length" | "chunked" | "close";
  /** The upstream will not take another request on this connection (Connection: close, HTTP/1.0 without keep-alive, or framing "close"). */
  closes: boolean;
  /** Whether a Date header is among `headers`. */
  hasDate: boolean;
}

/** Header names the reader treats apart. */
export const enum Kind {
  Plain,
  Hop,
  Connection,
  ContentLength,
  TransferEncoding,
  Date,
}

export function kindOf(b: Buffer, at: number, length: number): Kind {
  switch (length) {
    case 2:
      return sameLower(b, at, "te") ? Kind.Hop : Kind.Plain;
    case 4:
      return sameLower(b, at, "date") ? Kind.Date : Kind.Plain;
    case 7:
      return sameLower(b, at, "upgrade") || sameLower(b, at, "trailer") ? Kind.Hop : Kind.Plain;
    case 10:
      return sameLower(b, at, "connection") ? Kind.Connection : sameLower(b, at, "keep-alive") ? Kind.Hop : Kind.Plain;
    case 14:
      return sameLower(b, at, "content-length") ? Kind.ContentLength : Kind.Plain;
    case 16:
      return sameLower(b, at, "proxy-connection") ? Kind.Hop : Kind.Plain;
    case 17:
      return sameLower(b, at, "transfer-encoding") ? Kind.TransferEncoding : Kind.Plain;
    default:
      return Kind.Plain;
  }
}

/** What applyConnection() found among a Connection header's tokens. */
export const enum Token {
  Close = 1,
  KeepAlive = 2,
  /** It names Date, which is then not relayed. */
  DropsDate = 4,
}

/**
 * Applies a response's Connection header (all of its values, joined) to the headers for the client:
 * removes the headers it names (as dropNamedBy() in ../headers.ts; Content-Length and
 * Transfer-Encoding stay, as the body keeps their framing). Returns its Token bits.
 */
export function applyConnection(connection: string, out: string[]): number {
  const lower = connection.toLowerCase();
  if (lower === "close") return Token.Close;
  if (lower === "keep-alive") return Token.KeepAlive;
  if (lower === "upgrade") return 0;
  const names = new Set(lower.split(",").map((t) => t.trim()));
  let tokens = (names.has("close") ? Token.Close : 0) | (names.has("keep-alive") ? Token.KeepAlive : 0);
  names.delete("upgrade");
  names.delete("content-length");
  names.delete("transfer-encoding");
  for (let i = out.length - 2; i >= 0; i -= 2) if (names.has(out[i]!.toLowerCase())) out.splice(i, 2);
  if (names.has("date")) tokens |= Token.DropsDate;
  return tokens;
}
