import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { startForwarder, totals, type InProcessForwarder } from "./hotpath-support.js";
import { eventually, route, send, startUpstream, upstreamSet } from "./test-support.js";

let f: InProcessForwarder;
const upstreams = upstreamSet();
const up = upstreams.start;
/** An upstream address where nothing listens any more (connections are refused). */
const dead = async (name: string) => {
  const u = await startUpstream(name);
  await u.close();
  return u;
};
/** An upstream that resets the connection of every request it gets, without an answer. */
const resetting = (name: string) =>
  up(name, (req) => {
    req.socket.destroy();
    return true;
  });
/** An upstream that echoes method and body. */
const echo = (name: string) =>
  up(name, (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => res.end(`${name} ${req.method} ${body}`));
    return true;
  });

before(async () => {
  f = await startForwarder({ timeoutMs: 600, hungUpstreamMs: 400 });
});

after(async () => {
  await f.close();
  await upstreams.closeAll();
});

test("a refused connection is retried on another upstream of the route, any method, a streamed body intact", async () => {
  const [gone, ok] = [await dead("gone"), await echo("ok")];
  f.apply([route([gone, ok], { releaseId: "rel_refused" })]);
  // Round robin starts at `gone` and alternates: every other request is refused first.
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await send(f.port, "/", { method: i % 2 ? "POST" : "GET", body: i % 2 ? "payload" : undefined }));
  assert.deepEqual(
    answers.map((a) => [a.status, a.body]),
    [
      [200, "ok GET "],
      [200, "ok POST payload"],
      [200, "ok GET "],
      [200, "ok POST payload"],
    ],
  );
  const sum = totals(f.buckets(), "rel_refused");
  assert.deepEqual([sum["2xx"], sum.upstreamErrors, sum.retried, sum.latency], [4, 2, 2, 4], "failed tries are upstream errors, retried, not in latency");
  assert.equal(f.inFlight("rel_refused"), 0);
});

test("a chunked upload whose first try was refused reaches the other upstream whole", async () => {
  const [gone, ok] = [await dead("gone2"), await echo("ok2")];
  f.apply([route([gone, ok], { releaseId: "rel_stream" })]);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: f.port, path: "/", method: "PUT", headers: { host: "app.test" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.write("first,");
    setTimeout(() => req.end("second"), 50);
  });
  assert.equal(body, "ok2 PUT first,second");
});

test("with no other upstream, the warm previous release (fallback) answers, and its metrics count the answer", async () => {
  const [gone, warm] = [await dead("new"), await echo("warm")];
  f.apply([route([gone], { releaseId: "rel_green", fallback: [{ host: "127.0.0.1", port: warm.port, instanceId: "warm" }], fallbackReleaseId: "rel_blue" })]);
  const answer = await send(f.port, "/", { method: "POST", body: "x" });
  assert.deepEqual([answer.status, answer.body], [200, "warm POST x"]);
  const green = totals(f.buckets(), "rel_green");
  const blue = totals(f.buckets(), "rel_blue");
  assert.deepEqual([green.upstreamErrors, green.retried, green["2xx"]], [1, 1, 0], "the failing release shows the failure");
  assert.deepEqual([blue["2xx"], blue.upstreamErrors, blue.latency], [1, 0, 1]);
  assert.deepEqual([f.inFlight("rel_green"), f.inFlight("rel_blue")], [0, 0]);
});

test("a reset before any response byte: idempotent methods are retried elsewhere; a POST that was sent is not", async () => {
  const [broken, ok] = [await resetting("broken"), await echo("fine")];
  f.apply([route([broken, ok], { releaseId: "rel_reset" })]);
  for (const method of ["GET", "PUT", "DELETE", "OPTIONS"]) {
    f.apply([route([broken, ok], { releaseId: "rel_reset" })]); // round robin back to `broken`
    const answer = await send(f.port, "/", { method });
    assert.deepEqual([answer.status, answer.body], [200, `fine ${method} `], method);
  }
  f.apply([route([broken, ok], { releaseId: "rel_reset" })]);
  const post = await send(f.port, "/", { method: "POST", body: "once" });
  assert.equal(post.status, 502);
  const sum = totals(f.buckets(), "rel_reset");
  assert.deepEqual([sum["2xx"], sum.upstreamErrors, sum.retried, sum.latency], [4, 5, 4, 5]);
  assert.equal(broken.seen.filter((r) => r.method === "POST").length, 1, "the POST was sent once");
});

test("refused with nowhere else to go: one 502, one upstream error, not retried", async () => {
  const gone = await dead("alone");
  f.apply([route([gone], { releaseId: "rel_alone" })]);
  assert.equal((await send(f.port, "/")).status, 502);
  const sum = totals(f.buckets(), "rel_alone");
  assert.deepEqual([sum.upstreamErrors, sum.retried, sum.upstreamTimeouts, sum.latency], [1, 0, 0, 1]);
});

test("the proxy's own timeouts (504, a body gone quiet) are upstream errors and upstream timeouts", async () => {
  const slow = await up("slow", (req, res) => {
    if (req.url === "/quiet-body") {
      res.writeHead(200, { "content-length": "100" });
      res.write("part of it");
    }
    return true; // never answers (or never finishes)
  });
  f.apply([route([slow], { releaseId: "rel_timeout" })]);
  assert.equal((await send(f.port, "/hang")).status, 504);
  await assert.rejects(send(f.port, "/quiet-body"), "the cut body fails the client's response");
  const sum = await eventually(() => {
    const s = totals(f.buckets(), "rel_timeout");
    return s.upstreamErrors === 2 ? s : undefined;
  }, 3_000, "two upstream errors");
  assert.deepEqual([sum.upstreamTimeouts, sum.clientAborts, sum.retried], [2, 0, 0]);
});

test("a client giving up on an upstream silent past the hung threshold is an upstream timeout; sooner, a client abort", async () => {
  const hung = await up("hung", () => true); // a stopped instance: accepts, never answers
  f.apply([route([hung], { releaseId: "rel_hung" })]);
  for (const waitMs of [100, 500]) {
    const req = request({ host: "127.0.0.1", port: f.port, path: "/", headers: { host: "app.test" } });
    req.on("error", () => {});
    req.end();
    await eventually(() => f.inFlight("rel_hung") === 1, 2_000, "the request in flight");
    await new Promise((r) => setTimeout(r, waitMs));
    req.destroy();
    await eventually(() => f.inFlight("rel_hung") === 0, 2_000, "the request ended");
  }
  const sum = totals(f.buckets(), "rel_hung");
  assert.deepEqual([sum.clientAborts, sum.upstreamErrors, sum.upstreamTimeouts], [1, 1, 1]);
});

test("a client slow to send its body that gives up is a client abort, however long it took", async () => {
  const reads = await up("reads", (req) => {
    req.resume(); // reads the body, answers only at its end (which never comes)
    return true;
  });
  f.apply([route([reads], { releaseId: "rel_upload" })]);
  const req = request({ host: "127.0.0.1", port: f.port, path: "/", method: "POST", headers: { host: "app.test" } });
  req.on("error", () => {});
  req.write("start of a long upload");
  await eventually(() => f.inFlight("rel_upload") === 1, 2_000, "the upload in flight");
  await new Promise((r) => setTimeout(r, 600)); // past the hung threshold (400 ms), body still coming
  req.destroy();
  await eventually(() => f.inFlight("rel_upload") === 0, 2_000, "the upload ended");
  const sum = totals(f.buckets(), "rel_upload");
  assert.deepEqual([sum.clientAborts, sum.upstreamErrors, sum.upstreamTimeouts], [1, 0, 0]);
});
