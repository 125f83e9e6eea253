import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { startProject, testConfig, type TestProject } from "../../test/helpers/project.js";
import { waitFor } from "../../test/helpers/wait.js";
import { createOperations } from "../engine/index.js";
import { createApi } from "./server.js";

const others = `  api:
    run: node server.js
    routes: [{ host: api.test }]
  worker:
    run: node server.js
    routes: [{ host: worker.test }]
`;

/** The dashboard's reads and pages on a real engine, called in-process: pagination, history, the public status switch. */
describe("API: dashboard", () => {
  let project: TestProject;
  let app: FastifyInstance;

  before(async () => {
    project = await startProject(testConfig(others, "checks:\n  db-port: { type: tcp, host: 127.0.0.1, port: 1, interval: 1s, service: web }\n").replace("    instances: 2", "    instances: 1"));
    app = createApi({ operations: createOperations(project.engine), token: project.token });
  });
  after(async () => {
    await app?.close();
    await project?.cleanup();
  });

  const call = async (url: string, options: Omit<InjectOptions, "url"> = {}) => {
    const res = await app.inject({ url, headers: { authorization: `Bearer ${project.token}` }, ...options });
    return { status: res.statusCode, headers: res.headers, body: res.body, json: () => res.json() as Record<string, any> };
  };

  it("pages the overview on the server, with totals over every service, and filters by name", async () => {
    const first = (await call("/v1/overview?size=2")).json();
    assert.deepEqual([first.page, first.pages, first.total, first.environment], [1, 2, 3, "production"]);
    assert.deepEqual(first.services.map((s: { name: string }) => s.name), ["api", "web"]);
    assert.deepEqual(first.totals.services, { down: 0, degraded: 0, up: 0, idle: 3 });
    const last = (await call("/v1/overview?size=2&page=9")).json();
    assert.deepEqual([last.page, last.services.map((s: { name: string }) => s.name)], [2, ["worker"]]);
    const one = (await call("/v1/overview?q=WOR")).json();
    assert.deepEqual([one.total, one.services[0].name, one.services[0].health, one.services[0].series.t.length], [1, "worker", "idle", 20]);
    assert.equal((await call("/v1/overview?page=x")).json().error.code, "API_BAD_REQUEST");
    assert.equal((await call("/v1/overview?env=nowhere")).status, 404);
    assert.equal((await call("/v1/overview", { headers: {} })).status, 401);
  });

  it("shows the release history with who deployed, the config diff against the release before, and the live one", { timeout: 120_000 }, async () => {
    await project.api.stream("/v1/services/web/deploys", { artifact: project.artifact({ version: "v1" }) }, () => {});
    // The other two services go (never deployed, nothing to stop) and web's config changes: apply makes v2 with it.
    writeFileSync(project.configFile, readFileSync(project.configFile, "utf8").replace(others, "").replace("GREETING: hi", "GREETING: hello"));
    await project.api.stream("/v1/apply", {}, () => {});
    const { history } = (await call("/v1/services/web/history")).json();
    assert.deepEqual(history.map((e: { release: { number: number } }) => e.release.number), [2, 1]);
    const [v2, v1] = history;
    assert.deepEqual(v2.configChanges, [{ path: "env.GREETING", before: "hi", after: "hello" }]);
    assert.equal(v1.configChanges, null);
    assert.deepEqual([v2.live, v1.live], [true, false]);
    assert.equal(v1.deployedBy, "api");
    assert.ok(v2.events.some((e: { type: string }) => e.type === "release.live"), JSON.stringify(v2.events));
    // The db-port check (labelled with web, refused) goes down after its failures in a row: so does web's health, saying why.
    await waitFor("db-port down", async () => (await call("/v1/overview/checks?q=db-port")).json().checks[0]?.state === "down", 60_000);
    const overview = (await call("/v1/overview?q=web")).json();
    assert.deepEqual([overview.services[0].live.number, overview.services[0].health, overview.services[0].healthReason], [2, "down", "check db-port down"]);
    assert.equal((await call("/v1/services/nope/history")).json().error.code, "SERVICE_UNKNOWN");
  });

  it("pages and filters the checks on the server, with the counts over all of them", async () => {
    const all = (await call("/v1/overview/checks")).json();
    assert.ok(all.total >= 2, JSON.stringify(all.checks.map((c: { name: string }) => c.name)));
    const counted = all.states.up + all.states.down + all.states.pending + all.states.degraded;
    assert.equal(counted, all.total);
    const first = (await call("/v1/overview/checks?size=1")).json();
    assert.deepEqual([first.checks.length, first.pages, first.total], [1, all.total, all.total]);
    const db = (await call("/v1/overview/checks?q=DB-")).json();
    assert.deepEqual([db.total, db.checks[0].name, db.checks[0].labels.service, db.checks[0].type], [1, "db-port", "web", "tcp"]);
    const bad = await call("/v1/overview/checks?state=sideways");
    assert.deepEqual([bad.status, bad.json().error.code], [400, "API_BAD_REQUEST"]);
  });

  it("serves the app and its files without a token, with a strict content security policy", async () => {
    const page = await call("/", { headers: {} });
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/ui\/app.js">/);
    assert.match(String(page.headers["content-security-policy"]), /script-src 'self';/);
    const uplot = await call("/ui/uPlot.esm.js", { headers: {} });
    assert.deepEqual([uplot.status, uplot.headers["content-type"]], [200, "text/javascript; charset=utf-8"]);
    assert.equal((await call("/ui/uPlot.esm.js", { headers: { "if-none-match": String(uplot.headers.etag) } })).status, 304);
    assert.notEqual((await call("/ui/..%2Froutes.ts", { headers: {} })).status, 200);
    assert.equal((await call("/ui/nothing.js", { headers: {} })).status, 404);
  });

  it("has no public status page unless dashboard.public_status is set", async () => {
    for (const path of ["/status", "/status.json"]) {
      const answer = await call(path, { headers: {} });
      assert.deepEqual([answer.status, answer.json().error.code], [404, "API_NOT_FOUND"], path);
    }
  });
});
