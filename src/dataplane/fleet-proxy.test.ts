import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../core/index.js";
import type { Route } from "../proxy/index.js";
import { DataPlane, FleetProxy, type FleetProxyOptions } from "./index.js";
import { ScriptedDataPlane } from "./test-support.js";

const names = ["a", "b", "c"];

/** A route of `release` with one upstream on each of `on` (instance ids `<host>-<release>`). */
function route(release: string, on = names): Route {
  return { host: "*", pathPrefix: "/", service: "web", environment: "production", releaseId: release, upstreams: on.map((h, i) => ({ host: "127.0.0.1", port: 9000 + i, instanceId: `${h}-${release}` })) };
}

/** Three hosts' daemons and the front door's, scripted; each host's proxy takes tables, the last kept by host. */
async function fleet(dir: string, options: Partial<FleetProxyOptions> = {}) {
  const tables = new Map<string, Route[]>();
  const servers = new Map<string, ScriptedDataPlane>();
  const planes: DataPlane[] = [];
  let version = 0;
  for (const [i, name] of [...names, "front"].entries()) {
    const server = new ScriptedDataPlane(dir, `${name}-${Date.now()}`)
      .answer("proxy.ensure", (r) => ({ ...r, address: `127.0.0.1:${18_000 + i}`, routes: [] }))
      .answer("proxy.inflight", () => 0)
      .answer("proxy.apply", (r) => (tables.set(name, r.routes as Route[]), { version: ++version, ackMs: 0 }));
    await server.listen();
    servers.set(name, server);
  }
  const proxyOf = async (name: string) => {
    const plane = await DataPlane.attach({ stateDir: join(dir, "state", name), socket: servers.get(name)!.path, start: false, quickRequestMs: 200, reconnectMs: 300 });
    planes.push(plane);
    return plane.proxy({ environment: "production", listen: "127.0.0.1:0", workers: 1, upstreamTimeoutMs: 10_000 });
  };
  const hosts = await Promise.all(names.map(async (name) => ({ name, address: "127.0.0.1", proxy: await proxyOf(name) })));
  const proxy = new FleetProxy({ hosts, front: await proxyOf("front"), hostOf: (id) => id.split("-")[0], logger: silentLogger, healthIntervalMs: 0, ...options });
  await proxy.start();
  return {
    proxy,
    servers,
    /** The release each host (and the front door) serves last, and the hosts the front door sends to. */
    serves: (name: string) => tables.get(name)?.map((r) => r.releaseId).join(),
    frontTo: () => tables.get("front")?.flatMap((r) => r.upstreams.map((u) => u.instanceId)),
    async close() {
      for (const plane of planes) plane.close();
      for (const server of servers.values()) await server.close();
    },
  };
}

describe("FleetProxy: a switch over hosts that may not answer", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "engineroom-fleet-proxy-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("rolls back the hosts that took the new table when one does not acknowledge it within its bound", async () => {
    const f = await fleet(dir);
    try {
      await f.proxy.apply([route("rel_1")]);
      f.servers.get("c")!.answers.delete("proxy.apply"); // c answers the pre-check, then goes silent on the switch
      await assert.rejects(f.proxy.apply([route("rel_2")]), (error: Error & { code?: string; details?: { hosts: string[] } }) => {
        assert.equal(error.code, "FLEET_HOST_FAILED");
        assert.deepEqual(error.details?.hosts, ["c"]);
        assert.match(error.message, /Host c \(.*no answer to proxy\.apply within 400 ms.*\) did not take the new route table; the other hosts went back/);
        return true;
      });
      assert.equal(f.serves("a"), "rel_1", "a went back to the previous table");
      assert.equal(f.serves("b"), "rel_1", "b went back to the previous table");
      assert.deepEqual(f.frontTo(), ["host:a", "host:b"], "the front door serves the previous release from the hosts that answered");
      assert.deepEqual(f.proxy.serving(), ["a", "b"]);
      assert.deepEqual(f.proxy.routes().map((r) => r.releaseId), ["rel_1"]);
    } finally {
      await f.close();
    }
  });

  it("with minHosts, goes live without a silent host, names it, and sends it nothing", async () => {
    const f = await fleet(dir, { minHosts: 2 });
    try {
      await f.proxy.apply([route("rel_1")]);
      const c = f.servers.get("c")!;
      c.answers.clear();
      c.answerHello = false; // silent on everything, reconnection included
      const result = await f.proxy.apply([route("rel_2", ["a", "b"])]);
      assert.deepEqual(result.hostsLeftOut?.map((h) => h.host), ["c"]);
      assert.match(result.hostsLeftOut![0]!.reason, /within \d+ ms/);
      assert.equal(f.serves("a"), "rel_2");
      assert.equal(f.serves("b"), "rel_2");
      assert.equal(f.serves("c"), "rel_1", "c never got the new table");
      assert.deepEqual(f.frontTo(), ["host:a", "host:b"]);
      assert.deepEqual(f.proxy.serving(), ["a", "b"]);
    } finally {
      await f.close();
    }
  });

  it("with minHosts, fails as without it when more hosts are lost than it allows", async () => {
    const f = await fleet(dir, { minHosts: 2 });
    try {
      await f.proxy.apply([route("rel_1")]);
      for (const name of ["b", "c"]) f.servers.get(name)!.answers.delete("proxy.apply");
      await assert.rejects(f.proxy.apply([route("rel_2")]), (error: Error & { code?: string; details?: { hosts: string[] } }) => {
        assert.equal(error.code, "FLEET_HOST_FAILED");
        assert.deepEqual(error.details?.hosts, ["b", "c"]);
        return true;
      });
      assert.equal(f.serves("a"), "rel_1", "a went back to the previous table");
      assert.deepEqual(f.frontTo(), ["host:a"]);
    } finally {
      await f.close();
    }
  });

  it("with minHosts, names a host the runtime passed over for the release even though it answers", async () => {
    const f = await fleet(dir, { minHosts: 2, passedOver: (release) => (release === "rel_2" ? [{ host: "c", reason: "did not answer instance.port" }] : []) });
    try {
      await f.proxy.apply([route("rel_1")]);
      const result = await f.proxy.apply([route("rel_2", ["a", "b"])]);
      assert.deepEqual(result.hostsLeftOut, [{ host: "c", reason: "did not answer instance.port" }]);
      assert.deepEqual(f.frontTo(), ["host:a", "host:b"], "no traffic of rel_2 to c");
      // A later table with the same releases (an instance replaced) counts c again once it answers.
      const again = await f.proxy.apply([route("rel_2", ["a", "b"])]);
      assert.equal(again.hostsLeftOut, undefined);
    } finally {
      await f.close();
    }
  });
});
