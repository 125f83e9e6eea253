import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseProject } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { MetricsBucket, Proxy, Route, SwitchResult, Upstream } from "../proxy/index.js";
import { ProxyTraffic } from "./traffic.js";

/** A recording fake of the proxy adapter: keeps every table it is given; `failNext` makes the next apply() fail as unacknowledged. */
class RecordingProxy implements Proxy {
  readonly tables: Route[][] = [];
  failNext = false;

  async start() {
    return { host: "127.0.0.1", port: 0 };
  }
  async apply(routes: Route[]): Promise<SwitchResult> {
    this.tables.push(routes);
    if (this.failNext) {
      this.failNext = false;
      throw new EngineError("DEPLOY_SWITCH_FAILED", "Proxy workers did not acknowledge route table.");
    }
    return { version: this.tables.length, ackMs: 1 };
  }
  async inFlight(releaseId: string) {
    return releaseId.length;
  }
  onMetrics(_listener: (buckets: MetricsBucket[]) => void) {
    return () => {};
  }
  async stop() {}
  routes() {
    return this.tables.at(-1) ?? [];
  }
  listener() {
    return undefined;
  }
}

const config = parseProject(`project: test
services:
  web:
    run: node server.js
    routes:
      - { host: App.Example.COM, path: / }
      - { host: "*", path: /api }
  admin:
    run: node admin.js
    routes:
      - { host: Admin.example.com }
`);

const upstream = (port: number): Upstream => ({ host: "127.0.0.1", port, instanceId: `i-${port}` });

function setUp() {
  const proxy = new RecordingProxy();
  return { proxy, traffic: new ProxyTraffic(proxy, () => config.environments[0]!.services, "production") };
}

/** A table as [host, path, service, release, ports] rows, for short comparisons. */
const rows = (table: Route[] | undefined) => (table ?? []).map((r) => [r.host, r.pathPrefix, r.service, r.releaseId, r.upstreams.map((u) => u.port).join(",")]);

describe("ProxyTraffic", () => {
  it("sends one route per declared route of each routed service, hosts in lower case", async () => {
    const { proxy, traffic } = setUp();
    const result = await traffic.route("web", "rel_w1", [upstream(4001), upstream(4002)]);
    assert.deepEqual(result, { version: 1, ackMs: 1 });
    assert.deepEqual(rows(proxy.tables[0]), [
      ["app.example.com", "/", "web", "rel_w1", "4001,4002"],
      ["*", "/api", "web", "rel_w1", "4001,4002"],
    ]);
    assert.ok(proxy.tables[0]!.every((r) => r.environment === "production"));

    await traffic.route("admin", "rel_a1", [upstream(5001)]);
    assert.deepEqual(rows(proxy.tables[1]), [...rows(proxy.tables[0]), ["admin.example.com", "/", "admin", "rel_a1", "5001"]]);
    assert.deepEqual(traffic.table(), proxy.tables[1]);
  });

  it("switches a service by sending the whole table with its new release", async () => {
    const { proxy, traffic } = setUp();
    await traffic.route("admin", "rel_a1", [upstream(5001)]);
    await traffic.route("web", "rel_w1", [upstream(4001)]);
    await traffic.route("web", "rel_w2", [upstream(4003)]);
    assert.equal(traffic.liveRelease("web"), "rel_w2");
    assert.equal(traffic.liveRelease("nope"), undefined);
    assert.deepEqual(rows(proxy.tables.at(-1)), [
      ["admin.example.com", "/", "admin", "rel_a1", "5001"],
      ["app.example.com", "/", "web", "rel_w2", "4003"],
      ["*", "/api", "web", "rel_w2", "4003"],
    ]);
  });

  it("re-applies on refresh only when a service routes to that release", async () => {
    const { proxy, traffic } = setUp();
    await traffic.route("web", "rel_w1", [upstream(4001), upstream(4002)]);
    await traffic.route("web", "rel_w2", [upstream(4003)]);
    await traffic.refresh("rel_w1", [upstream(4001)]);
    await traffic.refresh("rel_unknown", []);
    assert.equal(proxy.tables.length, 2, "no table for a release nothing routes to");

    await traffic.refresh("rel_w2", [upstream(4003), upstream(4004)]);
    assert.equal(proxy.tables.length, 3);
    assert.deepEqual(rows(proxy.tables[2]).map((r) => r.slice(3)), [["rel_w2", "4003,4004"], ["rel_w2", "4003,4004"]]);
  });

  it("keeps the release that serves when a switch is not acknowledged, and sends its table again", async () => {
    const { proxy, traffic } = setUp();
    await traffic.route("web", "rel_w1", [upstream(4001)]);
    proxy.failNext = true;
    await assert.rejects(traffic.route("web", "rel_w2", [upstream(4003)]), (e) => e instanceof EngineError && e.code === "DEPLOY_SWITCH_FAILED");
    assert.equal(traffic.liveRelease("web"), "rel_w1");
    assert.deepEqual(rows(proxy.tables.at(-1)).map((r) => r[3]), ["rel_w1", "rel_w1"], "workers that took the failed table get the old one back");
    const sent = proxy.tables.length;
    await traffic.refresh("rel_w2", [upstream(4003)]);
    assert.equal(proxy.tables.length, sent, "the failed release is no one's target");
  });

  it("forgets a service's first switch when it is not acknowledged", async () => {
    const { proxy, traffic } = setUp();
    proxy.failNext = true;
    await assert.rejects(traffic.route("web", "rel_w1", [upstream(4001)]));
    assert.equal(traffic.liveRelease("web"), undefined);
    assert.deepEqual(traffic.table(), []);
  });

  it("asks the proxy how many requests are in flight", async () => {
    const { traffic } = setUp();
    assert.equal(await traffic.inFlight("rel_12345"), 9);
  });
});
