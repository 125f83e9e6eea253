import type { TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";

/**
 * The dispatchers every http check shares, one verifying certificates and one not: keep-alive
 * pools per origin, pipelining 1. Connections are reused between runs of a check (and between
 * checks of one origin), which is what makes ten thousand checks cheap: a run costs one request on
 * an open socket, not a TCP and TLS handshake. A connection that the server closed is dropped from
 * the pool; a refused or failed one is detected at the very next run, which has to connect anew.
 * The price: `response_time` of a reused connection holds no connect time.
 */
const dispatchers = new Map<boolean, Agent>();

/** When the certificate of each https origin (`host:port`) last seen expires, epoch ms. */
const certificateExpiry = new Map<string, number>();

/** An idle connection is kept a minute when the server says nothing (it may say less, with `Keep-Alive: timeout=`). */
const keepAliveTimeout = 60_000;

/** The shared dispatcher, verifying TLS certificates or not. */
export function httpDispatcher(verify: boolean): Agent {
  let agent = dispatchers.get(verify);
  if (!agent) {
    const connector = buildConnector({ rejectUnauthorized: verify });
    agent = new Agent({
      pipelining: 1,
      // The check's own deadline bounds a run (runCheck aborts it); undici's 300 s defaults would
      // cut a long one short with a message of their own.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout,
      keepAliveMaxTimeout: 10 * keepAliveTimeout,
      // The certificate is read once per connection, when it is made, not on every request.
      connect: (options, callback) =>
        connector(options, (error, socket) => {
          if (!error && socket && "getPeerCertificate" in socket) {
            const validTo = Date.parse((socket as TLSSocket).getPeerCertificate().valid_to ?? "");
            if (Number.isFinite(validTo)) certificateExpiry.set(originKey(options.hostname, Number(options.port) || 443), validTo);
          }
          // buildConnector's callback type is a union of its two outcomes; pass it on as it came.
          (callback as (error: Error | null, socket: unknown) => void)(error, socket);
        }),
    });
    dispatchers.set(verify, agent);
  }
  return agent;
}

/** When the certificate of an https origin expires, epoch ms, as last seen on a new connection to it. */
export function certificateExpiresAt(hostname: string, port: number): number | undefined {
  return certificateExpiry.get(originKey(hostname, port));
}

/** `host:port`, an IPv6 address without its brackets (a URL has them, undici's connector not). */
function originKey(hostname: string, port: number): string {
  return `${hostname.replace(/^\[|\]$/g, "")}:${port}`;
}

/** Closes the shared connections (the engine stopping, a test ending); the next run opens new ones. */
export async function closeHttpDispatchers(): Promise<void> {
  const agents = [...dispatchers.values()];
  dispatchers.clear();
  certificateExpiry.clear();
  await Promise.all(agents.map((agent) => agent.destroy()));
}
