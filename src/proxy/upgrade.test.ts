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

/** Reads one HTTP response with a content-length body off a raw socket. */
function readResponse(socket: Socket): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buffered.slice(0, end);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      socket.off("data", onData);
      resolve({ head, body: buffered.slice(end + 4, end + 4 + length) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

test("an upgrade the app answers with 200 is a normal response; the next request on the connection is routed and rewritten", async () => {
  const declines = await startUpstream("declines", (req, res) => {
    res.end(`plain ${req.url}`);
    return true;
  });
  const other = await startUpstream("other", (req, res) => {
    res.end(JSON.stringify({ url: req.url, xff: req.headers["x-forwarded-for"], proto: req.headers["x-forwarded-proto"] }));
    return true;
  });
  try {
    await p.proxy.apply([route([declines], { releaseId: "rel_declines" }), route([other], { releaseId: "rel_other", host: "other.test" })]);
    const { connect } = await import("node:net");
    const socket = connect({ host: "127.0.0.1", port: p.port });
    await new Promise((r) => socket.once("connect", r));
    const upgradeHead = "GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    const next = "GET /next HTTP/1.1\r\nHost: other.test\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n";
    socket.write(upgradeHead);
    const first = await readResponse(socket);
    assert.match(first.head, /^HTTP\/1\.1 200/);
    assert.equal(first.body, "plain /ws");
    socket.write(next);
    const second = await readResponse(socket);
    assert.deepEqual(JSON.parse(second.body), { url: "/next", xff: "203.0.113.9, 127.0.0.1", proto: "http" });
    // Pipelined right behind the declined upgrade, in the same packet: routed all the same.
    socket.write(upgradeHead + next);
    assert.equal((await readResponse(socket)).body, "plain /ws");
    assert.equal(JSON.parse((await readResponse(socket)).body).url, "/next");
    socket.destroy();
    await eventually(() => total(p.buckets, "rel_declines")["2xx"] === 2 && total(p.buckets, "rel_other")["2xx"] === 2, 3_000, "both counted as answers");
    assert.equal(await p.proxy.inFlight("rel_declines"), 0);
  } finally {
    await declines.close();
    await other.close();
  }
});
