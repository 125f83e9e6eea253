import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * Scripts only from this origin, no inline script, no framing; inline styles for uPlot's and the
 * embedded report's. The report is shown in a sandboxed `srcdoc` frame, so it can run nothing.
 */
const securityHeaders = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The dashboard's files (src/ui/assets, copied beside the build's dist/ui/ by scripts/build-ui.mjs) and uPlot's, read once. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (name: string, path: string) => {
    const body = readFileSync(path);
    assets.set(name, { type: types[extname(name)] ?? "application/octet-stream", body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` });
  };
  const dir = join(import.meta.dirname, "assets");
  for (const name of readdirSync(dir)) add(name, join(dir, name));
  const require = createRequire(import.meta.url);
  add("uPlot.esm.js", require.resolve("uplot/dist/uPlot.esm.js"));
  add("uPlot.min.css", require.resolve("uplot/dist/uPlot.min.css"));
  return assets;
}

/** Paths the dashboard serves without a token: its own files (no data in them), and the public status page when enabled. */
export function isDashboardPath(path: string): boolean {
  return path === "/" || path === "/status" || path === "/status.json" || /^\/ui\/[\w.-]+$/.test(path);
}

/**
 * The web dashboard on the API's listener: `/` (the app, which reads everything from /v1 with the
 * session cookie), `/ui/<file>` (its modules, styles and uPlot), and, with
 * `dashboard.public_status: true`, the read-only `/status` page and its `/status.json`
 * (API_NOT_FOUND otherwise).
 */
export function registerDashboard(app: FastifyInstance, ops: Operations): void {
  const assets = loadAssets();
  const send = (reply: FastifyReply, asset: Asset, ifNoneMatch: string | undefined) => {
    void reply.headers({ ...securityHeaders, etag: asset.etag, "cache-control": "no-cache" });
    if (ifNoneMatch === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  };

  app.get("/", async (request, reply) => send(reply, assets.get("index.html")!, request.headers["if-none-match"]));

  app.get<{ Params: { file: string } }>("/ui/:file", async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return reply.status(404).headers(securityHeaders).type("text/plain; charset=utf-8").send("Not found");
    return send(reply, asset, request.headers["if-none-match"]);
  });

  app.get("/status", async (request, reply) => {
    await ops.publicStatus(); // API_NOT_FOUND when not enabled
    return send(reply, assets.get("status.html")!, request.headers["if-none-match"]);
  });

  app.get("/status.json", async (_request, reply) => {
    void reply.headers({ "cache-control": "no-store" });
    return redactor.redactDeep(await ops.publicStatus());
  });
}
