import assert from "node:assert/strict";
import { Agent } from "node:http";
import { connect, createServer, type AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { startForwarder, totals, type InProcessForwarder } from "../hotpath-support.js";
import { RouteIndex } from "../route-table.js";
import type { RouteTarget } from "../forward.js";
import { FastLane } from "./lane.js";
import { eventually, route, send, upstreamSet } from "../test-support.js";

let f: InProcessForwarder;
const upstreams = upstreamSet();
const up = upstreams.start;

before(async () => {
  f = await startForwarder({ timeoutMs: 600, hungUpstreamMs: 400, fastLane: true });
});

after(async () => {
  await f.close();
  await upstreams.closeAll();
});

/**
 * Writes `bytes` on one connection to the proxy (parts `gapMs` apart; with `halfClose`, the last one
 * with the client's side closed after it) and returns everything it answered until it closed the connection.
 */
function exchange(bytes: string | string[], gapMs = 0, halfClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(f.port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    let i = 0;
    const next = () => {
      const part = parts[i++]!;
      if (i < parts.length) {
        socket.write(part);
        setTimeout(next, gapMs);
      } else if (halfClose) socket.end(part);
      else socket.write(part);
    };
    next();
    setTimeout(() => socket.destroy(new Error(`no end of answer: ${JSON.stringify(answer)}`)), 5_000).unref();
  });
}

/** The status lines and bodies of answers framed by Content-Length, in order. */
function answers(text: string): { status: number; headers: string; body: string }[] {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status: Number(head.slice(9, 12)), headers: head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

test("GET and HEAD go through the lane: forwarded headers set, hop-by-hop ones dropped, keep-alive kept", async () => {
  const app = await up("lane-app");
  f.apply([route([app], { releaseId: "rel_lane" })]);
  const served = f.lane!.served;
  const text = await exchange(
    "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 10.0.0.1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Custom: yes\r\n\r\n" +
      "HEAD /h HTTP/1.1\r\nHost: app.test\r\n\r\n" +
      "GET /c HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
  );
  assert.equal(f.lane!.served - served, 3, "all three requests were the lane's");
  assert.deepEqual(
    app.seen.map((req) => [req.method, req.url]),
    [
      ["GET", "/a?b=1"],
      ["HEAD", "/h"],
      ["GET", "/c"],
    ],
  );
  const first = app.seen[0]!;
  assert.equal(first.headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
  assert.equal(first.headers["x-forwarded-proto"], "http");
  assert.equal(first.headers["x-forwarded-host"], "app.test");
  assert.equal(first.headers["x-custom"], "yes");
  assert.equal(first.headers["keep-alive"], undefined);
  assert.equal(first.headers.te, undefined);
  // Three answers on the one connection; HEAD's has no body although the upstream framed one.
  const heads = text.split("HTTP/1.1 ").slice(1);
  assert.equal(heads.length, 3, text);
  assert.match(heads[0]!, /^200 OK\r\n/);
  assert.match(heads[0]!, /\r\nconnection: keep-alive\r\n/i);
  assert.match(heads[0]!, /\r\n\r\nlane-app$/);
  assert.match(heads[1]!, /^200 OK\r\n[^]*\r\n\r\n$/);
  assert.match(heads[2]!, /\r\nconnection: close\r\n[^]*lane-app$/i);
  const sum = totals(f.buckets(), "rel_lane");
  assert.deepEqual([sum["2xx"], sum.latency, f.inFlight("rel_lane")], [3, 3, 0]);
});

test("a client that closes its side right after its request still gets the whole answer", async () => {
  const slow = await up("lane-half", (req, res) => {
    setTimeout(() => res.end("late but whole"), 50);
    return true;
  });
  f.apply([route([slow], { releaseId: "rel_half" })]);
  const text = await exchange("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n", 0, true);
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nlate but whole$/);
  assert.equal(totals(f.buckets(), "rel_half")["2xx"], 1);
});

test("a request the lane does not take (a body) hands the connection to Node's server, bytes intact, and it goes on", async () => {
  const echo = await up("lane-echo", (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => res.end(`${req.method} ${req.url} [${body}]`));
    return true;
  });
  f.apply([route([echo], { releaseId: "rel_handoff" })]);
  const [served, handedOff] = [f.lane!.served, f.lane!.handedOff];
  const text = await exchange([
    "GET /one HTTP/1.1\r\nHost: app.test\r\n\r\n",
    // The POST and the GET after it arrive in one read: both must reach Node's parser.
    "POST /two HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello" + "GET /three HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
  ], 100);
  assert.deepEqual(
    answers(text).map((a) => [a.status, a.body]),
    [
      [200, "GET /one []"],
      [200, "POST /two [hello]"],
      [200, "GET /three []"],
    ],
  );
  assert.equal(f.lane!.served - served, 1);
  assert.equal(f.lane!.handedOff - handedOff, 1);
});

