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
