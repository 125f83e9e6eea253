import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { latencyBoundsMs } from "./types.js";
import { totals } from "./hotpath-support.js";
import { eventually, route, send, startProxy, total, upstreamSet, type StartedProxy } from "./test-support.js";

let p: StartedProxy;
const upstreams = upstreamSet();
const up = upstreams.start;

before(async () => {
  p = await startProxy({ upstreamTimeoutMs: 1_500 });
});

after(async () => {
  await p.proxy.stop(1_000);
  await upstreams.closeAll();
});

test("routes by host and longest path prefix; no route → 404 'no route'", async () => {
  const [root, api, shop] = [await up("root"), await up("api"), await up("shop")];
  await p.proxy.apply([route([root]), route([api], { pathPrefix: "/api" }), route([shop], { host: "shop.test" })]);
  assert.equal((await send(p.port, "/", { host: "any.test" })).body, "root");
  assert.equal((await send(p.port, "/api/v1", { host: "any.test:8080" })).body, "api");
  assert.equal((await send(p.port, "/api/v1", { host: "SHOP.test" })).body, "shop");

  await p.proxy.apply([route([shop], { host: "shop.test" })]);
  const missing = await send(p.port, "/", { host: "any.test" });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.trim(), "no route");
});

test("balances round robin across a route's upstreams", async () => {
  const [a, b, c] = [await up("a"), await up("b"), await up("c")];
  await p.proxy.apply([route([a, b, c])]);
  const bodies: string[] = [];
  for (let i = 0; i < 9; i++) bodies.push((await send(p.port, "/")).body);
  assert.deepEqual([...bodies].sort(), ["a", "a", "a", "b", "b", "b", "c", "c", "c"]);
  assert.deepEqual(bodies.slice(0, 3).sort(), ["a", "b", "c"]);
});

test("sets X-Forwarded-* and strips hop-by-hop headers both ways", async () => {
  const echo = await up("echo", (req, res) => {
    res.writeHead(200, { connection: "keep-alive, x-hop-back", "x-hop-back": "1", "x-kept": "yes", "content-type": "application/json" });
    res.end(JSON.stringify(req.headers));
    return true;
  });
  await p.proxy.apply([route([echo])]);
  const answer = await send(p.port, "/h", {
    host: "shop.test:8080",
    headers: { "x-forwarded-for": "203.0.113.7", connection: "x-hop", "x-hop": "1", te: "trailers", "keep-alive": "timeout=5", "x-end": "kept" },
  });
  const seen = JSON.parse(answer.body) as Record<string, string>;
  assert.equal(seen["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
  assert.equal(seen["x-forwarded-proto"], "http");
  assert.equal(seen["x-forwarded-host"], "shop.test:8080");
  assert.equal(seen.host, "shop.test:8080");
  assert.equal(seen["x-end"], "kept");
  for (const hop of ["x-hop", "te", "keep-alive"]) assert.equal(seen[hop], undefined, hop);
  assert.equal(answer.headers["x-kept"], "yes");
  assert.equal(answer.headers["x-hop-back"], undefined);
});

test("streams request and response bodies without buffering them", async () => {
  let gotFirstUpload: () => void;
  const firstUpload = new Promise<void>((r) => (gotFirstUpload = r));
  let finishDownload: () => void;
  const downloadGate = new Promise<void>((r) => (finishDownload = r));
  const stream = await up("stream", (req, res) => {
    let received = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      if (!received) gotFirstUpload();
      received += chunk;
    });
    req.on("end", () => {
      res.write(`got ${received};`);
      void downloadGate.then(() => res.end("done"));
    });
    return true;
  });
  await p.proxy.apply([route([stream])]);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: p.port, path: "/s", method: "POST", headers: { host: "app.test" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        // The first part arrived while the upstream still holds the rest back.
        if (text.startsWith("got ") && !text.endsWith("done")) finishDownload();
      });
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.write("part1,");
    // The upstream sees the first part before the client has sent the rest.
    void firstUpload.then(() => req.end("part2"));
  });
  assert.equal(body, "got part1,part2;done");
});

