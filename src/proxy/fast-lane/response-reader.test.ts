import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { test } from "node:test";
import { responseHeaders } from "../headers.js";
import { ResponseReader, type ResponseHandler, type ResponseHead } from "./response-reader.js";

type Event = ["head", ResponseHead] | ["body", string] | ["end", boolean] | ["error", string, boolean];

/** A handler that records what it is told, consecutive body bytes merged (as latin1), so split reads compare equal. */
function recorder(): { handler: ResponseHandler; events: Event[]; bodies: Buffer[] } {
  const events: Event[] = [];
  const bodies: Buffer[] = [];
  const handler: ResponseHandler = {
    onHead: (head) => void events.push(["head", head]),
    onBody: (bytes) => {
      assert.ok(bytes.length > 0, "no empty body slices");
      bodies.push(bytes);
      const last = events[events.length - 1];
      if (last?.[0] === "body") last[1] += bytes.toString("latin1");
      else events.push(["body", bytes.toString("latin1")]);
    },
    onEnd: (extra) => void events.push(["end", extra]),
    onError: (code, bodyStarted) => void events.push(["error", code, bodyStarted]),
  };
  return { handler, events, bodies };
}

interface ReadOptions {
  head?: boolean;
  /** Close the upstream side after the bytes. */
  close?: boolean;
  /** Offsets to split the bytes at, ascending. */
  splits?: number[];
}

/** Reads one response from `input` pushed in pieces; returns what the handler heard. */
function read(input: string | Buffer, options: ReadOptions = {}): Event[] {
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const { handler, events } = recorder();
  const reader = new ResponseReader(handler);
  reader.start(options.head ?? false);
  let at = 0;
  for (const split of [...(options.splits ?? []), bytes.length]) {
    reader.push(bytes.subarray(at, split));
    at = split;
  }
  if (options.close) reader.close();
  return events;
}

function byteByByte(input: string | Buffer, options: ReadOptions = {}): Event[] {
  const length = typeof input === "string" ? input.length : input.length;
  return read(input, { ...options, splits: Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1) });
}

function headOf(events: Event[], index = 0): ResponseHead {
  const heads = events.filter((e) => e[0] === "head").map((e) => e[1] as ResponseHead);
  assert.ok(heads[index], `head ${index} reported`);
  return heads[index]!;
}

function errorOf(input: string | Buffer, options: ReadOptions = {}): [string, boolean] {
  const events = read(input, options);
  const last = events[events.length - 1];
  assert.equal(last?.[0], "error", `an error for ${JSON.stringify(String(input).slice(0, 80))}: ${JSON.stringify(events)}`);
  assert.ok(!events.some((e) => e[0] === "end"));
  return [last![1] as string, last![2] as boolean];
}

/** Decodes a chunked body (the test's own decoder): returns the data and the trailer lines. */
function dechunk(raw: Buffer): { data: string; trailers: string[]; rest: number } {
  let at = 0;
  let data = "";
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    const size = parseInt(raw.toString("latin1", at, lineEnd).split(";")[0]!.trim(), 16);
    at = lineEnd + 2;
    if (size === 0) break;
    data += raw.toString("latin1", at, at + size);
    assert.equal(raw.toString("latin1", at + size, at + size + 2), "\r\n");
    at += size + 2;
  }
  const trailers: string[] = [];
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    const line = raw.toString("latin1", at, lineEnd);
    at = lineEnd + 2;
    if (line === "") return { data, trailers, rest: raw.length - at };
    trailers.push(line);
  }
}

