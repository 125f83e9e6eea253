import { ChannelError, type ChannelReceipt } from "./types.js";

/** The most of a receiver's answer kept in an error: enough to tell `invalid_payload` from `no_service`. */
const maxBodyInError = 200;

export interface PostOptions {
  /** Names the channel in errors; the URL never appears in one (its path often is the token). */
  channel: string;
  url: URL;
  body: string;
  headers: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Milliseconds since the epoch, to read a Retry-After given as an HTTP date. */
  now: number;
}

/**
 * POSTs a JSON body and classifies the answer the way the notifier retries: 2xx is delivered; 429
 * (and 503) with Retry-After waits that long; 408, 429 and 5xx are retried; other 4xx are permanent
 * (the receiver will not take this body however often it is sent); network errors are retried.
 */
export async function postJson(options: PostOptions): Promise<ChannelReceipt> {
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "engineroom", ...options.headers },
      body: options.body,
      signal: options.signal,
      redirect: "manual",
    });
  } catch (error) {
    throw new ChannelError(`POST to channel ${options.channel} failed: ${networkReason(error, options.signal)}`);
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    await response.body?.cancel().catch(() => {});
    return { status };
  }
  const text = await readSome(response);
  const answer = `HTTP ${status}${text ? `: ${text}` : ""}`;
  const retryAfterMs = retryAfter(response.headers.get("retry-after"), options.now);
  if (status === 429 || status === 408 || status >= 500) {
    const wait = retryAfterMs === undefined ? "" : ` (retry after ${Math.ceil(retryAfterMs / 1000)}s)`;
    throw new ChannelError(`channel ${options.channel} answered ${answer}${wait}`, { status, retryAfterMs });
  }
  const why = status >= 300 && status < 400 ? " (a redirect: point the channel at the final URL)" : "";
  throw new ChannelError(`channel ${options.channel} refused the message: ${answer}${why}`, { status, permanent: true });
}

/**
 * A URL's user and password (`https://user:pass@host/`) as a Basic Authorization header: fetch
 * refuses URLs that hold credentials, and a header keeps them out of any URL that gets logged.
 */
export function withoutCredentials(url: URL): { url: URL; authorization: string | undefined } {
  if (!url.username && !url.password) return { url, authorization: undefined };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  const bare = new URL(url);
  bare.username = "";
  bare.password = "";
  return { url: bare, authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function retryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function readSome(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, " ").trim();
    return text.length > maxBodyInError ? `${text.slice(0, maxBodyInError)}…` : text;
  } catch {
    return "";
  }
}

/**
 * Why fetch failed, from its cause's code (ECONNREFUSED, ENOTFOUND, a TLS error), never its message
 * alone: undici's messages can name the URL.
 */
function networkReason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (code) return code;
  return error instanceof Error && error.name === "AbortError" ? "aborted" : "network error";
}
