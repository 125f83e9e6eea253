import { connect as connectTcp, isIP, type Socket } from "node:net";
import { EngineError, type ErrorCode } from "../core/index.js";
import type { Progress } from "../deploy/index.js";
import { describeCutOff, type Operation } from "./cut-off.js";

/** What a streaming call is, so that an engine that goes away mid-way can be explained. */
export interface StreamCall {
  operation: Operation;
  /** The service (or release id, for an approval) the call is about. */
  subject: string;
  onProgress: (p: Progress) => void;
  signal?: AbortSignal;
}

/**
 * The CLI's client of a running engine's API: one HTTP/1.1 request per connection, written and
 * read over node:net by hand. It is on the path of every command, and `engineroom rollback` must
 * not spend its time loading an HTTP stack: node:http and its client cost about 4 ms of CPU more
 * than node:net to load and run once, on a start-up of about 80 ms.
 */
export class ApiClient {
  readonly address: string;
  #host: string;
  #port: number;
  #auth: string;
  /** The API's certificate file (PEM) when it serves HTTPS: trusted as the one CA. */
  #ca: string | undefined;
  #https: boolean;

  /** `https` when the API serves TLS, else `http`. */
  get scheme(): "http" | "https" {
    return this.#https ? "https" : "http";
  }

  /** `ca`: the one certificate to trust over https; without it, the system's authorities. */
  constructor(options: { address: string; token: string; https?: boolean; ca?: string }) {
    this.#ca = options.ca;
    this.#https = options.https === true || options.ca !== undefined;
    this.address = options.address;
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(options.address);
    if (!match) throw new EngineError("ENGINE_NOT_RUNNING", `The engine's API address "${options.address}" in engine.json is not host:port.`);
    this.#host = match[1]!;
    this.#port = Number(match[2]);
    this.#auth = `Bearer ${options.token}`;
  }

  async get<T>(path: string): Promise<T> {
    return json<T>(await this.#send("GET", path));
  }

  /** GETs an answer that is not JSON (the report's HTML page) as text; an error answer still throws its code. */
  async getText(path: string): Promise<string> {
    const res = await this.#send("GET", path);
    if (res.status === 0 || res.status >= 400) return json<never>(res);
    let text = "";
    try {
      await res.read((chunk) => (text += chunk));
    } catch {
      throw new EngineError("ENGINE_GONE", "The engine went away before its answer was complete.");
    }
    return text;
  }

  /** POSTs JSON and reads a JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    return json<T>(await this.#send("POST", path, body));
  }

  /** DELETEs and reads a JSON answer. */
  async delete<T>(path: string): Promise<T> {
    return json<T>(await this.#send("DELETE", path));
  }

  /**
   * POSTs (or GETs, without a body) and reads the NDJSON stream, calling `onProgress` per progress
   * line; resolves with the result or throws the error. A stream cut off before its last line is
   * ENGINE_GONE, saying how far the operation had got.
   */
  async stream<T>(method: "GET" | "POST", path: string, body: unknown, call: StreamCall): Promise<T> {
    const res = await this.#send(method, path, body, call.signal);
    if (!/^application\/x-ndjson/.test(res.headers["content-type"] ?? "")) return json<T>(res);
    const seen: Progress[] = [];
    let buffered = "";
    let outcome: { result: T } | { error: WireError } | undefined;
    const take = (line: string) => {
      if (!line.trim()) return;
      const message = JSON.parse(line) as { progress?: Progress; result?: T; error?: WireError };
      if (message.progress) {
        seen.push(message.progress);
        call.onProgress(message.progress);
      } else if ("result" in message) outcome = { result: message.result as T };
      else if (message.error) outcome = { error: message.error };
    };
    try {
      await res.read((chunk) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          take(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      });
      take(buffered);
    } catch (error) {
      if (call.signal?.aborted) throw error;
      // The connection broke: fall through, `outcome` tells whether the answer was complete.
    }
    if (!outcome) throw new EngineError("ENGINE_GONE", `The engine went away during the command: ${describeCutOff(call.operation, call.subject, seen)}.`);
    if ("error" in outcome) throw fromWire(outcome.error);
    return outcome.result;
  }

  #send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Answer> {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const head = [`${method} ${path} HTTP/1.1`, `host: ${this.address}`, `authorization: ${this.#auth}`, "x-engineroom-client: cli", "connection: close"];
    if (body !== undefined) head.push("content-type: application/json", `content-length: ${Buffer.byteLength(payload)}`);
    // node:tls is loaded only for an API that serves HTTPS: plain loopback commands stay as quick to start.
    const tls = !this.#https ? undefined : Promise.all([import("node:tls"), import("node:fs")]);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (tls) {
        tls.then(
          ([{ connect: connectTls }, { readFileSync }]) => {
            const servername = isIP(this.#host) ? undefined : this.#host;
            this.#talk(connectTls({ host: this.#host, port: this.#port, ...(this.#ca !== undefined && { ca: readFileSync(this.#ca) }), servername }).setNoDelay(true), head, payload, resolve, reject, signal);
          },
          (error: Error) => reject(error),
        );
      } else this.#talk(connectTcp({ host: this.#host, port: this.#port, noDelay: true }), head, payload, resolve, reject, signal);
    });
  }

  /** Writes the request on `socket` and reads its answer. */
  #talk(socket: Socket, head: string[], payload: string, resolve: (answer: Answer) => void, reject: (error: unknown) => void, signal: AbortSignal | undefined): void {
    const reader = new AnswerReader();
    let answered = false;
    const onAbort = () => {
      socket.destroy();
      reader.fail(signal!.reason as Error);
      if (!answered) reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    reader.onHead = (answer) => {
      answered = true;
      if (timing) mark("answered");
      resolve(answer);
    };
    reader.onDone = () => {
      if (timing) mark("ended");
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
    };
    socket.on("data", (data: Buffer) => reader.push(data));
    socket.once("end", () => reader.end());
    socket.once("close", () => reader.end());
    socket.once("error", (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener("abort", onAbort);
      if (answered) return reader.fail(error);
      if (signal?.aborted) return reject(signal.reason);
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT" || error.code === "EHOSTUNREACH") {
        return reject(new EngineError("ENGINE_NOT_RUNNING", `No engine answers at ${this.scheme}://${this.address} (${error.code}).`));
      }
      reject(gone(this.address, error.code ?? error.message));
    });
    reader.onCutBeforeHead = () => reject(gone(this.address, "the connection closed"));
    // Not end(): a request whose connection is half-closed is aborted by Node's HTTP server, and
    // the engine cancels an operation whose client went away.
    socket.write(`${head.join("\r\n")}\r\n\r\n${payload}`);
    if (timing) mark("sent");
  }
}