const fixed = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nDate: Tue, 01 Jul 2025 00:00:00 GMT\r\n\r\nhello";
const chunkedBody = "5;name=value\r\nhello\r\n1A \t;x\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: abc\r\nX-Other:\t1 \r\n\r\n";
const chunked = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kept: 1\r\n\r\n${chunkedBody}`;

test("Content-Length body: head parsed, body passed through, exact end", () => {
  const events = read(fixed);
  assert.deepEqual(events, [
    [
      "head",
      {
        status: 200,
        reason: "OK",
        headers: ["Content-Type", "text/plain", "Content-Length", "5", "Date", "Tue, 01 Jul 2025 00:00:00 GMT"],
        framing: "length",
        closes: false,
        hasDate: true,
      },
    ],
    ["body", "hello"],
    ["end", false],
  ]);
  const zero = read("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
  assert.equal(headOf(zero).framing, "length");
  assert.equal(headOf(zero).hasDate, false);
  assert.deepEqual(zero.slice(1), [["end", false]]);
});

test("body bytes are slices of the pushed buffer, not copies, and never past the end", () => {
  const { handler, bodies, events } = recorder();
  const reader = new ResponseReader(handler);
  reader.start(false);
  const data = Buffer.from(`${fixed}HTTP/1.1 200 OK\r\n`, "latin1");
  reader.push(data);
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0]!.buffer, data.buffer);
  assert.equal(bodies[0]!.byteOffset, data.byteOffset + fixed.length - 5);
  assert.equal(bodies[0]!.toString(), "hello");
  assert.deepEqual(events[events.length - 1], ["end", true]);
  assert.equal(reader.busy, false);

  // Split head: the body still comes from the read it is in.
  const { handler: h2, bodies: b2 } = recorder();
  const second = new ResponseReader(h2);
  second.start(false);
  second.push(Buffer.from(fixed.slice(0, 20), "latin1"));
  const tail = Buffer.from(fixed.slice(20), "latin1");
  second.push(tail);
  assert.equal(b2[0]!.buffer, tail.buffer);
  assert.equal(b2[0]!.toString(), "hello");
});

test("chunked: framing, extensions and trailers passed through raw; the end found exactly", () => {
  const events = read(`${chunked}HTTP/1.1 200 OK`);
  const head = headOf(events);
  assert.equal(head.framing, "chunked");
  assert.deepEqual(head.headers, ["Transfer-Encoding", "chunked", "X-Kept", "1"]);
  assert.deepEqual(events.slice(1), [
    ["body", chunkedBody],
    ["end", true],
  ]);
  const decoded = dechunk(Buffer.from(chunkedBody, "latin1"));
  assert.deepEqual(decoded, { data: "helloabcdefghijklmnopqrstuvwxyz", trailers: ["X-Checksum: abc", "X-Other:\t1 "], rest: 0 });
  // Case-insensitive, upper-case hex, leading zeros, 16 digits at most.
  const other = read("HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n000000000000000A\r\n0123456789\r\n00\r\n\r\n");
  assert.deepEqual(other.slice(1), [
    ["body", "000000000000000A\r\n0123456789\r\n00\r\n\r\n"],
    ["end", false],
  ]);
});

test("close-delimited body ends when the upstream closes", () => {
  const events = read("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nsome body\r\n\r\nand more", { close: true });
  const head = headOf(events);
  assert.equal(head.framing, "close");
  assert.equal(head.closes, true);
  assert.deepEqual(events.slice(1), [
    ["body", "some body\r\n\r\nand more"],
    ["end", false],
  ]);
  // No body at all before the close.
  assert.deepEqual(read("HTTP/1.0 200 OK\r\n\r\n", { close: true }).slice(1), [["end", false]]);
});

test("1xx heads come before the final one", () => {
  const events = read(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${fixed}`);
  assert.equal(events.length, 5);
  assert.deepEqual(headOf(events, 0), { status: 100, reason: "Continue", headers: [], framing: "none", closes: false, hasDate: false });
  assert.deepEqual(headOf(events, 1).headers, ["Link", "</a.css>; rel=preload"]);
  assert.equal(headOf(events, 1).status, 103);
  assert.equal(headOf(events, 2).status, 200);
  assert.deepEqual(events.slice(3), [
    ["body", "hello"],
    ["end", false],
  ]);
  // A bad final head after a 1xx: the body had not started.
  assert.deepEqual(errorOf("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n"), ["BAD_HEADER", false]);
});

