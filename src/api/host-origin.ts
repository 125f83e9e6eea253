import type { FastifyRequest } from "fastify";
import { EngineError } from "../core/index.js";

/** The names every listener answers to (with its own port). */
const loopbackNames = ["127.0.0.1", "localhost", "[::1]"];

/** `name` and `port` of a Host header (`[::1]:7070`, `localhost:7070`, `example.com`), lowercased. */
export function parseHost(header: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  return { name: match[1]!, port: match[2] === undefined ? undefined : Number(match[2]) };
}

/** The listener's own address as a Host name: `[v6]` in brackets, an IPv4-mapped v6 address as IPv4. */
function ownAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1];
  return address.includes(":") ? `[${address.toLowerCase()}]` : address;
}

/**
 * Refuses (HOST_REJECTED) a request whose Host is not the listener's own: a loopback name or the
 * address it was reached on, or one of `hosts`, at the listener's port. A page of another site
 * that a DNS-rebinding attack points at 127.0.0.1 sends its own name, and is refused here.
 */
export function checkHost(request: FastifyRequest, hosts: readonly string[]): void {
  const header = request.headers.host;
  const host = header === undefined ? undefined : parseHost(header);
  const port = request.socket.localPort; // undefined for requests injected in-process
  const shown = JSON.stringify(String(header ?? "").slice(0, 100));
  if (!host) throw new EngineError("HOST_REJECTED", `The request's Host ${header === undefined ? "is missing" : `${shown} is not a host name`}.`);
  const names = new Set([...loopbackNames, ...hosts.map((h) => h.toLowerCase())]);
  const local = ownAddress(request.socket.localAddress);
  if (local) names.add(local);
  const portMatches = port === undefined || host.port === port || (host.port === undefined && (port === 80 || port === 443));
  if (!names.has(host.name) || !portMatches) {
    throw new EngineError("HOST_REJECTED", `This API does not answer to Host ${shown}${port === undefined ? "" : ` (it listens on port ${port})`}.`);
  }
}

/**
 * Refuses (ORIGIN_REJECTED) a request with an `Origin` that is neither the API's own (as its Host
 * names it, already checked) nor one of `allowed`. Requests without Origin (CLI, agents) pass.
 */
export function checkOrigin(request: FastifyRequest, allowed: readonly string[], tls: boolean): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const own = `${tls ? "https" : "http"}://${String(request.headers.host).toLowerCase()}`;
  const given = origin.trim().toLowerCase();
  if (given === own || allowed.some((a) => a.toLowerCase() === given)) return;
  throw new EngineError("ORIGIN_REJECTED", `Requests from ${JSON.stringify(origin.slice(0, 100))} are not accepted (only ${[own, ...allowed].join(", ")}).`);
}
