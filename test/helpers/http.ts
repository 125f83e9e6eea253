import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: () => any;
}

/**
 * One HTTP(S) request over a real socket with exactly the headers given (a forged Host too, which
 * fetch would not send), read to its end.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; ca?: string | Buffer } = {},
): Promise<RawAnswer> {
  const target = new URL(url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...(payload !== undefined && { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }), ...options.headers };
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      { host: target.hostname.replace(/^\[|\]$/g, ""), port: target.port, path: target.pathname + target.search, method: options.method ?? "GET", headers, ...(options.ca && { ca: options.ca }), agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
