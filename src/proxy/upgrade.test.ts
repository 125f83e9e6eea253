import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { after, before, test } from "node:test";
import { eventually, route, startProxy, startUpstream, total, type StartedProxy, type TestUpstream } from "./test-support.js";

const acceptFor = (key: string) => createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B65`).digest("base64");

let p: StartedProxy;
let echo: TestUpstream;
let seenHeaders: IncomingMessage["headers"] | undefined;

before(async () => {
  // A minimal WebSocket endpoint: the RFC 6455 handshake, then it echoes raw bytes back.
  echo = await startUpstream("ws");
  echo.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    seenHeaders = req.headers;
    const key = req.headers["sec-websocket-key"] as string;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  p = await startProxy();
  await p.proxy.apply([route([echo], { releaseId: "rel_ws" })]);
});

after(async () => {
  await p.proxy.stop(500);
  await echo.close();
});

function upgrade(path: string): Promise<{ res: IncomingMessage; socket: Socket; key: string }> {
  const key = randomBytes(16).toString("base64");
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port: p.port,
      path,
      headers: { host: "app.test", connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": key, "sec-websocket-version": "13" },
    });
    req.on("upgrade", (res, socket) => resolve({ res, socket, key }));
    req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
}

test("a WebSocket upgrade goes through and bytes flow both ways", async () => {
  const { res, socket, key } = await upgrade("/chat");
  assert.equal(res.statusCode, 101);
  assert.equal(res.headers["sec-websocket-accept"], acceptFor(key));
  assert.equal(seenHeaders?.upgrade, "websocket");
  assert.equal(seenHeaders?.["x-forwarded-for"], "127.0.0.1");

  for (const message of ["ping", "pong and more"]) {
    socket.write(message);
    const got = await new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
    assert.equal(got, message);
  }
  assert.equal(await p.proxy.inFlight("rel_ws"), 1, "an open tunnel is in flight");
  socket.destroy();
  await eventually(async () => (await p.proxy.inFlight("rel_ws")) === 0, 2_000, "tunnel closed");
  await eventually(() => total(p.buckets, "rel_ws")["1xx"] === 1, 3_000, "the upgrade counted as a 1xx");
});

test("an upgrade to a route whose upstream is down answers 502", async () => {
  const gone = await startUpstream("gone");
  await gone.close();
  await p.proxy.apply([route([gone], { releaseId: "rel_ws_down" })]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: p.port, path: "/", headers: { host: "app.test", connection: "Upgrade", upgrade: "websocket" } });
    req.on("response", (res) => resolve(res.statusCode!));
    req.on("upgrade", () => reject(new Error("upgraded")));
    req.on("error", reject);
    req.end();
  });
  assert.equal(status, 502);
  await eventually(() => total(p.buckets, "rel_ws_down").upstreamErrors === 1, 3_000, "upstream error counted");
});