test("chunked, 204 and close-delimited answers pass through whole; a chunked one keeps the connection", async () => {
  const app = await up("lane-kinds", (req, res) => {
    if (req.url === "/chunked") {
      res.write("part one, ");
      setTimeout(() => res.end("part two"), 20);
    } else if (req.url === "/empty") {
      res.writeHead(204);
      res.end();
    } else {
      // No length, no chunking: the body ends when the upstream closes the connection.
      res.socket!.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end");
      res.socket!.destroySoon();
    }
    return true;
  });
  f.apply([route([app], { releaseId: "rel_kinds" })]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const chunked = await send(f.port, "/chunked", { agent });
    assert.deepEqual([chunked.status, chunked.body, chunked.headers["transfer-encoding"]], [200, "part one, part two", "chunked"]);
    const empty = await send(f.port, "/empty", { agent });
    assert.deepEqual([empty.status, empty.body], [204, ""]);
    const closing = await send(f.port, "/close", { agent });
    assert.deepEqual([closing.status, closing.body, closing.headers.connection], [200, "until the end", "close"]);
  } finally {
    agent.destroy();
  }
  assert.equal(totals(f.buckets(), "rel_kinds")["2xx"], 3);
});

test("a large answer to a slow client arrives whole and in order (upstream paused while the client drains)", async () => {
  // 24 MiB (more than loopback sockets hold in the kernel) of a counting pattern, in 4 KiB writes
  // one per turn of the upstream's event loop: the proxy reads it in small pieces while its writes
  // to the paused client back up, so a byte out of place or overwritten (the shared read buffer
  // reused before a queued write went out) shows.
  const body = Buffer.alloc(24 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
  const big = await up("lane-big", (req, res) => {
    res.writeHead(200, { "content-length": body.length });
    let at = 0;
    const more = (): void => {
      if (at >= body.length) return void res.end();
      if (res.write(body.subarray(at, (at += 4 * 1024)))) setImmediate(more);
      else res.once("drain", more);
    };
    more();
    return true;
  });
  f.apply([route([big], { releaseId: "rel_big" })]);
  const received = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(f.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let paused = false;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // Reads nothing for a while once, so the proxy's writes to it back up.
      if (!paused) {
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), 300);
      }
    });
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.on("error", reject);
    socket.write("GET /big HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
  });
  const headEnd = received.indexOf("\r\n\r\n") + 4;
  assert.match(received.subarray(0, headEnd).toString("latin1"), /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(received.length - headEnd, body.length);
  assert.ok(received.subarray(headEnd).equals(body), "the body arrived byte for byte");
});

test("a malformed answer (two different Content-Lengths) is a 502 counted as an upstream error", async () => {
  const broken = createServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"));
  await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
  try {
    const port = (broken.address() as AddressInfo).port;
    f.apply([{ ...route([]), releaseId: "rel_malformed", upstreams: [{ host: "127.0.0.1", port, instanceId: "broken" }] }]);
    const answer = await send(f.port, "/");
    assert.deepEqual([answer.status, answer.body], [502, "bad gateway\n"]);
    const sum = totals(f.buckets(), "rel_malformed");
    assert.deepEqual([sum["5xx"], sum.upstreamErrors], [0, 1]);
  } finally {
    broken.close();
  }
});

test("an upstream silent past upstreamTimeoutMs is answered 504 and counted as a timeout", async () => {
  const silent = await up("lane-silent", () => true);
  f.apply([route([silent], { releaseId: "rel_silent" })]);
  const answer = await send(f.port, "/");
  assert.deepEqual([answer.status, answer.body], [504, "gateway timeout\n"]);
  const sum = totals(f.buckets(), "rel_silent");
  assert.deepEqual([sum.upstreamErrors, sum.upstreamTimeouts], [1, 1]);
  assert.equal(f.inFlight("rel_silent"), 0);
});

