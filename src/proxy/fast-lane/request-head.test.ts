import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { test } from "node:test";
import { requestHeaders } from "../headers.js";
import { parseRequestHead, type RequestHead } from "./request-head.js";

const client = "10.0.0.9";
const tail = "x-forwarded-proto: http\r\n";

function parse(text: string, max?: number): RequestHead | null | undefined {
  return parseRequestHead(Buffer.from(text, "latin1"), client, max);
}

function accepted(text: string): RequestHead {
  const head = parse(text);
  assert.ok(head, `expected ${JSON.stringify(text)} to be accepted, got ${head}`);
  return head;
}

test("a plain GET: fields, exact length, upstream head with the forwarding headers added", () => {
  const text = "GET /a/b?c=d HTTP/1.1\r\nHost: Example.test:8080\r\nAccept: */*\r\nUser-Agent: t/1\r\n\r\n";
  const head = accepted(text);
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/a/b?c=d");
  assert.equal(head.host, "Example.test:8080");
  assert.equal(head.close, false);
  assert.equal(head.length, text.length);
  assert.equal(
    head.upstreamHead,
    "GET /a/b?c=d HTTP/1.1\r\nHost: Example.test:8080\r\nAccept: */*\r\nUser-Agent: t/1\r\n" +
      `x-forwarded-for: ${client}\r\n${tail}x-forwarded-host: Example.test:8080\r\n\r\n`,
  );
});

test("HEAD; OWS trimmed and lines rewritten as `name: value`; empty values kept; inner SP/HTAB kept", () => {
  const head = accepted("HEAD / HTTP/1.1\r\nhost:h\r\nX-A: \t a \tb  \t\r\nX-B:\r\nX-C: \r\nX-D:\t\t\r\nX-E: e\r\n\r\n");
  assert.equal(head.method, "HEAD");
  assert.equal(head.host, "h");
  assert.equal(
    head.upstreamHead,
    "HEAD / HTTP/1.1\r\nhost: h\r\nX-A: a \tb\r\nX-B: \r\nX-C: \r\nX-D: \r\nX-E: e\r\n" + `x-forwarded-for: ${client}\r\n${tail}x-forwarded-host: h\r\n\r\n`,
  );
});

test("hop-by-hop and forwarding headers are dropped; X-Forwarded-For values are joined in order before the client", () => {
  const head = accepted(
    "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: h\r\nTE: trailers\r\nTrailer: x\r\nKeep-Alive: timeout=5\r\n" +
      "Connection: Keep-Alive\r\nx-forwarded-host: evil\r\nX-FORWARDED-PROTO: https\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3  \r\nAccept: a\r\n\r\n",
  );
  assert.equal(head.close, false);
  assert.equal(
    head.upstreamHead,
    "GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\n" + `x-forwarded-for: 1.1.1.1, 2.2.2.2, 3.3.3.3, ${client}\r\n${tail}x-forwarded-host: h\r\n\r\n`,
  );
  const empty = accepted("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:\r\n\r\n");
  assert.equal(empty.upstreamHead, `GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: , ${client}\r\n${tail}x-forwarded-host: h\r\n\r\n`);
});

test("Connection: close sets close and is not forwarded; Content-Length: 0 is kept", () => {
  const head = accepted("GET / HTTP/1.1\r\nHost: h\r\nconnection: CLOSE\r\nContent-Length:  0 \r\n\r\n");
  assert.equal(head.close, true);
  assert.equal(head.upstreamHead, `GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nx-forwarded-for: ${client}\r\n${tail}x-forwarded-host: h\r\n\r\n`);
});

test("bytes after the head are not looked at; length is exact", () => {
  const text = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  for (const after of ["", "GET /second HTTP/1.1\r\nHost: x\r\n\r\n", "\0\xff\r\n garbage", "\n"]) {
    const head = accepted(text + after);
    assert.equal(head.length, text.length);
    assert.equal(head.target, "/x");
  }
});

test("every strict prefix of an accepted head is undefined (wait for more)", () => {
  const text = "HEAD /p HTTP/1.1\r\nHost: h\r\nX-A:  v \r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  accepted(text);
  for (let n = 0; n < text.length; n++) assert.equal(parse(text.slice(0, n)), undefined, `prefix of ${n} bytes`);
});

