import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CliProject } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";

interface CheckJson {
  name: string;
  type: string;
  state: string;
  labels: Record<string, string>;
  derived: boolean;
  consecutiveFailures: number;
  lastResult: { ok: boolean; error?: string } | null;
  uptime: Record<string, number | null>;
  runs24h: number;
}

/**
 * One service whose `/` is also its health path, on a fixture app that answers 503 there while a
 * file exists. Its own live health check takes 100 failures to replace an instance, so the outage
 * lasts as long as the file: the derived check (every 1 s here, through the proxy) sees it.
 */
function config(failFile: string): string {
  return `project: test
proxy:
  listen: 127.0.0.1:0
api:
  listen: 127.0.0.1:0
monitor:
  service_check_interval: 1s
checks:
  api-up:
    type: tcp
    host: 127.0.0.1
    port: 1
    interval: 1s
services:
  web:
    run: node server.js
    artifact: ./app
    instances: 1
    routes:
      - host: web.test
        path: /
    health:
      path: /
      interval: 1s
      unhealthy_threshold: 100
      timeout: 1s
      healthy_threshold: 1
      start_timeout: 5s
    analysis:
      enabled: false
    release:
      watch: 5m
      drain_timeout: 1s
      stop_grace: 1s
# ${failFile}
`;
}

describe("engineroom checks (CLI against a running engine)", () => {
  let p: CliProject;
  let failFile: string;
  const checks = async (): Promise<CheckJson[]> => {
    const { code, out } = await p.run(["checks", "--json"]);
    assert.equal(code, 0, out);
    return (JSON.parse(out) as { checks: CheckJson[] }).checks;
  };
  const find = async (name: string) => (await checks()).find((c) => c.name === name);

  before(async () => {
    p = new CliProject("project: test\nservices: { web: { run: x } }\n");
    failFile = join(p.dir, "outage");
    writeFileSync(join(p.dir, "engineroom.yaml"), config(failFile));
    p.artifact({ version: "v1", failFile }, "app");
    await p.up();
  });
  after(async () => {
    assert.deepEqual(await p.cleanup(), []);
  });

  it("lists the declared checks, and the proxy's, before any deploy; a service's own once it is live", { timeout: 60_000 }, async () => {
    const first = await checks();
    assert.deepEqual(first.map((c) => c.name), ["api-up", "proxy.production"]);
    assert.deepEqual(first.find((c) => c.name === "proxy.production")!.labels, { environment: "production", component: "proxy", severity: "page" });
    const deployed = await p.run(["deploy", "web"]);
    assert.equal(deployed.code, 0, deployed.out);
    await waitFor("web.health.production", async () => (await find("web.health.production")) !== undefined, 10_000);
    const web = (await find("web.health.production"))!;
    assert.equal(web.type, "http");
    assert.equal(web.derived, true);
    assert.deepEqual([web.labels.service, web.labels.environment], ["web", "production"]);
    await waitFor("web.health.production up", async () => (await find("web.health.production"))?.state === "up", 15_000);
    await waitFor("api-up down (nothing listens on port 1)", async () => (await find("api-up"))?.state === "down", 15_000);

    const table = await p.run(["checks"]);
    assert.equal(table.code, 0, table.out);
    assert.match(table.out, /check\s+type\s+state\s+since\s+up 24h\s+7d\s+30d/);
    assert.match(table.out, /web\.health\.production\s+http\s+up\s/);
    assert.match(table.out, /api-up\s+tcp\s+down\s/);
  });

  it("turns the service's health check down after 3 failures when the app stops answering, and up after 2 passes", { timeout: 60_000 }, async () => {
    writeFileSync(failFile, "");
    await waitFor("web.health.production down", async () => (await find("web.health.production"))?.state === "down", 20_000);
    const down = (await find("web.health.production"))!;
    assert.ok(down.consecutiveFailures >= 3);
    assert.match(down.lastResult?.error ?? "", /503/);
    rmSync(failFile);
    await waitFor("web.health.production up again", async () => (await find("web.health.production"))?.state === "up", 20_000);

    const events = await p.run(["status", "--json"]);
    assert.equal(events.code, 0);
    const history = await p.run(["checks", "history", "web.health.production", "--json"]);
    assert.equal(history.code, 0, history.out);
    const points = (JSON.parse(history.out) as { points: { runs: number; failures: number }[] }).points;
    assert.ok(points.reduce((n, x) => n + x.failures, 0) >= 3);
    const unknown = await p.run(["checks", "history", "nope"]);
    assert.equal(unknown.code, 2, unknown.out);
    assert.match(unknown.out, /CHECK_UNKNOWN/);
    const tooFar = await p.run(["checks", "history", "web.health.production", "--since", "2d"]);
    assert.equal(tooFar.code, 2, tooFar.out);
    assert.match(tooFar.out, /Minutes are kept 24h: --since 2d reaches further back/);
    assert.match(tooFar.out, /--resolution hour for 2d/);
  });
});