test("metrics: status classes, upstream errors (502/504) and latency counts per release", async () => {
  const statuses = await up("statuses", (req, res) => {
    const code = Number(req.url!.slice(1));
    if (code === 0) return false; // hang: never answers (timeout test)
    res.statusCode = code;
    res.end();
    return true;
  });
  const releaseId = "rel_metrics";
  const down = await up("down");
  await down.close(); // nothing listens on its port any more
  await p.proxy.apply([
    route([statuses], { releaseId, pathPrefix: "/" }),
    route([down], { releaseId: "rel_down", pathPrefix: "/down" }),
  ]);
  for (const path of ["/200", "/204", "/301", "/404", "/503"]) await send(p.port, path);
  const refused = await send(p.port, "/down");
  assert.equal(refused.status, 502);

  statuses.server.removeAllListeners("request");
  statuses.server.on("request", () => {}); // never answers now
  const slow = await send(p.port, "/hang");
  assert.equal(slow.status, 504);
  await eventually(() => totals(p.buckets, releaseId).upstreamTimeouts === 1, 5_000, "the 504 counted as an upstream timeout");

  const sum = await eventually(() => {
    const s = total(p.buckets, releaseId);
    return s.upstreamErrors === 1 && total(p.buckets, "rel_down").upstreamErrors === 1 ? s : undefined;
  }, 5_000, "metrics buckets");
  assert.deepEqual({ ...sum, latency: undefined }, { "1xx": 0, "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 1, upstreamErrors: 1, upstreamTimeouts: 1, retried: 0, clientAborts: 0, latency: undefined });
  assert.equal(sum.latency, 6, "every answered request is in the latency histogram");
  const bucket = p.buckets.find((b) => b.releaseId === releaseId)!;
  assert.equal(bucket.latency.length, latencyBoundsMs.length + 1);
  assert.equal(bucket.service, "web");
  assert.equal(bucket.time % 1000, 0);
});

test("a client that gives up before the answer counts as a client abort", async () => {
  let arrived: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  const slow = await up("slow", () => {
    arrived();
    return true; // never answers
  });
  await p.proxy.apply([route([slow], { releaseId: "rel_abort" })]);
  const req = request({ host: "127.0.0.1", port: p.port, path: "/", headers: { host: "app.test" } });
  req.on("error", () => {});
  req.end();
  await arrival;
  assert.equal(await p.proxy.inFlight("rel_abort"), 1);
  req.destroy();
  await eventually(() => total(p.buckets, "rel_abort").clientAborts === 1, 5_000, "client abort in metrics");
  assert.equal(await p.proxy.inFlight("rel_abort"), 0);
  assert.equal(total(p.buckets, "rel_abort").upstreamErrors, 0);
});

test("a GET whose kept-alive connection the upstream dropped is retried once; a POST is not", async () => {
  let resets = 0;
  const flaky = await up("flaky", (req, res) => {
    // Drop the connection without an answer, every other request.
    if (resets++ % 2 === 0) {
      req.socket.destroy();
      return true;
    }
    req.resume();
    res.end("flaky");
    return true;
  });
  await p.proxy.apply([route([flaky], { releaseId: "rel_flaky" })]);
  const get = await send(p.port, "/");
  assert.deepEqual([get.status, get.body], [200, "flaky"]);
  const post = await send(p.port, "/", { method: "POST", body: "x" });
  assert.equal(post.status, 502);
  // Both failed tries are upstream errors of the release; the GET's was retried, the client never saw it.
  const sum = await eventually(() => {
    const s = totals(p.buckets, "rel_flaky");
    return s.upstreamErrors === 2 ? s : undefined;
  }, 3_000, "two upstream errors");
  assert.deepEqual([sum["2xx"], sum.retried], [1, 1]);
});

test("a slow client holds the upstream back instead of the proxy buffering the body", async () => {
  const chunk = Buffer.alloc(64 * 1024, 120);
  const totalBytes = 64 * 1024 * 1024;
  let written = 0;
  const big = await up("big", (_req, res) => {
    res.writeHead(200, { "content-length": String(totalBytes) });
    const pump = () => {
      while (written < totalBytes) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
    return true;
  });
  await p.proxy.apply([route([big], { releaseId: "rel_big" })]);
  const received = await new Promise<number>((resolve, reject) => {
    request({ host: "127.0.0.1", port: p.port, path: "/", headers: { host: "app.test" } }, (res) => {
      let bytes = 0;
      res.once("data", (first: Buffer) => {
        bytes += first.length;
        res.pause();
        setTimeout(() => {
          // Socket buffers on the way hold some megabytes; the proxy must not hold the rest.
          assert.ok(written < totalBytes / 2, `the upstream got ${written} bytes ahead of a paused client`);
          res.on("data", (c: Buffer) => (bytes += c.length));
          res.resume();
        }, 300);
      });
      res.on("end", () => resolve(bytes));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
  assert.equal(received, totalBytes);
});

test("response headers pass unchanged from one response to the next, a changed value included (the header cache)", async () => {
  let n = 0;
  const varying = await up("varying", (_req, res) => {
    n++;
    res.writeHead(200, [["X-Count", String(n)], ["X-Same", "same"], ["Keep-Alive", "timeout=5"], ["X-Latin1", "caf\u00e9"]].flat());
    res.end();
    return true;
  });
  await p.proxy.apply([route([varying], { releaseId: "rel_varying" })]);
  for (const expected of ["1", "2", "3"]) {
    const answer = await send(p.port, "/");
    assert.equal(answer.headers["x-count"], expected);
    assert.equal(answer.headers["x-same"], "same");
    assert.equal(answer.headers["x-latin1"], "caf\u00e9", "latin1 bytes pass unchanged");
    assert.equal(answer.headers["keep-alive"], undefined, "a hop-by-hop header stays dropped");
  }
});