test("a partial head that already breaks the subset is null at once", () => {
  for (const text of ["P", "GET  ", "HEAD\t", "GET x", "GET / HTTP/1.0", "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n", "GET / HTTP/1.1\r\nX\0"]) {
    assert.equal(parse(text), null, JSON.stringify(text));
  }
});

const valid = "GET / HTTP/1.1\r\nHost: h\r\n";
const rejected: [string, string][] = [
  ["another method", "POST / HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["leading empty line", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["two spaces before the version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["HTAB as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["absolute-form target", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["target with 0x80", "GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["target with DEL", "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n"],
  ["HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n"],
  ["lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n"],
  ["no version", "GET /\r\nHost: h\r\n\r\n"],
  ["bare LF after the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n"],
  ["bare LF after a header", "GET / HTTP/1.1\r\nHost: h\n\r\n"],
  ["bare LF ending the head", `${valid}\n`],
  ["bare CR in a value", `${valid}X: a\rb\r\n\r\n`],
  ["bare CR ending the head", `${valid}\rX`],
  ["obs-fold (SP)", `${valid}X: a\r\n b\r\n\r\n`],
  ["obs-fold (HTAB)", `${valid}X: a\r\n\tb\r\n\r\n`],
  ["space before the colon", `${valid}X : a\r\n\r\n`],
  ["empty name", `${valid}: a\r\n\r\n`],
  ["non-tchar in a name", `${valid}X(y): a\r\n\r\n`],
  ["no colon", `${valid}X a\r\n\r\n`],
  ["NUL in a value", `${valid}X: a\0b\r\n\r\n`],
  ["control byte in a value", `${valid}X: a\x01\r\n\r\n`],
  ["DEL in a value", `${valid}X: a\x7f\r\n\r\n`],
  ["0x80 in a value", `${valid}X: caf\xe9\r\n\r\n`],
  ["0xFF in a name", `${valid}X\xff: a\r\n\r\n`],
  ["no Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n"],
  ["empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n"],
  ["two Host headers", `${valid}host: h\r\n\r\n`],
  ["Transfer-Encoding", `${valid}Transfer-Encoding: chunked\r\n\r\n`],
  ["transfer-encoding: identity", `${valid}transfer-encoding: identity\r\n\r\n`],
  ["Upgrade", `${valid}Upgrade: websocket\r\n\r\n`],
  ["Expect", `${valid}Expect: 100-continue\r\n\r\n`],
  ["HTTP2-Settings", `${valid}HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`],
  ["Proxy-Connection (llhttp reads it as Connection)", `${valid}Proxy-Connection: close\r\n\r\n`],
  ["Content-Length: 5", `${valid}Content-Length: 5\r\n\r\n`],
  ["Content-Length: 00", `${valid}Content-Length: 00\r\n\r\n`],
  ["Content-Length: +0", `${valid}Content-Length: +0\r\n\r\n`],
  ["empty Content-Length", `${valid}Content-Length:\r\n\r\n`],
  ["two Content-Length: 0", `${valid}Content-Length: 0\r\ncontent-length: 0\r\n\r\n`],
  ["Connection: upgrade", `${valid}Connection: upgrade\r\n\r\n`],
  ["Connection listing a header", `${valid}Connection: close, x-a\r\n\r\n`],
  ["empty Connection", `${valid}Connection:\r\n\r\n`],
  ["two Connection headers", `${valid}Connection: keep-alive\r\nConnection: close\r\n\r\n`],
];

for (const [why, text] of rejected) {
  test(`null: ${why}`, () => {
    assert.equal(parse(text), null, JSON.stringify(text));
    // Nor does any longer buffer make it acceptable.
    assert.equal(parse(`${text}GET / HTTP/1.1\r\nHost: h\r\n\r\n`), null);
  });
}

test("at most 100 header lines", () => {
  const lines = (n: number) => `GET / HTTP/1.1\r\nHost: h\r\n${"X: y\r\n".repeat(n - 1)}\r\n`;
  assert.ok(parse(lines(100)));
  assert.equal(parse(lines(101)), null);
});

test("maxHeadBytes bounds the head, its final CRLFCRLF included", () => {
  const text = `${valid}X: ${"a".repeat(100)}\r\n\r\n`;
  assert.equal(parse(text, text.length)?.length, text.length);
  assert.equal(parse(text, text.length - 1), null);
  assert.equal(parse(text.slice(0, 40), 41), undefined);
  assert.equal(parse(text.slice(0, 40), 40), null);
  assert.equal(parse(`${text.slice(0, 40)}more`, 40), null);
  const big = `${valid}X: ${"a".repeat(16_384 - valid.length - 7)}\r\n\r\n`;
  assert.equal(big.length, 16_384);
  assert.ok(parse(big));
  assert.equal(parse(big.replace("X: a", "X: aa")), null);
});

// ---- Differential test against Node's own parser ----

/** mulberry32: a small seeded PRNG, so a failing mutation can be reproduced. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const handWritten: string[] = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "HEAD /h?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /!\"$%&'()*+,-.:;<=>@[\\]^_`{|}~ HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET //double HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost:a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: \t a \t \r\nX: a\tb  c \t\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX:\r\nY: \r\nZ:\t\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nx: 2\r\nX: 3\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
  "GET / HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n",
  "GET / HTTP/1.1\r\nX: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
  "GET / HTTP/1.1\nHost: a\n\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\n",
  "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n X: b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n",
  "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n",
  "GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n",
  `GET / HTTP/1.1\r\nHost: a\r\n${"N".repeat(4000)}: v\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a\r\nX: ${"v".repeat(8000)}\r\n\r\n`,
  `GET /${"p".repeat(16_300)} HTTP/1.1\r\nHost: a\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a\r\n${"X-Many: y\r\n".repeat(99)}\r\n`,
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\ncontent-length:0 \r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
  "HEAD /c HTTP/1.1\r\nconnection:CLOSE \r\nHost: a\r\nContent-Length: 0\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, te\r\nTE: trailers\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: x\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Host: b\r\nx-forwarded-proto: https\r\nx-forwarded-for: 2.2.2.2\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMA\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /pipelined HTTP/1.1\r\nHost: a\r\n\r\n",
  "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
  "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
  "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
];

/** A valid head to mutate, with a mix of kept, dropped and special headers. */
const mutationBase =
  "GET /base?q=1 HTTP/1.1\r\nHost: base.test\r\nUser-Agent: mut/1\r\nAccept: */*\r\nX-Forwarded-For: 9.9.9.9\r\nConnection: keep-alive\r\nContent-Length: 0\r\nX-Pad:  a b \r\n\r\n";
const interestingBytes = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x2c, 0x7f, 0x80, 0xff, 0x41, 0x61, 0x30, 0x35, 0x2d];
const extraLines = [
  "Host: other", "host: base.test", "Transfer-Encoding: chunked", "Content-Length: 5", "Content-Length: 0", "content-length: 00",
  "Connection: close", "Connection: upgrade", "Upgrade: websocket", "Proxy-Connection: close", "Expect: 100-continue",
  "TE: trailers", "X-Forwarded-For: 1.2.3.4", "X-Forwarded-Proto: https", " folded", "\tfolded", "X-Empty:", "X-Tabs:\t\tv\t",
];

function mutate(text: string, random: () => number): string {
  let bytes = Buffer.from(text, "latin1");
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const count = 1 + Math.floor(random() * 2);
  for (let m = 0; m < count; m++) {
    // Mutations stay within the head (up to its first CRLFCRLF, or all of it once that is gone).
    const blank = bytes.indexOf("\r\n\r\n");
    const headEnd = blank === -1 ? bytes.length : blank + 2;
    const i = Math.floor(random() * headEnd);
    const kind = Math.floor(random() * 6);
    if (kind === 0) bytes[i] = pick(interestingBytes);
    else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, i), Buffer.of(pick(interestingBytes)), bytes.subarray(i)]);
    else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
    else if (kind === 3) {
      const lower = bytes[i]! | 0x20;
      if (lower >= 0x61 && lower <= 0x7a) bytes[i] = bytes[i]! ^ 0x20; // a letter's case flipped
    } else {
      // A whole line, inserted after a line break (twice as likely as each other mutation).
      const breaks: number[] = [];
      for (let at = bytes.indexOf("\r\n"); at !== -1 && at < headEnd; at = bytes.indexOf("\r\n", at + 1)) breaks.push(at + 2);
      if (breaks.length === 0) continue;
      const at = pick(breaks);
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(`${pick(extraLines)}\r\n`, "latin1"), bytes.subarray(at)]);
    }
  }
  return bytes.toString("latin1");
}

