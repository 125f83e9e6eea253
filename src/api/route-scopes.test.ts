import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { startProject, type TestProject } from "../../test/helpers/project.js";
import { apiRoutes, createApi } from "./server.js";
import { routeScopes } from "./route-scopes.js";

describe("route scopes", () => {
  let project: TestProject;
  let app: FastifyInstance;

  before(async () => {
    project = await startProject();
    app = createApi({ engine: project.engine, token: project.token });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await project?.cleanup();
  });

  it("names only routes the API serves (a renamed route must not lose its scopes silently)", () => {
    const served = new Set(apiRoutes(app).map((r) => `${r.method} ${r.url}`));
    const missing = Object.keys(routeScopes).filter((key) => !served.has(key));
    assert.deepEqual(missing, []);
  });

  it("needs admin for a change no scope names, read for a read, nothing for health and login", async () => {
    const { token } = await project.engine.tokens.create({ name: "reader", scopes: ["read"] });
    const auth = { authorization: `Bearer ${token}`, host: "127.0.0.1" };
    const channel = await app.inject({ method: "POST", url: "/v1/channels/nope/test", headers: auth, payload: {} });
    assert.equal(channel.json().error.code, "ACCESS_DENIED");
    assert.match(channel.json().error.message, /needs scope admin/);
    assert.equal((await app.inject({ method: "GET", url: "/v1/events", headers: auth })).statusCode, 200);
    assert.equal((await app.inject({ method: "POST", url: "/v1/nowhere", headers: auth, payload: {} })).json().error.code, "API_NOT_FOUND");
    assert.equal((await app.inject({ method: "GET", url: "/v1/health", headers: { host: "localhost" } })).statusCode, 200);
    assert.equal((await app.inject({ method: "POST", url: "/v1/session", headers: { host: "localhost" }, payload: { token } })).statusCode, 201);
  });

  it("asks deploy:<its environment> to run a drill, as the MCP tool does, not admin", async () => {
    const reader = await project.engine.tokens.create({ name: "drill-reader", scopes: ["read"] });
    const deployer = await project.engine.tokens.create({ name: "drill-deployer", scopes: ["deploy:*"] });
    const run = (token: string) => app.inject({ method: "POST", url: "/v1/drills/nope/run", headers: { authorization: `Bearer ${token}`, host: "127.0.0.1" }, payload: {} });
    const refused = (await run(reader.token)).json().error;
    assert.equal(refused.code, "ACCESS_DENIED");
    assert.match(refused.message, /needs scope deploy:/);
    assert.equal((await run(deployer.token)).json().error.code, "DRILL_NOT_FOUND");
  });
});
