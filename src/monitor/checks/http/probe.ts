import type { Dispatcher } from "undici";
import { describeNetworkError } from "../network.js";
import type { FieldValue, Probe, ProbeOutcome } from "../types.js";
import { certificateExpiresAt, httpDispatcher } from "./dispatcher.js";
import type { HttpOptions } from "./index.js";

type PathStep = string | number;

/** `items[0].id` → ["items", 0, "id"] (a list at the top: `[0].id`); undefined when it does not parse. */
export function parseJsonPath(path: string): PathStep[] | undefined {
  const steps: PathStep[] = [];
  // A key is preceded by a dot except at the start; an index by nothing.
  const first = /([A-Za-z_$][\w$-]*)|\[(\d+)\]/y;
  const next = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]/y;
  let at = 0;
  while (at < path.length) {
    const pattern = at === 0 ? first : next;
    pattern.lastIndex = at;
    const match = pattern.exec(path);
    if (!match) return undefined;
    steps.push(match[1] !== undefined ? match[1] : Number(match[2]));
    at = pattern.lastIndex;
  }
  return steps.length > 0 ? steps : undefined;
}

function readPath(document: unknown, steps: readonly PathStep[]): FieldValue {
  let node = document;
  for (const step of steps) {
    if (node === null || typeof node !== "object") return null;
    if (typeof step === "number" ? !Array.isArray(node) : Array.isArray(node) || !Object.hasOwn(node, step)) return null;
    node = (node as Record<PathStep, unknown>)[step];
  }
  if (node === undefined) return null;
  // An object or a list is shown as its JSON text, which `contains` can read.
  return node !== null && typeof node === "object" ? JSON.stringify(node) : (node as FieldValue);
}

/** One configured HTTP request; see `httpCheck`. */
export class HttpProbe implements Probe {
  readonly target: string;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #dispatcher: Dispatcher;
  readonly #maxBodyBytes: number;
  readonly #readsBody: boolean;
  readonly #reportsBody: boolean;
  readonly #jsonPaths: [string, PathStep[]][];
  readonly #headers: [string, string][];
  readonly #https: { hostname: string; port: number } | undefined;

  constructor(options: HttpOptions, reads: readonly string[]) {
    const url = new URL(options.url);
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    this.target = `${url.hostname}:${port}`;
    const headers: Record<string, string> = { ...options.headers };
    // Credentials in the URL become a Basic header, so the URL itself is never sent or shown with them.
    if ((url.username || url.password) && !Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    }
    this.#options = { origin: url.origin, path: `${url.pathname}${url.search}`, method: options.method, headers, body: options.body };
    this.#dispatcher = httpDispatcher(options.tls_verify);
    this.#maxBodyBytes = options.max_body_bytes;
    this.#jsonPaths = reads.filter((field) => field.startsWith("body.json.")).map((field) => [field, parseJsonPath(field.slice("body.json.".length)) ?? []]);
    this.#reportsBody = reads.includes("body");
    this.#readsBody = this.#jsonPaths.length > 0 || this.#reportsBody;
    this.#headers = reads.filter((field) => field.startsWith("header.")).map((field) => [field, field.slice("header.".length).toLowerCase()]);
    this.#https = url.protocol === "https:" ? { hostname: url.hostname, port } : undefined;
  }

  run(signal: AbortSignal): Promise<ProbeOutcome> {
    return new Promise((resolve) => {
      const fields: Record<string, FieldValue> = {};
      const chunks: Buffer[] | undefined = this.#readsBody ? [] : undefined;
      let size = 0;
      let controller: Dispatcher.DispatchController | undefined;
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        if (error && error !== bodyLimit) return resolve({ fields, error: describeNetworkError(error, this.target) });
        if (chunks) this.#readBody(fields, Buffer.concat(chunks, size).toString("utf8"));
        if (this.#https) {
          const expiresAt = certificateExpiresAt(this.#https.hostname, this.#https.port);
          // Wall-clock time: a certificate expires on the calendar, not on the engine's clock.
          fields.cert_expires = expiresAt === undefined ? null : expiresAt - Date.now();
        }
        resolve({ fields });
      };
      const onAbort = (): void => {
        controller?.abort(aborted);
        finish(aborted);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const max = this.#maxBodyBytes;
      const headers = this.#headers;
      // dispatch with a handler of our own, rather than request(): no body stream is made per run,
      // and a body no condition reads is dropped chunk by chunk as it arrives.
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
          if (settled) c.abort(aborted);
        },
        onResponseStart: (_, statusCode, responseHeaders) => {
          if (statusCode < 200) return; // 1xx: the answer follows
          fields.status = statusCode;
          for (const [field, name] of headers) {
            const value = responseHeaders[name];
            fields[field] = value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
          }
        },
        onResponseData: (c, chunk) => {
          if (!chunks) return;
          if (size + chunk.length > max) {
            chunks.push(chunk.subarray(0, max - size));
            size = max;
            c.abort(bodyLimit);
          } else {
            chunks.push(chunk);
            size += chunk.length;
          }
        },
        onResponseEnd: () => finish(),
        onResponseError: (_, error) => finish(error),
      };
      try {
        this.#dispatcher.dispatch(this.#options, handler);
      } catch (error) {
        finish(error as Error);
      }
    });
  }

  #readBody(fields: Record<string, FieldValue>, body: string): void {
    if (this.#reportsBody) fields.body = body;
    if (this.#jsonPaths.length === 0) return;
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      document = undefined;
    }
    for (const [field, steps] of this.#jsonPaths) fields[field] = document === undefined ? null : readPath(document, steps);
  }
}

/** Ends a body read at `max_body_bytes`: what was read so far is the body. */
const bodyLimit = new Error("body limit reached");
const aborted = new Error("aborted");