/** The header pairs of an accepted head as the subset defines them: split at CRLF and the first ":", OWS trimmed. */
function referencePairs(head: string): string[] {
  const pairs: string[] = [];
  for (const line of head.split("\r\n").slice(1, -2)) {
    const colon = line.indexOf(":");
    pairs.push(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ""));
  }
  return pairs;
}

interface Seen {
  method: string | undefined;
  url: string | undefined;
  rawHeaders: string[];
  host: string | undefined;
  keepAlive: boolean;
  upstreamHead: string;
}

/** What the Node path would send upstream for `req`, as one head string. */
function nodeUpstreamHead(req: IncomingMessage): string {
  const headers = requestHeaders(req, false);
  let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

test("differential: whenever a head is accepted, Node's parser read the same request and the same end of message", async () => {
  const started = performance.now();
  const seen = new Map<number, Seen[]>();
  const server = createServer((req, res) => {
    const port = req.socket.remotePort!;
    let list = seen.get(port);
    if (list === undefined) seen.set(port, (list = []));
    list.push({
      method: req.method,
      url: req.url,
      rawHeaders: req.rawHeaders,
      host: req.headers.host,
      keepAlive: res.shouldKeepAlive,
      upstreamHead: nodeUpstreamHead(req),
    });
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const second = "GET /second HTTP/1.1\r\nHost: x\r\n\r\n";
  const random = prng(0x5eed);
  const cases = [...handWritten];
  while (cases.length < 210) cases.push(mutate(mutationBase, random));

  /** Sends the bytes on one socket, half-closes, and resolves with what Node's server saw on it. */
  const exchange = (bytes: Buffer) =>
    new Promise<Seen[]>((resolve) => {
      let localPort = 0;
      const socket = connect(port, "127.0.0.1", () => {
        localPort = socket.localPort!;
        socket.end(bytes);
      });
      socket.on("data", () => {});
      socket.on("error", () => {}); // Node answers a bad head with 400 and may reset the connection
      socket.on("close", () => resolve(seen.get(localPort) ?? []));
    });

  let accepted = 0;
  let closing = 0;
  try {
    const queue = cases.map((text, index) => ({ text, index }));
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const bytes = Buffer.from(next.text + second, "latin1");
        const head = parseRequestHead(bytes, "127.0.0.1");
        assert.notEqual(head, undefined, `case ${next.index} is complete`);
        const requests = await exchange(bytes);
        if (!head) continue;
        accepted++;
        const what = `case ${next.index}: ${JSON.stringify(next.text.slice(0, 200))}`;
        const first = requests[0];
        assert.ok(first, `Node served no request for ${what}`);
        assert.equal(first.method, head.method, what);
        assert.equal(first.url, head.target, what);
        assert.deepEqual(first.rawHeaders, referencePairs(bytes.toString("latin1", 0, head.length)), what);
        assert.equal(first.host, head.host, what);
        assert.equal(first.upstreamHead, head.upstreamHead, what);
        assert.equal(first.keepAlive, !head.close, what);
        if (head.close) {
          closing++;
          assert.equal(requests.length, 1, `Node served past a Connection: close, ${what}`);
        } else {
          // Node's next request is the one that starts where we say the first one ends. (A mutation
          // can leave header lines after an early CRLFCRLF: Node then refuses what follows, and the
          // equal rawHeaders above already show it ended the first head where we did.)
          const rest = bytes.toString("latin1", head.length);
          const next = rest.slice(0, rest.indexOf("\r\n")).split(" ");
          if (next.length === 3 && next[2] === "HTTP/1.1" && /^[A-Z]+$/.test(next[0]!)) {
            assert.ok(requests.length >= 2, `Node saw ${requests.length} requests for ${what}`);
            assert.equal(requests[1]!.method, next[0], what);
            assert.equal(requests[1]!.url, next[1], what);
            assert.equal(requests.at(-1)!.url, "/second", what);
          } else {
            assert.equal(requests.length, 1, what);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  // Not vacuous: plenty of heads were accepted, some closing, and many refused.
  assert.ok(accepted >= 60, `only ${accepted} of ${cases.length} heads were accepted`);
  assert.ok(closing >= 2, `only ${closing} accepted heads asked to close`);
  assert.ok(cases.length - accepted >= 60, `only ${cases.length - accepted} heads were refused`);
  assert.ok(performance.now() - started < 2_000, `took ${Math.round(performance.now() - started)} ms`);
});
