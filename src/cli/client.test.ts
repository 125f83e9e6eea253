import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Progress } from "../deploy/index.js";
import { ApiClient } from "./client.js";

// The CLI's hand-written HTTP/1.1 client against a real node:http server (the engine's API runs on
// one, under fastify): JSON by content-length, NDJSON streams by chunked coding, errors, cut-offs.

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const handlers = new Map<string, Handler>();
let server: Server;
let client: ApiClient;
const seen: { method: string; url: string; auth?: string; body: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      handlers.get(req.url!)?.(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new ApiClient({ address: `127.0.0.1:${(server.address() as AddressInfo).port}`, token: "t0ken" });
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ApiClient over node:net", () => {
  it("sends the token and a JSON body, and reads a JSON answer framed by content-length (multi-byte text included)", async () => {
    const answer = JSON.stringify({ name: "Grüße → ✓", list: Array.from({ length: 5_000 }, (_, i) => i) });
    handlers.set("/v1/json", (_req, res) => {
      res.setHeader("content-type", "application/json");
      res.setHeader("content-length", Buffer.byteLength(answer));
      res.end(answer);
    });
    const got = await client.post<{ name: string; list: number[] }>("/v1/json", { env: "production" });
    assert.equal(got.name, "Grüße → ✓");
    assert.equal(got.list.length, 5_000);
    const request = seen.find((s) => s.url === "/v1/json")!;
    assert.equal(request.method, "POST");
    assert.equal(request.auth, "Bearer t0ken");
    assert.deepEqual(JSON.parse(request.body), { env: "production" });
  });

  it("turns an error answer into the EngineError it carries", async () => {
    handlers.set("/v1/missing", (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "SERVICE_NOT_FOUND", message: "No service nope.", hint: "Check the name." } }));
    });
    await assert.rejects(client.get("/v1/missing"), (e: Error & { code?: string; hint?: string }) => e.code === "SERVICE_NOT_FOUND" && e.hint === "Check the name.");
  });

  it("passes on each progress line of a chunked stream as it arrives, even split inside a line and a character", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    handlers.set("/v1/stream", async (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      const first = Buffer.from(JSON.stringify({ progress: { step: "target", message: "v2 → v1 ✓" } }) + "\n");
      // One line in three writes (so three chunks), the cut falling inside the three bytes of "✓".
      const cut = first.indexOf("✓") + 1;
      res.write(first.subarray(0, 5));
      await later(5);
      res.write(first.subarray(5, cut));
      await later(5);
      res.write(first.subarray(cut));
      await gate; // the client must have seen the first line before the rest is sent
      res.write(JSON.stringify({ progress: { step: "switched", message: "traffic on v1" } }) + "\n" + JSON.stringify({ result: { ok: true } }) + "\n");
      res.end();
    });
    const progress: Progress[] = [];
    const result = await client.stream<{ ok: boolean }>("POST", "/v1/stream", {}, {
      operation: "rollback",
      subject: "web",
      onProgress: (p) => {
        progress.push(p);
        if (progress.length === 1) release();
      },
    });
    assert.deepEqual(result, { ok: true });
    assert.deepEqual(progress.map((p) => p.message), ["v2 → v1 ✓", "traffic on v1"]);
  });

  it("a stream's error line is thrown with its code", async () => {
    handlers.set("/v1/stream-error", (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end(JSON.stringify({ error: { code: "ROLLBACK_FAILED", message: "v1 did not come back.", hint: "Look at its logs." } }) + "\n");
    });
    await assert.rejects(client.stream("POST", "/v1/stream-error", {}, { operation: "rollback", subject: "web", onProgress: () => {} }), (e: Error & { code?: string }) => e.code === "ROLLBACK_FAILED");
  });

  it("a stream cut off before its last line is ENGINE_GONE, saying how far it had got", async () => {
    handlers.set("/v1/stream-cut", async (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(JSON.stringify({ progress: { step: "target", message: "rolling back" } }) + "\n");
      await later(10);
      res.socket!.destroy();
    });
    await assert.rejects(
      client.stream("POST", "/v1/stream-cut", {}, { operation: "rollback", subject: "web", onProgress: () => {} }),
      (e: Error & { code?: string }) => e.code === "ENGINE_GONE" && /went away during the command/.test(e.message),
    );
  });

  it("a connection closed before any answer is ENGINE_GONE; nobody listening is ENGINE_NOT_RUNNING", async () => {
    handlers.set("/v1/hang-up", (req) => req.socket.destroy());
    await assert.rejects(client.get("/v1/hang-up"), (e: Error & { code?: string }) => e.code === "ENGINE_GONE");
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nobody = new ApiClient({ address: `127.0.0.1:${port}`, token: "t" });
    await assert.rejects(nobody.get("/v1/status"), (e: Error & { code?: string }) => e.code === "ENGINE_NOT_RUNNING");
  });

  it("an aborted stream rejects at once and closes the connection, which the server sees", async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((r) => (serverSawClose = r));
    handlers.set("/v1/slow", (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(JSON.stringify({ progress: { step: "starting", message: "…" } }) + "\n");
      res.on("close", () => serverSawClose());
    });
    const controller = new AbortController();
    const call = client.stream("POST", "/v1/slow", {}, { operation: "deploy", subject: "web", onProgress: () => controller.abort(new Error("interrupted")), signal: controller.signal });
    await assert.rejects(call, /interrupted/);
    await closed;
  });
});
