import { request, type IncomingMessage } from "node:http";
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
 * The CLI's client of a running engine's API, over node:http alone (it is on the path of every
 * command: `engineroom rollback` must not spend its time loading an HTTP stack).
 */
export class ApiClient {
  readonly address: string;
  #host: string;
  #port: number;
  #auth: string;

  constructor(options: { address: string; token: string }) {
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

  /** POSTs JSON and reads a JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    return json<T>(await this.#send("POST", path, body));
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
      res.setEncoding("utf8");
      for await (const chunk of res as AsyncIterable<string>) {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          take(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
      }
      take(buffered);
    } catch (error) {
      if (call.signal?.aborted) throw error;
      // The connection broke: fall through, `outcome` tells whether the answer was complete.
    }
    if (!outcome) throw new EngineError("ENGINE_GONE", `The engine went away during the command: ${describeCutOff(call.operation, call.subject, seen)}.`);
    if ("error" in outcome) throw fromWire(outcome.error);
    return outcome.result;
  }

  #send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { authorization: this.#auth };
    if (payload !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
    return new Promise((resolve, reject) => {
      const req = request({ host: this.#host, port: this.#port, method, path, headers, signal, agent: false }, resolve);
      req.once("error", (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return reject(error);
        if (error.code === "ECONNREFUSED" || error.code === "ENOENT" || error.code === "EHOSTUNREACH") {
          return reject(new EngineError("ENGINE_NOT_RUNNING", `No engine answers at http://${this.address} (${error.code}).`));
        }
        reject(new EngineError("ENGINE_GONE", `The engine at http://${this.address} closed the connection before it answered (${error.code ?? error.message}); the command may or may not have begun.`));
      });
      req.end(payload);
    });
  }
}

interface WireError {
  code: ErrorCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

async function json<T>(res: IncomingMessage): Promise<T> {
  let text = "";
  try {
    res.setEncoding("utf8");
    for await (const chunk of res as AsyncIterable<string>) text += chunk;
  } catch {
    throw new EngineError("ENGINE_GONE", "The engine went away before its answer was complete.");
  }
  let body: T & { error?: WireError };
  try {
    body = JSON.parse(text) as T & { error?: WireError };
  } catch {
    throw new EngineError("ENGINE_GONE", `The engine's answer was cut off or is not JSON (HTTP ${res.statusCode}).`);
  }
  if ((res.statusCode ?? 500) >= 400) throw fromWire(body.error);
  return body;
}

function fromWire(error: WireError | undefined): EngineError {
  if (!error) return new EngineError("INTERNAL", "The engine answered an error without details.");
  return new EngineError(error.code, error.message, { hint: error.hint, details: error.details });
}
