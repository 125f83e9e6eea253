/**
 * WebSocket (and any other HTTP/1.1 Upgrade) requests. The rewritten request goes to a fresh
 * upstream connection; only a 101 answer starts a tunnel, whose bytes are then piped both ways
 * until either side closes. Any other answer is relayed as a normal response, after which the
 * client connection goes back to the HTTP server, so its next request is parsed, routed and
 * rewritten like any other (no raw tunnel to an app that declined the upgrade).
 *
 * A tunnel counts as one request of its release, with the status of the upstream's answer (101
 * normally), its latency the time to that answer, and it is in flight until it closes. A declined
 * upgrade counts as the response it was, its latency the time to its end.
 */
import { request as httpRequest, ServerResponse, type ClientRequest, type IncomingMessage, type Server } from "node:http";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { answerText, defaultHungUpstreamMs, isTimeout, routeRequest, routed, type ForwarderOptions, type RouteTarget } from "./forward.js";
import { responseHeaderStrings } from "./headers.js";
import type { RouteIndex } from "./route-table.js";

function rawAnswer(socket: Duplex, status: number): void {
  const text = answerText[status]!;
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
}

/** The head of a 101 answer as the upstream sent it (its Upgrade and Connection headers included). */
function switchingHead(res: IncomingMessage): string {
  let text = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ""}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${text}\r\n`;
}

/**
 * Builds the worker's 'upgrade' listener; `table()` as for createForwarder. After a declined upgrade
 * the connection goes back to `options.server`, or to the server the listener is called on (`this`,
 * as `server.on("upgrade", ...)` calls it); with neither, it is closed after the answer.
 */
export function createUpgrader(
  table: () => RouteIndex<RouteTarget>,
  timeoutMs: number,
  options: ForwarderOptions & { server?: Server } = {},
): (this: unknown, req: IncomingMessage, client: Duplex, head: Buffer) => void {
  const hungMs = options.hungUpstreamMs ?? defaultHungUpstreamMs;
  return function upgrade(this: unknown, req, client, head) {
    const httpServer = options.server ?? (this instanceof EventEmitter ? (this as Server) : undefined);
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

    const outgoing: ClientRequest = httpRequest({
      host: upstream.host,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      setHost: false,
      agent: false,
    });
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(Object.assign(new Error("upstream timed out"), { code: "ETIMEDOUT" })));

    outgoing.once("upgrade", (res: IncomingMessage, server: Socket, upstreamHead: Buffer) => {
      answered = true;
      release.response(res.statusCode ?? 101, performance.now() - start, Date.now());
      server.setTimeout(0);
      client.write(switchingHead(res), "latin1");
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) server.write(head);
      server.pipe(client);
      client.pipe(server);
      const close = () => {
        // A clean end was already passed on by pipe(); let it flush rather than cut it.
        if (!client.writableEnded) client.destroy();
        server.destroy();
        end();
      };
      server.on("error", close);
      server.on("close", close);
      client.on("close", close);
    });

    outgoing.once("response", (upstreamRes: IncomingMessage) => {
      // The app declined the upgrade: an ordinary answer, then HTTP goes on on this connection.
      answered = true;
      const socket = client as Socket;
      const res = new ServerResponse(req);
      if (/\bclose\b/i.test(req.headers.connection ?? "")) res.shouldKeepAlive = false;
      res.assignSocket(socket);
      const status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, upstreamRes.statusMessage, responseHeaderStrings(upstreamRes.rawHeaders));
      upstreamRes.pipe(res);
      upstreamRes.on("error", () => res.destroy());
      res.once("finish", () => {
        release.response(status, performance.now() - start, Date.now());
        end();
        res.detachSocket(socket);
        socket.off("error", onClientError);
        socket.off("close", onClientClose);
        if (!res.shouldKeepAlive || socket.destroyed || httpServer === undefined) return void socket.end();
        if (head.length > 0) socket.unshift(head);
        httpServer.emit("connection", socket);
      });
      res.once("close", () => {
        if (ended) return;
        // Cut before the end: by the upstream (its error) or the client (gone).
        if (upstreamRes.complete) release.clientAbort(Date.now());
        else release.upstreamError(performance.now() - start, Date.now());
        end();
        socket.destroy();
        outgoing.destroy();
      });
    });

    // Before the upstream answered, a failure gets a proper 502/504.
    outgoing.on("error", (error: Error) => {
      if (answered || ended) return;
      if (client.destroyed) return;
      const timedOut = isTimeout(error);
      rawAnswer(client, timedOut ? 504 : 502);
      release.upstreamError(performance.now() - start, Date.now(), timedOut);
      end();
    });
    outgoing.end();

    const onClientError = () => client.destroy();
    const onClientClose = () => {
      if (ended || answered) return;
      const ms = performance.now() - start;
      // As for a plain request: a client giving up on an upstream silent this long is the upstream's error.
      if (ms >= hungMs) release.upstreamError(ms, Date.now(), true);
      else release.clientAbort(Date.now());
      end();
      outgoing.destroy();
    };
    client.on("error", onClientError);
    client.on("close", onClientClose);
  };
}
