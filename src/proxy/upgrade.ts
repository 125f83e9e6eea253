/**
 * WebSocket (and any other HTTP/1.1 Upgrade) tunnels: the request head is rewritten and written to
 * a fresh upstream connection, then bytes are piped both ways until either side closes. A tunnel
 * counts as one request of its release, with the status of the upstream's answer (101 normally),
 * its latency the time to that answer, and it is in flight until it closes.
 */
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { answerText, isTimeout, routeRequest, routed, type RouteTarget } from "./forward.js";
import type { RouteIndex } from "./route-table.js";

function rawAnswer(socket: Duplex, status: number): void {
  const text = answerText[status]!;
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
}

/** Builds the worker's 'upgrade' listener; `table()` as for createForwarder. */
export function createUpgrader(
  table: () => RouteIndex<RouteTarget>,
  timeoutMs: number,
): (req: IncomingMessage, client: Duplex, head: Buffer) => void {
  return (req, client, head) => {
    const start = performance.now();
    const refused = routeRequest(table(), req, true, start);
    if (refused !== 0) return rawAnswer(client, refused);
    const { headers, release, upstream } = routed;

    let answered = false;
    let ended = false;
    release.inFlight++;
    upstream.enter();
    const end = () => {
      if (ended) return;
      ended = true;
      release.inFlight--;
      upstream.leave();
    };

    const server: Socket = connect({ host: upstream.host, port: upstream.port });
    server.setTimeout(timeoutMs);
    server.once("connect", () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      server.write(`${text}\r\n`, "latin1");
      if (head.length > 0) server.write(head);
      client.pipe(server);
    });
    server.once("data", (first: Buffer) => {
      answered = true;
      server.setTimeout(0);
      // "HTTP/1.1 101 ..." — the status code is bytes 9 to 11.
      const status = Number(first.toString("latin1", 9, 12)) || 502;
      release.response(status, performance.now() - start, Date.now());
    });
    server.pipe(client);
    // Before the upstream answered, a failure gets a proper 502/504; after, it just ends the tunnel.
    const fail = (error?: Error) => {
      if (ended) return;
      // A clean upstream end was already passed on by pipe(); let it flush rather than cut it.
      if (answered) {
        if (!client.writableEnded) client.destroy();
      } else if (client.destroyed) release.clientAbort(Date.now());
      else {
        rawAnswer(client, isTimeout(error) ? 504 : 502);
        release.upstreamError(performance.now() - start, Date.now());
      }
      end();
      server.destroy();
    };
    server.on("timeout", () => fail(Object.assign(new Error("upstream timed out"), { code: "ETIMEDOUT" })));
    server.on("error", fail);
    server.on("close", () => fail());
    client.on("error", () => client.destroy());
    client.on("close", () => {
      if (ended) return;
      if (!answered) release.clientAbort(Date.now());
      end();
      server.destroy();
    });
  };
}