function gone(address: string, why: string): EngineError {
  return new EngineError("ENGINE_GONE", `The engine at http://${address} closed the connection before it answered (${why}); the command may or may not have begun.`);
}

/** An answer whose head has arrived; its body is read with `read`. */
interface Answer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Calls `onText` with the body's text as it arrives; resolves once the body is complete, rejects if the connection broke first. */
  read(onText: (text: string) => void): Promise<void>;
}

/**
 * Reads one HTTP/1.1 answer from the bytes of a connection: the head, then a body framed by
 * content-length, by chunked transfer coding (the engine's NDJSON streams), or by the end of the
 * connection (we ask for `connection: close`).
 */
class AnswerReader {
  onHead: (answer: Answer) => void = () => {};
  onDone: () => void = () => {};
  onCutBeforeHead: () => void = () => {};
  #pending: Buffer = Buffer.alloc(0);
  #head = true;
  #framing: "length" | "chunked" | "close" = "close";
  /** Body bytes still to come: of the whole body (length), or of the current chunk. */
  #remaining = 0;
  /** What comes next in a chunked body: a chunk-size line, the chunk's data, the CRLF after it. */
  #chunk: "size" | "data" | "crlf" = "size";
  #decoder = new TextDecoder();
  #text = "";
  #onText: ((text: string) => void) | undefined;
  #finished = false;
  #settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #outcome: { error?: Error } | undefined;

