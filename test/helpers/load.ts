import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  failures: number;
  /** Status codes other than 200, and socket errors, with counts. */
  problems: Record<string, number>;
  /** How many answers each version (x-version header) gave. */
  versions: Record<string, number>;
}

/**
 * Sends keep-alive GET requests to `url` from `connections` loops until `stop()` is called,
 * `maxRequests` were sent, or `maxMs` passed — whichever comes first. Loopback only.
 */
export function startLoad(url: string, options: { connections?: number; maxRequests?: number; maxMs?: number; path?: string } = {}) {
  const connections = options.connections ?? 8;
  const maxRequests = options.maxRequests ?? 50_000;
  const deadline = Date.now() + (options.maxMs ?? 60_000);
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const result: LoadResult = { requests: 0, failures: 0, problems: {}, versions: {} };
  let stopped = false;
  const note = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
  const loop = async () => {
    while (!stopped && result.requests < maxRequests && Date.now() < deadline) {
      result.requests++;
      try {
        const res = await pool.request({ method: "GET", path: options.path ?? "/" });
        await res.body.text();
        if (res.statusCode !== 200) {
          result.failures++;
          note(result.problems, `status ${res.statusCode}`);
        } else {
          note(result.versions, String(res.headers["x-version"] ?? "none"));
        }
      } catch (error) {
        result.failures++;
        note(result.problems, (error as NodeJS.ErrnoException).code ?? String(error));
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    result,
    /** Stops the loops and resolves with the totals. */
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(loops);
      await pool.close();
      return result;
    },
  };
}

/** One GET through the proxy; resolves with status, x-version and body. */
export async function get(url: string): Promise<{ status: number; version: string | undefined; body: string }> {
  const res = await fetch(url);
  return { status: res.status, version: res.headers.get("x-version") ?? undefined, body: await res.text() };
}

/**
 * Sends GET requests at about `rps` per second (each on the pool's keep-alive connections) until
 * `stop()` or `maxMs`. Loopback only; bounded in time and count.
 */
export function startPacedLoad(url: string, options: { rps: number; maxMs: number; path?: string }) {
  const pool = new Pool(url, { connections: 16, keepAliveTimeout: 30_000 });
  const result: LoadResult = { requests: 0, failures: 0, problems: {}, versions: {} };
  const deadline = Date.now() + options.maxMs;
  const maxRequests = Math.ceil((options.rps * options.maxMs) / 1000) + 1;
  const pending = new Set<Promise<void>>();
  const note = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
  const fire = () => {
    result.requests++;
    const request = pool
      .request({ method: "GET", path: options.path ?? "/" })
      .then(async (res) => {
        await res.body.text();
        if (res.statusCode !== 200) {
          result.failures++;
          note(result.problems, `status ${res.statusCode}`);
        } else note(result.versions, String(res.headers["x-version"] ?? "none"));
      })
      .catch((error) => {
        result.failures++;
        note(result.problems, (error as NodeJS.ErrnoException).code ?? String(error));
      });
    pending.add(request);
    void request.finally(() => pending.delete(request));
  };
  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() >= deadline || result.requests >= maxRequests) return clearInterval(timer);
    // Catch up to the rate the elapsed time calls for (timers are coarse).
    const due = Math.floor(((Date.now() - started) * options.rps) / 1000);
    while (result.requests < Math.min(due, maxRequests)) fire();
  }, 10);
  let stopped: Promise<LoadResult> | undefined;
  return {
    result,
    /** Stops sending, waits for the answers in flight; idempotent. */
    stop(): Promise<LoadResult> {
      stopped ??= (async () => {
        clearInterval(timer);
        await Promise.allSettled([...pending]);
        await pool.close();
        return result;
      })();
      return stopped;
    },
  };
}