test("an idle connection is closed after keepAliveMs, a head left unfinished after headersTimeoutMs", async () => {
  const table = new RouteIndex<RouteTarget>(0, [], () => undefined as never);
  const lane = new FastLane(() => table, (socket) => socket.destroy(), { upstreamTimeoutMs: 1_000, keepAliveMs: 300, headersTimeoutMs: 600 });
  const server = createServer((socket) => lane.adopt(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  /** Opens a connection, writes `bytes`, and resolves with how long the lane kept it open. */
  const openFor = (bytes: string) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
      socket.on("close", () => resolve(performance.now() - started));
      socket.on("error", reject);
      setTimeout(() => socket.destroy(new Error("still open after 5 s")), 5_000).unref();
    });
  try {
    const [idle, partial] = await Promise.all([openFor(""), openFor("GET / HTTP/1.1\r\nHo")]);
    // The lane looks at its connections about once a second.
    assert.ok(idle >= 300 && idle < 2_500, `idle connection closed after ${idle} ms`);
    assert.ok(partial >= 600 && partial < 2_800, `unfinished head closed after ${partial} ms`);
    await eventually(() => lane.connections.size === 0, 2_000, "the lane to forget closed connections");
  } finally {
    lane.close();
    server.close();
  }
});

test("the lane and the regular path give the same answers and send the same requests upstream", async () => {
  const regular = await startForwarder({ timeoutMs: 600, hungUpstreamMs: 400, fastLane: false });
  try {
    // Echoes what it got: method, target and headers (names in lower case, less the connection's own,
    // which undici sets, and a `content-length: 0`, which the lane passes on and undici leaves out of
    // a request without a body), and answers with headers of its own, one hop-by-hop that the proxies drop.
    const echo = await up("lane-parity", (req, res) => {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        const value = req.rawHeaders[i + 1]!;
        if (name !== "connection" && name !== "keep-alive" && !(name === "content-length" && value === "0")) headers.push(name, value);
      }
      const body = JSON.stringify({ method: req.method, url: req.url, headers });
      res.writeHead(req.url === "/missing" ? 404 : 200, "Fine", { "x-app": "1", "content-type": "application/json", "x-drop-me": "1", connection: "x-drop-me", "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
      return true;
    });
    const routes = [route([echo], { releaseId: "rel_parity" })];
    f.apply(routes);
    regular.apply(routes);
    const cases = [
      "GET / HTTP/1.1\r\nHost: app.test\r\n\r\n",
      "GET /a/b?c=d&e=%20f HTTP/1.1\r\nHost: APP.test:8080\r\nAccept: */*\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 10.2.2.2\r\n\r\n",
      "HEAD /h HTTP/1.1\r\nHost: app.test\r\nUser-Agent: parity\r\n\r\n",
      "GET /missing HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n\r\n",
      "GET /t HTTP/1.1\r\nHost: app.test\r\nTE: trailers\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n",
      "GET /v HTTP/1.1\r\nhost:   app.test  \r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n",
    ];
    const served = f.lane!.served;
    for (const request of cases) {
      const [fast, slow] = [await exchangeWith(f.port, request), await exchangeWith(regular.port, request)];
      assert.equal(normalize(fast), normalize(slow), `for ${JSON.stringify(request)}`);
    }
    assert.equal(f.lane!.served - served, cases.length, "the lane served every case");
  } finally {
    await regular.close();
  }
});

/** One request (Connection: close added) on its own connection to `port`; everything answered. */
function exchangeWith(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
    socket.write(request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
  });
}

/** An answer with what may differ between the paths left out: header names' case and order, Date, and the proxy's own Connection and Keep-Alive. */
function normalize(answer: string): string {
  const end = answer.indexOf("\r\n\r\n");
  const [status, ...lines] = answer.slice(0, end).split("\r\n");
  const headers = lines
    .map((line) => line.replace(/^([^:]+):\s*/, (_, name: string) => `${name.toLowerCase()}: `))
    .filter((line) => !/^(date|connection|keep-alive): /.test(line))
    .sort();
  return [status, ...headers, "", answer.slice(end + 4)].join("\n");
}
