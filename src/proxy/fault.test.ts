import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { faultHeader } from "./fault.js";
import { startForwarder, totals, type InProcessForwarder } from "./hotpath-support.js";
import { route, send, startUpstream, upstreamSet } from "./test-support.js";

let f: InProcessForwarder;
const upstreams = upstreamSet();

before(async () => {
  f = await startForwarder({ timeoutMs: 2_000 });
});
after(async () => {
  await f.close();
  await upstreams.closeAll();
});

test("a drill's error fault answers every 5th request of its release 500 with the fault header, counted as that release's 5xx; another route is left alone", async () => {
  const [drilled, other] = [await upstreams.start("drilled"), await upstreams.start("other")];
  f.apply([
    route([drilled], { releaseId: "rel_drill", fault: { errorRate: 0.2 } }),
    route([other], { releaseId: "rel_other", service: "api", host: "api.test" }),
  ]);
  const answers = [];
  for (let i = 0; i < 10; i++) answers.push(await send(f.port, "/"));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 500, 200, 200, 200, 200, 500]);
  assert.ok(answers.filter((a) => a.status === 500).every((a) => a.headers[faultHeader] === "drill" && a.body.startsWith("drill fault")));
  assert.ok(answers.filter((a) => a.status === 200).every((a) => a.headers[faultHeader] === undefined));
  for (let i = 0; i < 10; i++) assert.equal((await send(f.port, "/", { host: "api.test" })).status, 200);
  const drillTotals = totals(f.buckets(), "rel_drill");
  assert.equal(drillTotals["5xx"], 2);
  assert.equal(drillTotals["2xx"], 8);
  assert.equal(totals(f.buckets(), "rel_other")["5xx"], 0);
  assert.equal(f.inFlight("rel_drill"), 0);
});

test("a drill's latency fault holds each request of its release back before it goes upstream; the fallback's requests get none", async () => {
  const [slow, gone, warm] = [await upstreams.start("slow"), await startUpstream("gone"), await upstreams.start("warm")];
  await gone.close();
  f.apply([route([slow], { releaseId: "rel_latency", fault: { latencyMs: 300 } })]);
  const started = performance.now();
  assert.equal((await send(f.port, "/")).status, 200);
  assert.ok(performance.now() - started >= 290, "the request was held back by the fault");
  // Every instance of the drilled release out: the warm fallback answers, without the fault.
  f.apply([route([], { releaseId: "rel_latency2", fault: { latencyMs: 5_000, errorRate: 1 }, fallback: [{ host: "127.0.0.1", port: warm.port, instanceId: "warm" }], fallbackReleaseId: "rel_warm" })]);
  const answer = await send(f.port, "/");
  assert.equal(answer.status, 200);
  assert.equal(answer.headers[faultHeader], undefined);
  assert.equal(f.inFlight("rel_latency"), 0);
});
