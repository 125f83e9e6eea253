// The minimal proxies of bench/proxy-floor.ts, one per process: VARIANT=node-answers|node+raw|node+undici|raw+raw,
// UPSTREAM=<port>. Prints "listening <port>". Each does the least its kind of proxy can do, with no checks
// at all (GET only, Content-Length framing only, no timeouts, no retries): they measure floors, they are
// not proxies anyone should run. Plain JavaScript, like proxy-upstream.mjs.
import { createServer } from "node:http";
import net from "node:net";

const variant = process.env.VARIANT;
const upstreamPort = Number(process.env.UPSTREAM);
const endOfHead = Buffer.from("\r\n\r\n");

/** One keep-alive connection to the upstream that reads a response framed by Content-Length. */
class RawConnection {
  constructor(pool) {
    this.pool = pool;
    this.socket = net.connect(upstreamPort, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.buffer = null;
    this.headEnd = -1;
    this.end = -1;
    this.done = null;
    this.socket.on("data", (data) => this.#onData(data));
    this.socket.on("error", () => {});
  }

  #onData(data) {
    const buffer = (this.buffer = this.buffer === null ? data : Buffer.concat([this.buffer, data]));
    if (this.headEnd < 0) {
      const at = buffer.indexOf(endOfHead);
      if (at < 0) return;
      this.headEnd = at + 4;
      this.end = this.headEnd + Number(/\r\ncontent-length: *(\d+)/i.exec(buffer.latin1Slice(0, at))[1]);
    }
    if (buffer.length < this.end) return;
    const { done, headEnd, end } = this;
    this.buffer = null;
    this.headEnd = this.end = -1;
    this.pool.push(this);
    done(buffer, headEnd, end);
  }

  send(head, done) {
    this.done = done;
    this.socket.write(head);
  }
}

const pool = [];
const connection = () => pool.pop() ?? new RawConnection(pool);
const body = Buffer.from("hello from the upstream\n");

/** The upstream request head for a Node-parsed request: its headers, less Connection, plus X-Forwarded-*. */
function headFor(req) {
  const raw = req.rawHeaders;
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() !== "connection") head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}x-forwarded-for: ${req.socket.remoteAddress}\r\nx-forwarded-proto: http\r\n\r\n`;
}

const handlers = {
  "node-answers": (req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  },
  "node+raw": (req, res) => {
    connection().send(headFor(req), (buffer, headEnd, end) => {
      const lines = buffer.latin1Slice(0, headEnd - 4).split("\r\n");
      const headers = [];
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(":");
        const name = lines[i].slice(0, colon);
        const lower = name.toLowerCase();
        if (lower !== "connection" && lower !== "keep-alive") headers.push(name, lines[i].slice(colon + 1).trim());
      }
      res.writeHead(Number(lines[0].slice(9, 12)), headers);
      res.end(buffer.subarray(headEnd, end));
    });
  },
};

if (variant === "node+undici") {
  const { Client } = await import(process.env.UNDICI);
  const idle = [];
  handlers[variant] = (req, res) => {
    const client = idle.pop() ?? new Client(`http://127.0.0.1:${upstreamPort}`, { pipelining: 1 });
    const headers = req.rawHeaders.slice();
    headers.push("x-forwarded-for", req.socket.remoteAddress, "x-forwarded-proto", "http");
    client.dispatch(
      { method: req.method, path: req.url, headers, body: null },
      {
        onConnect() {},
        onHeaders(status, raw) {
          const out = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i].toString("latin1");
            const lower = name.toLowerCase();
            if (lower !== "connection" && lower !== "keep-alive") out.push(name, raw[i + 1].toString("latin1"));
          }
          res.writeHead(status, out);
          return true;
        },
        onData(chunk) {
          res.write(chunk);
          return true;
        },
        onComplete() {
          res.end();
          idle.push(client);
        },
        onError() {
          res.statusCode = 502;
          res.end();
        },
      },
    );
  };
}

let server;
if (variant === "raw+raw") {
  // Hand-parsed on both sides: the request head is passed on as it came, plus X-Forwarded-*, and the
  // upstream's response bytes go back unchanged.
  server = net.createServer((client) => {
    client.setNoDelay(true);
    client.on("error", () => {});
    let pending = null;
    client.on("data", (data) => {
      const buffer = pending === null ? data : Buffer.concat([pending, data]);
      pending = null;
      const at = buffer.indexOf(endOfHead);
      if (at < 0) return void (pending = buffer);
      if (at + 4 < buffer.length) pending = buffer.subarray(at + 4);
      const head = `${buffer.latin1Slice(0, at)}\r\nx-forwarded-for: ${client.remoteAddress}\r\nx-forwarded-proto: http\r\n\r\n`;
      connection().send(head, (response, headEnd, end) => client.write(response.subarray(0, end)));
    });
  });
} else {
  if (!handlers[variant]) {
    process.stderr.write(`unknown VARIANT ${variant}\n`);
    process.exit(2);
  }
  server = createServer(handlers[variant]);
  server.keepAliveTimeout = 75_000;
}
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));
