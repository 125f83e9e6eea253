import { request } from "undici";
import { EngineError, type ErrorCode } from "../core/index.js";
import type { Progress } from "../deploy/index.js";

export interface ApiClientOptions {
  /** host:port of the API. */
  address: string;
  token: string;
}

/** The CLI's (and any script's) way to talk to a running engine. */
export class ApiClient {
  #base: string;
  #auth: string;

  constructor(options: ApiClientOptions) {
    this.#base = `http://${options.address}`;
    this.#auth = `Bearer ${options.token}`;
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.#send("GET", path);
    const body = (await res.body.json()) as T & { error?: WireError };
    if (res.statusCode >= 400) throw fromWire(body.error);
    return body;
  }

  /** POSTs JSON and reads a JSON answer. */
  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.#send("POST", path, body);
    const answer = (await res.body.json()) as T & { error?: WireError };
    if (res.statusCode >= 400) throw fromWire(answer.error);
    return answer;
  }

  /** POSTs and reads the NDJSON stream, calling `onProgress` per progress line; resolves with the result or throws the error. */
  async stream<T>(path: string, body: unknown, onProgress: (p: Progress) => void, signal?: AbortSignal): Promise<T> {
    return this.#readStream<T>(await this.#send("POST", path, body, signal), onProgress);
  }

  /** GETs an NDJSON stream (e.g. a watch), as `stream` does. */
  async streamGet<T>(path: string, onProgress: (p: Progress) => void, signal?: AbortSignal): Promise<T> {
    return this.#readStream<T>(await this.#send("GET", path, undefined, signal), onProgress);
  }

  async #readStream<T>(res: Awaited<ReturnType<typeof request>>, onProgress: (p: Progress) => void): Promise<T> {
    if (res.statusCode >= 400) throw fromWire(((await res.body.json()) as { error?: WireError }).error);
    let buffered = "";
    let outcome: { result: T } | { error: WireError } | undefined;
    for await (const chunk of res.body) {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line) as { progress?: Progress; result?: T; error?: WireError };
        if (message.progress) onProgress(message.progress);
        else if ("result" in message) outcome = { result: message.result as T };
        else if (message.error) outcome = { error: message.error };
      }
    }
    if (!outcome) throw new EngineError("ENGINE_NOT_RUNNING", "The engine closed the connection before the answer was complete.");
    if ("error" in outcome) throw fromWire(outcome.error);
    return outcome.result;
  }

  async #send(method: string, path: string, body?: unknown, signal?: AbortSignal) {
    try {
      return await request(this.#base + path, {
        method,
        headers: { authorization: this.#auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new EngineError("ENGINE_NOT_RUNNING", `No engine answers at ${this.#base} (${(error as Error).message}).`);
    }
  }
}

interface WireError {
  code: ErrorCode;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

function fromWire(error: WireError | undefined): EngineError {
  if (!error) return new EngineError("INTERNAL", "The engine answered an error without details.");
  return new EngineError(error.code, error.message, { hint: error.hint, details: error.details });
}
