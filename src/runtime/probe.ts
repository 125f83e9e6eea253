import { request } from "node:http";
import type { InstanceProbe, ProbeResult } from "./types.js";

/** A probe of the instance at `host:port`. */
export interface ProbeRequest extends InstanceProbe {
  host: string;
  port: number;
}

/** One HTTP request straight to an instance, never through the proxy, on a fresh connection. */
export function probe(req: ProbeRequest): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const maxBody = req.maxBodyBytes ?? 64 * 1024;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const outgoing = request(
      {
        host: req.host,
        port: req.port,
        method: req.method ?? "GET",
        path: req.path,
        headers: { "user-agent": "engineroom-probe", ...req.headers },
        agent: false,
        signal: req.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < maxBody) {
            chunks.push(chunk.subarray(0, maxBody - kept));
            kept += Math.min(chunk.length, maxBody - kept);
          }
        });
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          finish({ ok: true, status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8"), ms: elapsed() });
        });
        res.on("error", (error) => finish({ ok: false, error: error.message, ms: elapsed() }));
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      finish({ ok: false, error: `no answer within ${req.timeoutMs}ms`, ms: elapsed() });
    }, req.timeoutMs);
    outgoing.on("error", (error: NodeJS.ErrnoException) =>
      finish({ ok: false, error: error.code ? `${error.code} ${error.message}` : error.message, ms: elapsed() }),
    );
    outgoing.end(req.body);
  });
}