  push(data: Buffer): void {
    if (this.#finished) return;
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    if (this.#head && !this.#parseHead()) return;
    this.#parseBody();
  }

  /** The connection ended: complete for a body framed by the end, cut off otherwise. */
  end(): void {
    if (this.#finished) return;
    if (this.#head) {
      this.#finished = true;
      return this.onCutBeforeHead();
    }
    if (this.#framing === "close") this.#finish();
    else this.fail(new Error("the connection closed before the answer was complete"));
  }

  fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#outcome = { error };
    this.#settle?.reject(error);
  }

  #parseHead(): boolean {
    const end = this.#pending.indexOf("\r\n\r\n");
    if (end < 0) return false;
    const [statusLine, ...lines] = this.#pending.subarray(0, end).toString("latin1").split("\r\n");
    this.#pending = this.#pending.subarray(end + 4);
    this.#head = false;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (/chunked/i.test(headers["transfer-encoding"] ?? "")) this.#framing = "chunked";
    else if (headers["content-length"] !== undefined) {
      this.#framing = "length";
      this.#remaining = Number(headers["content-length"]);
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0);
    this.onHead({ status, headers, read: (onText) => this.#read(onText) });
    return true;
  }

  #parseBody(): void {
    if (this.#framing !== "chunked") {
      const take = this.#framing === "length" ? this.#pending.subarray(0, this.#remaining) : this.#pending;
      this.#pending = Buffer.alloc(0);
      this.#emit(take);
      if (this.#framing === "length" && (this.#remaining -= take.length) <= 0) this.#finish();
      return;
    }
    for (;;) {
      if (this.#chunk === "size") {
        const eol = this.#pending.indexOf("\r\n");
        if (eol < 0) return;
        const size = parseInt(this.#pending.subarray(0, eol).toString("latin1"), 16);
        if (!Number.isFinite(size) || size < 0) return this.fail(new Error("a malformed chunk in the answer"));
        this.#pending = this.#pending.subarray(eol + 2);
        if (size === 0) return this.#finish(); // the last chunk (trailers are not used)
        this.#remaining = size;
        this.#chunk = "data";
      }
      if (this.#chunk === "data") {
        // What there is of a chunk goes on at once: a stream's progress line must not wait for the rest.
        if (this.#pending.length === 0) return;
        const part = this.#pending.subarray(0, this.#remaining);
        this.#pending = this.#pending.subarray(part.length);
        this.#remaining -= part.length;
        this.#emit(part);
        if (this.#remaining > 0) return;
        this.#chunk = "crlf";
      }
      if (this.#pending.length < 2) return;
      this.#pending = this.#pending.subarray(2); // the CRLF after a chunk's data
      this.#chunk = "size";
    }
  }

  #emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const text = this.#decoder.decode(bytes, { stream: true });
    if (this.#onText) this.#onText(text);
    else this.#text += text;
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#outcome = {};
    const rest = this.#decoder.decode();
    if (rest) this.#emit(Buffer.from(rest));
    this.onDone();
    this.#settle?.resolve();
  }

  #read(onText: (text: string) => void): Promise<void> {
    if (this.#text) onText(this.#text);
    this.#text = "";
    this.#onText = onText;
    if (this.#outcome) return this.#outcome.error ? Promise.reject(this.#outcome.error) : Promise.resolve();
    return new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
  }
}

/**
 * ENGINEROOM_CLI_TIMING=1 (bench/cli-rollback.ts sets it): one line on standard error per step of
 * the call, in ms since the process's time origin, with Node's own start-up milestones, so the
 * benchmark can say where a command's time goes.
 */
const timing = process.env.ENGINEROOM_CLI_TIMING === "1";

function mark(step: "sent" | "answered" | "ended"): void {
  // The clock first: the first use of `performance` loads perf_hooks, which must not count.
  const taken = process.hrtime.bigint();
  const { bootstrapComplete } = performance.nodeTiming;
  const at = performance.now() - Number(process.hrtime.bigint() - taken) / 1e6;
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000; // of this process so far: what a shared machine's load does not inflate much
  process.stderr.write(`cli-timing ${JSON.stringify({ step, at, timeOrigin: performance.timeOrigin, bootstrapComplete, cpuMs })}\n`);
}

interface WireError {
  code: ErrorCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

async function json<T>(res: Answer): Promise<T> {
  let text = "";
  try {
    await res.read((chunk) => (text += chunk));
  } catch {
    throw new EngineError("ENGINE_GONE", "The engine went away before its answer was complete.");
  }
  let body: T & { error?: WireError };
  try {
    body = JSON.parse(text) as T & { error?: WireError };
  } catch {
    throw new EngineError("ENGINE_GONE", `The engine's answer was cut off or is not JSON (HTTP ${res.status}).`);
  }
  if (res.status === 0 || res.status >= 400) throw fromWire(body.error);
  return body;
}

function fromWire(error: WireError | undefined): EngineError {
  if (!error) return new EngineError("INTERNAL", "The engine answered an error without details.");
  return new EngineError(error.code, error.message, { hint: error.hint, details: error.details });
}
