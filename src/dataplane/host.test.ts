import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../core/index.js";
import type { Route } from "../proxy/index.js";
import { DataPlaneHost } from "./host.js";
import { dataPlanePaths } from "./protocol.js";

// How the data plane keeps its route tables on disk: proxies.json is a symlink to the generation
// file in force (no rename over a file, which ext4 flushes first), read back by a restarted host,
// and a plain proxies.json from an earlier build is read and replaced. Real proxies (one worker each).

const dir = mkdtempSync(join(tmpdir(), "engineroom-host-"));
const paths = dataPlanePaths(dir);
const settings = { environment: "production", listen: "127.0.0.1:0", workers: 1, upstreamTimeoutMs: 10_000 };
const table = (releaseId: string, port: number): Route[] => [
  { host: "*", pathPrefix: "/", service: "web", environment: "production", releaseId, upstreams: [{ host: "127.0.0.1", port, instanceId: `web-${port}` }] },
];
const generations = () => readdirSync(paths.dir).filter((n) => /^proxies\..+\.json$/.test(n) && n !== "proxies.json");
const hosts: DataPlaneHost[] = [];
const host = () => {
  const h = new DataPlaneHost({ stateDir: dir, logger: silentLogger });
  hosts.push(h);
  return h;
};

after(async () => {
  for (const h of hosts) await h.stopAll(1_000);
  rmSync(dir, { recursive: true, force: true });
});

describe("the data plane's route tables on disk", () => {
  it("reads a plain proxies.json of an earlier build, drops stale generation files, and writes a symlink to one generation per switch", async () => {
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.proxies, JSON.stringify({ proxies: [{ ...settings, address: "127.0.0.1:0", routes: table("rel_legacy", 4001) }] }));
    writeFileSync(join(paths.dir, "proxies.0123abcd-7.json"), "{ cut off by a crash");
    const first = host();
    await first.restore();
    assert.equal(first.records()[0]?.routes[0]?.releaseId, "rel_legacy", "the plain file's table is served");
    assert.deepEqual(generations(), [], "the stale generation file is gone");

    await first.apply("production", table("rel_1", 4002));
    await first.apply("production", table("rel_2", 4003));
    assert.ok(lstatSync(paths.proxies).isSymbolicLink());
    const target = readlinkSync(paths.proxies);
    assert.match(target, /^proxies\.[0-9a-f]+-\d+\.json$/, "a relative link, beside it");
    assert.deepEqual(generations(), [target], "one generation file: the one in force");
    assert.equal(lstatSync(join(paths.dir, target)).mode & 0o777, 0o600);
    const persisted = JSON.parse(readFileSync(paths.proxies, "utf8")) as { proxies: { routes: Route[] }[] };
    assert.equal(persisted.proxies[0]?.routes[0]?.releaseId, "rel_2", "the last table is on disk when apply() resolves");
  });

  it("a host started again on the folder comes back with the last table", async () => {
    await hosts[0]!.stopAll(1_000); // stops the proxies; the records stay
    const again = host();
    await again.restore();
    assert.equal(again.records()[0]?.routes[0]?.releaseId, "rel_2");
    await again.apply("production", table("rel_3", 4004));
    assert.equal(generations().length, 1, "the predecessor's generation went with the next write");
    assert.equal((JSON.parse(readFileSync(paths.proxies, "utf8")) as { proxies: { routes: Route[] }[] }).proxies[0]?.routes[0]?.releaseId, "rel_3");
  });
});
