import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { processAlive } from "../core/index.js";
import type { MetricsBucket, Route } from "../proxy/index.js";
import { DataPlane, dataPlanePaths } from "./index.js";

const alive = processAlive;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the data-plane process", () => {
  let dir: string;
  let upstream: Server;
  let port: number;
  const pids = new Set<number>();
  const clients: DataPlane[] = [];
  /** Every client is closed at the end, so that a failed test cannot keep this process alive. */
  const attach = async (options: { start?: boolean } = {}) => {
    const plane = await DataPlane.attach({ stateDir: dir, ...options });
    clients.push(plane);
    pids.add(plane.info.pid);
    return plane;
  };
  const settings = { environment: "production", listen: "127.0.0.1:0", workers: 1, upstreamTimeoutMs: 10_000 };
  const routes = (): Route[] => [
    { host: "*", pathPrefix: "/", service: "web", environment: "production", releaseId: "rel_1", upstreams: [{ host: "127.0.0.1", port, instanceId: "web-1" }] },
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "engineroom-dataplane-"));
    upstream = createServer((_req, res) => res.end("from upstream\n"));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    port = (upstream.address() as AddressInfo).port;
  });
  after(async () => {
    for (const client of clients) client.close();
    const plane = await DataPlane.attach({ stateDir: dir, start: false }).catch(() => undefined);
    await plane?.shutdown(1_000);
    upstream.close();
    await until("every data-plane process gone", () => [...pids].every((pid) => !alive(pid)));
    rmSync(dir, { recursive: true, force: true });
  });

  it("is started detached, serves its table after the engine's connection closes, and is found again", async () => {
    const plane = await attach();
    assert.equal(plane.started, true);
    assert.notEqual(plane.info.pid, process.pid);
    const paths = dataPlanePaths(dir);
    assert.equal(statSync(paths.socket).mode & 0o777, 0o600, "only the owner may use the control socket");
    assert.equal(statSync(paths.dir).mode & 0o777, 0o700);

    const proxy = plane.proxy(settings);
    const address = await proxy.start();
    await proxy.apply(routes());
    assert.equal(await (await fetch(`http://127.0.0.1:${address.port}/`)).text(), "from upstream\n");
    plane.close();
    assert.equal(await (await fetch(`http://127.0.0.1:${address.port}/`)).text(), "from upstream\n", "it serves with no engine connected");

    const again = await attach();
    assert.equal(again.started, false);
    assert.equal(again.info.pid, plane.info.pid);
    const record = again.info.proxies.find((p) => p.environment === "production")!;
    assert.equal(record.address, `127.0.0.1:${address.port}`);
    assert.deepEqual(record.routes, routes());
    again.close();
  });

  it("keeps recent metrics for an engine that attaches later", async () => {
    const first = await attach();
    const address = await first.proxy(settings).start();
    first.close();
    for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${address.port}/`)).text();
    await new Promise((resolve) => setTimeout(resolve, 1_300)); // the second ends, its bucket is sent
    // A second's bucket is sent once the second is over: attach until the replay holds all five.
    let served = 0;
    for (let attempt = 0; attempt < 20 && served < 5; attempt++) {
      const seen: MetricsBucket[] = [];
      const later = await attach();
      await new Promise((resolve) => setTimeout(resolve, 200)); // the replay arrives before anyone listens
      later.onMetrics((buckets) => seen.push(...buckets));
      later.close();
      served = seen.filter((b) => b.releaseId === "rel_1").reduce((sum, b) => sum + b.status["2xx"], 0);
    }
    assert.ok(served >= 5, `the requests served while no engine was attached are replayed (${served})`);
  });

  it("killed, it is started again by its client, on the same address, with the table it persisted", async () => {
    const plane = await attach();
    const proxy = plane.proxy(settings);
    const address = await proxy.start();
    const old = plane.info.pid;
    process.kill(old, "SIGKILL");
    await until("the client noticed and started another", () => plane.info.pid !== old && alive(plane.info.pid));
    pids.add(plane.info.pid);
    await until("served again", async () => (await fetch(`http://127.0.0.1:${address.port}/`).then((r) => r.text(), () => "")) === "from upstream\n");
    const persisted = JSON.parse(readFileSync(dataPlanePaths(dir).proxies, "utf8"));
    assert.equal(persisted.proxies[0].address, `127.0.0.1:${address.port}`);
    plane.close();
  });

  it("shuts down with `down`: proxies stop, records and socket go, a later attach without start finds none", async () => {
    const plane = await attach();
    const pid = plane.info.pid;
    const address = plane.info.proxies[0]!.address;
    await plane.shutdown(1_000);
    assert.equal(alive(pid), false);
    await assert.rejects(fetch(`http://${address}/`));
    await assert.rejects(attach({ start: false }), { code: "DATAPLANE_UNAVAILABLE" });
    const persisted = JSON.parse(readFileSync(dataPlanePaths(dir).proxies, "utf8"));
    assert.deepEqual(persisted.proxies, []);
  });
});