test("HEAD, 204 and 304 have no body; bytes after them are extra", () => {
  const head = read("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", { head: true });
  assert.equal(headOf(head).framing, "none");
  assert.deepEqual(headOf(head).headers, ["Content-Length", "1234"]);
  assert.deepEqual(head.slice(1), [["end", false]]);
  assert.deepEqual(read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", { head: true }).slice(1), [["end", true]]);
  const headChunked = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", { head: true });
  assert.equal(headOf(headChunked).framing, "none");
  assert.deepEqual(headChunked.slice(1), [["end", false]]);

  const noContent = read("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
  assert.equal(headOf(noContent).framing, "none");
  assert.equal(headOf(noContent).closes, false);
  assert.deepEqual(noContent.slice(1), [["end", false]]);
  const notModified = read("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n");
  assert.equal(headOf(notModified).framing, "none");
  assert.deepEqual(headOf(notModified).headers, ["Content-Length", "99", "ETag", '"x"']);
  assert.deepEqual(notModified.slice(1), [["end", false]]);
  assert.deepEqual(read("HTTP/1.1 304 Not Modified\r\n\r\nX").slice(1), [["end", true]]);
});

test("extra bytes after a body's end are not passed on and mark the connection", () => {
  assert.deepEqual(read(`${fixed}X`).slice(1), [
    ["body", "hello"],
    ["end", true],
  ]);
  assert.deepEqual(read(`${chunked}\r\n`).slice(1), [
    ["body", chunkedBody],
    ["end", true],
  ]);
  // Bytes after the end in a later read, while no response is expected: the next start() fails.
  const { handler, events } = recorder();
  const reader = new ResponseReader(handler);
  reader.start(false);
  reader.push(Buffer.from(fixed));
  reader.push(Buffer.from("HTTP/1.1 200 OK\r\n"));
  assert.deepEqual(events.slice(1), [
    ["body", "hello"],
    ["end", false],
  ]);
  reader.start(false);
  assert.deepEqual(events[events.length - 1], ["error", "UNSOLICITED_DATA", false]);
  assert.equal(reader.busy, false);
});

test("header filtering matches responseHeaders(), keeping chunked and collapsing equal Content-Lengths", () => {
  const pairs: [string, string][] = [
    ["Connection", "keep-alive, X-Hop, x-other-hop"],
    ["X-Hop", "1"],
    ["Keep-Alive", "timeout=5"],
    ["TE", "trailers"],
    ["Trailer", "X-Checksum"],
    ["Upgrade", "h2c"],
    ["Proxy-Connection", "keep-alive"],
    ["X-Other-Hop", "2"],
    ["Content-Type", "text/html; charset=utf-8"],
    ["Set-Cookie", "a=1"],
    ["Set-Cookie", "b=2"],
    ["X-Latin1", "caf\xe9"],
    ["Content-Length", "3"],
  ];
  const text = `HTTP/1.1 200 OK\r\n${pairs.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\nabc`;
  const events = read(text);
  const expected = responseHeaders(pairs.flatMap(([n, v]) => [Buffer.from(n, "latin1"), Buffer.from(v, "latin1")]));
  assert.deepEqual(headOf(events).headers, expected);
  assert.deepEqual(expected, ["Content-Type", "text/html; charset=utf-8", "Set-Cookie", "a=1", "Set-Cookie", "b=2", "X-Latin1", "caf\xe9", "Content-Length", "3"]);
  assert.equal(headOf(events).closes, false);

  // Chunked is kept; a Connection header naming the framing headers or Date cannot drop framing, but drops Date.
  const chunkedNamed = headOf(read("HTTP/1.1 200 OK\r\nConnection: transfer-encoding, date\r\nDate: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  assert.deepEqual(chunkedNamed.headers, ["Transfer-Encoding", "chunked"]);
  assert.equal(chunkedNamed.hasDate, false);
  // Several Connection headers count together.
  const two = headOf(read("HTTP/1.1 200 OK\r\nConnection: x-a\r\nConnection: close\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n"));
  assert.deepEqual(two.headers, ["X-B", "2", "Content-Length", "0"]);
  assert.equal(two.closes, true);
  // Equal Content-Lengths collapse into the first; whitespace around values is not part of them.
  const dup = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:  2 \r\nX-Empty:\r\n\r\nhi");
  assert.deepEqual(headOf(dup).headers, ["Content-Length", "2", "X-Empty", ""]);
  assert.deepEqual(dup.slice(1), [
    ["body", "hi"],
    ["end", false],
  ]);
});

test("closes: Connection close, HTTP/1.0 without keep-alive, close framing", () => {
  const closes = (text: string) => headOf(read(text)).closes;
  assert.equal(closes("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), true);
  assert.equal(closes("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"), true);
  assert.equal(closes("HTTP/1.1 200 OK\r\nConnection: x-a, close\r\nContent-Length: 0\r\n\r\n"), true);
  assert.equal(closes("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"), false);
  assert.equal(closes("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), true);
  assert.equal(closes("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"), false);
  assert.equal(closes("HTTP/1.1 200 OK\r\n\r\n"), true);
  assert.equal(headOf(read("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")).reason, "");
});

test("BAD_STATUS_LINE", () => {
  for (const line of [
    "HTTP/1.1 200\r\n",
    "HTTP/2.0 200 OK\r\n",
    "HTTP/1.2 200 OK\r\n",
    "http/1.1 200 OK\r\n",
    "HTTP/1.1 20 OK\r\n",
    "HTTP/1.1 2000 OK\r\n",
    "HTTP/1.1 099 Low\r\n",
    "HTTP/1.1 600 High\r\n",
    "HTTP/1.1  200 OK\r\n",
    "HTTP/1.1 200 O\x01K\r\n",
    "HTTP/1.1 200 O\rK\r\n",
    "HTTP/1.1 200 OK\n",
    "\r\n",
    "\n",
    "ICY 200 OK\r\n",
  ]) {
    assert.deepEqual(errorOf(`${line}Content-Length: 0\r\n\r\n`), ["BAD_STATUS_LINE", false], JSON.stringify(line));
  }
  assert.deepEqual(errorOf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), ["UNEXPECTED_UPGRADE", false]);
});

test("BAD_HEADER", () => {
  for (const line of [
    "Content-Length : 0",
    " X-Folded: 1",
    "\tX-Folded: 1",
    ": empty-name",
    "No-Colon",
    "X(A): 1",
    "X-A: a\x00b",
    "X-A: a\x7fb",
    "X-A: a\rb",
    "X-A: a\x1bb",
  ]) {
    assert.deepEqual(errorOf(`HTTP/1.1 200 OK\r\nX-Before: 1\r\n${line}\r\nContent-Length: 0\r\n\r\n`), ["BAD_HEADER", false], JSON.stringify(line));
  }
  // Bare LF line ends are rejected, at once (not when the head would have ended).
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n"), ["BAD_HEADER", false]);
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nX-A: 1\r\n\n"), ["BAD_HEADER", false]);
  // obs-fold continuation after a header.
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\n\r\n"), ["BAD_HEADER", false]);
});

test("HEAD_TOO_LARGE: over 16 KiB of head, counted however the reads split", () => {
  const prefix = "HTTP/1.1 200 OK\r\nX-Big: ";
  const suffix = "\r\nContent-Length: 0\r\n\r\n";
  const atLimit = prefix + "a".repeat(16 * 1024 - prefix.length - suffix.length) + suffix;
  assert.equal(atLimit.length, 16 * 1024);
  assert.deepEqual(read(atLimit).slice(1), [["end", false]]);
  assert.deepEqual(read(atLimit, { splits: [100, 16000] }).slice(1), [["end", false]]);
  const over = prefix + "a".repeat(16 * 1024 - prefix.length - suffix.length + 1) + suffix;
  assert.deepEqual(errorOf(over), ["HEAD_TOO_LARGE", false]);
  for (const splits of [[1], [100], [16383], [16384], [16385], [5, 10, 16384]]) assert.deepEqual(errorOf(over, { splits }), ["HEAD_TOO_LARGE", false]);
  // Without the end in sight: the error comes as soon as 16 KiB have come.
  assert.deepEqual(errorOf(prefix + "a".repeat(16 * 1024)), ["HEAD_TOO_LARGE", false]);
  // Each head of a 1xx sequence has its own limit.
  assert.equal(headOf(read(`HTTP/1.1 100 Continue\r\n\r\n${atLimit}`), 1).status, 200);
});

test("BAD_FRAMING", () => {
  for (const headers of [
    "Transfer-Encoding: gzip",
    "Transfer-Encoding: gzip, chunked",
    "Transfer-Encoding: chunked, chunked",
    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    "Transfer-Encoding: identity",
    "Transfer-Encoding: chunked\r\nContent-Length: 5",
    "Content-Length: 5\r\nTransfer-Encoding: chunked",
    "Content-Length: 5\r\nContent-Length: 6",
    "Content-Length: 5, 5",
    "Content-Length: -1",
    "Content-Length: +5",
    "Content-Length: 0x10",
    "Content-Length: 1 2",
    "Content-Length:",
    "Content-Length: 1234567890123456",
  ]) {
    assert.deepEqual(errorOf(`HTTP/1.1 200 OK\r\n${headers}\r\n\r\n`), ["BAD_FRAMING", false], JSON.stringify(headers));
  }
  assert.deepEqual(errorOf("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ["BAD_FRAMING", false]);
  // 15 digits is the most taken.
  assert.equal(headOf(read("HTTP/1.1 200 OK\r\nContent-Length: 123456789012345\r\n\r\n")).framing, "length");
});

test("BAD_CHUNK: the bytes before the fault are passed on, nothing after", () => {
  const start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const body of [
    "g\r\n",
    "\r\n",
    ";ext\r\n",
    "5\nhello\r\n0\r\n\r\n",
    "5\r\rhello",
    "5\r\nhelloX\r\n",
    "5\r\nhello\n0\r\n\r\n",
    "5 x\r\n",
    "5;a\x00b\r\n",
    "1 2\r\n",
    "12345678901234567\r\n",
    "20000000000001\r\n",
    "-1\r\n",
    "0\r\nBad Trailer: 1\r\n\r\n",
    "0\r\nX-T: 1\n\r\n",
    "0\r\nX-T: a\x01\r\n\r\n",
    "0\r\n\r\r",
    `5;${"e".repeat(5000)}\r\n`,
    `0\r\nX-T: ${"t".repeat(17000)}\r\n\r\n`,
  ]) {
    const events = read(start + body);
    const last = events[events.length - 1];
    assert.deepEqual(last, ["error", "BAD_CHUNK", true], JSON.stringify(body.slice(0, 40)));
    const passed = events.find((e) => e[0] === "body")?.[1] ?? "";
    assert.ok(body.startsWith(passed) && passed.length < body.length, JSON.stringify(body.slice(0, 40)));
  }
  // 2^53 itself is taken (and then the body is short, which is a premature close).
  assert.deepEqual(errorOf(`${start}20000000000000\r\n`, { close: true }), ["PREMATURE_CLOSE", true]);
  assert.deepEqual(read(`${start}0000000000000000\r\n\r\n`).slice(1), [
    ["body", "0000000000000000\r\n\r\n"],
    ["end", false],
  ]);
});

test("PREMATURE_CLOSE says whether the body had started", () => {
  assert.deepEqual(errorOf("", { close: true }), ["PREMATURE_CLOSE", false]);
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nContent-Le", { close: true }), ["PREMATURE_CLOSE", false]);
  assert.deepEqual(errorOf("HTTP/1.1 100 Continue\r\n\r\n", { close: true }), ["PREMATURE_CLOSE", false]);
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", { close: true }), ["PREMATURE_CLOSE", true]);
  assert.deepEqual(errorOf("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", { close: true }), ["PREMATURE_CLOSE", true]);
  assert.deepEqual(errorOf(`${chunked.slice(0, -2)}`, { close: true }), ["PREMATURE_CLOSE", true]);
  const events = read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", { close: true });
  assert.deepEqual(events.slice(1), [
    ["body", "hello"],
    ["error", "PREMATURE_CLOSE", true],
  ]);
});

const representative: [string, string, ReadOptions][] = [
  ["length", fixed, {}],
  ["chunked", chunked, {}],
  ["1xx + chunked", `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n${chunked}`, {}],
  ["close-delimited", "HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nbody\r\n\r\nbytes", { close: true }],
  ["HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: x-a\r\nX-A: 1\r\n\r\n", { head: true }],
  ["204", "HTTP/1.1 204 No Content\r\n\r\n", {}],
  ["bad chunk", `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabcX`, {}],
  ["bad header", "HTTP/1.1 200 OK\r\nX-A: 1\r\nX B: 2\r\n\r\n", {}],
  ["bad framing", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", {}],
  ["premature", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", { close: true }],
];

// Bytes after a response's end are left out: in a later read than the end they are not "extra" but unsolicited (tested above).
test("reads split anywhere give the same result as one read", () => {
  for (const [name, text, options] of representative) {
    const whole = read(text, options);
    assert.ok(["end", "error"].includes(whole[whole.length - 1]![0]), name);
    for (let at = 0; at <= text.length; at++) assert.deepEqual(read(text, { ...options, splits: [at] }), whole, `${name} split at ${at}`);
    for (let at = 1; at + 3 <= text.length; at += 3) assert.deepEqual(read(text, { ...options, splits: [at, at + 1, at + 3] }), whole, `${name} split around ${at}`);
    assert.deepEqual(byteByByte(text, options), whole, `${name} byte by byte`);
  }
});

test("busy, start() while busy, and a handler that starts the next response from onEnd", () => {
  const events: string[] = [];
  const reader: ResponseReader = new ResponseReader({
    onHead: (head) => void events.push(`head ${head.status}`),
    onBody: (bytes) => void events.push(`body ${bytes.toString()}`),
    onEnd: (extra) => {
      events.push(`end ${extra}`);
      assert.equal(reader.busy, false);
      if (events.length < 4) reader.start(false);
    },
    onError: (code) => void events.push(`error ${code}`),
  });
  assert.equal(reader.busy, false);
  reader.start(false);
  assert.equal(reader.busy, true);
  assert.throws(() => reader.start(false), /still being read/);
  reader.push(Buffer.from(`${fixed}${fixed}`));
  // The second response in the same read is extra (the first one's end said so); the restarted reader does not see it.
  assert.deepEqual(events, ["head 200", "body hello", "end true"]);
  assert.equal(reader.busy, true);
  reader.push(Buffer.from(fixed));
  assert.deepEqual(events.slice(3), ["head 200", "body hello", "end false"]);
  assert.equal(reader.busy, false);
  reader.close(); // idle: nothing to report
  assert.equal(events.length, 6);
});

test("a real Node upstream over one keep-alive socket: length, chunked, HEAD, 204 in a row", { timeout: 10_000 }, async () => {
  let connections = 0;
  const server = createServer((req, res) => {
    if (req.url === "/fixed") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
      res.end("hello");
    } else if (req.url === "/chunks") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("ab");
      setTimeout(() => {
        res.write("cd".repeat(1000));
        setTimeout(() => res.end("ef"), 5);
      }, 5);
    } else {
      res.writeHead(204);
      res.end();
    }
  });
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  try {
    await once(socket, "connect");
    let heads: ResponseHead[] = [];
    let body: Buffer[] = [];
    let settle: ((outcome: string) => void) | undefined;
    const reader = new ResponseReader({
      onHead: (head) => void heads.push(head),
      onBody: (bytes) => void body.push(bytes),
      onEnd: (extra) => settle!(`end ${extra}`),
      onError: (code) => settle!(`error ${code}`),
    });
    socket.on("data", (data: Buffer) => reader.push(data));
    socket.on("close", () => reader.close());

    const exchange = async (method: string, path: string) => {
      heads = [];
      body = [];
      const outcome = new Promise<string>((resolve) => (settle = resolve));
      reader.start(method === "HEAD");
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: app.test\r\n\r\n`);
      assert.equal(await outcome, "end false", `${method} ${path}`);
      assert.equal(heads.length, 1);
      return { head: heads[0]!, body: Buffer.concat(body) };
    };
    const header = (head: ResponseHead, name: string) => {
      const i = head.headers.findIndex((h, at) => at % 2 === 0 && h.toLowerCase() === name);
      return i < 0 ? undefined : head.headers[i + 1];
    };

    const first = await exchange("GET", "/fixed");
    assert.equal(first.head.framing, "length");
    assert.equal(first.head.closes, false);
    assert.equal(first.head.hasDate, true);
    assert.equal(header(first.head, "connection"), undefined);
    assert.equal(header(first.head, "keep-alive"), undefined);
    assert.equal(first.body.toString(), "hello");

    const chunks = await exchange("GET", "/chunks");
    assert.equal(chunks.head.framing, "chunked");
    assert.equal(header(chunks.head, "transfer-encoding"), "chunked");
    const decoded = dechunk(chunks.body);
    assert.equal(decoded.data, `ab${"cd".repeat(1000)}ef`);
    assert.equal(decoded.rest, 0);

    const head = await exchange("HEAD", "/fixed");
    assert.equal(head.head.framing, "none");
    assert.equal(header(head.head, "content-length"), "5");
    assert.equal(head.body.length, 0);

    const empty = await exchange("GET", "/empty");
    assert.equal(empty.head.status, 204);
    assert.equal(empty.body.length, 0);

    const last = await exchange("GET", "/fixed");
    assert.equal(last.body.toString(), "hello");
    assert.equal(connections, 1);
  } finally {
    socket.destroy();
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  }
});
