import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { startProject, type TestProject } from "../../test/helpers/project.js";
import { createOperations } from "../engine/index.js";
import { apiRoutes, createApi } from "./server.js";

/** The API of a real engine (store, proxy, runtime) on a temp project, called in-process with inject(). */
describe("API", () => {
  let project: TestProject;
  let app: FastifyInstance;
  let auth: Record<string, string>;

  before(async () => {
    project = await startProject();
    app = createApi({ operations: createOperations(project.engine), token: project.token });
    auth = { authorization: `Bearer ${project.token}` };
  });
  after(async () => {
    await app?.close();
    await project?.cleanup();
  });

  const call = async (url: string, options: Omit<InjectOptions, "url"> = {}) => {
    const res = await app.inject({ url, headers: auth, ...options });
    return { status: res.statusCode, type: String(res.headers["content-type"]), body: res.body, json: () => res.json() as Record<string, any> };
  };
  /** Asserts an error answer: the status, and a JSON body with the code, a message and a hint. */
  const assertError = async (answer: ReturnType<typeof call>, status: number, code: string) => {
    const res = await answer;
    assert.equal(res.status, status, res.body);
    assert.match(res.type, /^application\/json/);
    const { error } = res.json();
    assert.equal(error.code, code);
    assert.ok(typeof error.message === "string" && error.message.length > 0, "a message");
    assert.ok(typeof error.hint === "string" && error.hint.length > 0, "a hint");
    return error as { code: string; message: string; hint: string };
  };

  describe("authentication", () => {
    it("refuses a call without a token, or with a wrong one, as API_UNAUTHORIZED", async () => {
      const wrong = "x".repeat(project.token.length);
      for (const authorization of [undefined, `Bearer ${wrong}`, `Bearer ${project.token}x`, `Basic ${project.token}`, project.token]) {
        const error = await assertError(call("/v1/status", { headers: authorization === undefined ? {} : { authorization } }), 401, "API_UNAUTHORIZED");
        assert.ok(!error.message.includes(project.token) && !error.message.includes(wrong), "no token in the answer");
      }
    });

    it("refuses unknown routes without a token too, revealing nothing", async () => {
      await assertError(call("/v1/secret-things", { headers: {} }), 401, "API_UNAUTHORIZED");
    });

    it("answers /v1/health and /v1/openapi.json without a token", async () => {
      const health = await call("/v1/health", { headers: {} });
      assert.deepEqual([health.status, health.json()], [200, { ok: true }]);
      assert.equal((await call("/v1/health?from=monitor", { headers: {} })).status, 200);
      const openapi = await call("/v1/openapi.json", { headers: {} });
      assert.equal(openapi.status, 200);
      assert.equal(openapi.json().openapi, "3.1.0");
      assert.ok("/v1/services/{service}/releases" in openapi.json().paths);
    });

    it("answers a call with the right token", async () => {
      const status = await call("/v1/status");
      assert.equal(status.status, 200);
      assert.equal(status.json().project, "test");
      assert.deepEqual(status.json().environments[0].services.map((s: { name: string }) => s.name), ["web"]);
    });
  });

  describe("errors", () => {
    it("answers an unknown route with 404 API_NOT_FOUND, naming it without its query", async () => {
      const error = await assertError(call("/v1/nothing-here?token=abc"), 404, "API_NOT_FOUND");
      assert.equal(error.message, "No API route GET /v1/nothing-here.");
      await assertError(call("/v1/status", { method: "DELETE" }), 404, "API_NOT_FOUND");
    });

    it("answers an unknown service with 404 SERVICE_UNKNOWN, on reads and on deploys and rollbacks", async () => {
      for (const path of ["/v1/services/nope/releases", "/v1/services/nope/logs"]) await assertError(call(path), 404, "SERVICE_UNKNOWN");
      await assertError(call("/v1/services/nope/rollback", { method: "POST" }), 404, "SERVICE_UNKNOWN");
      await assertError(call("/v1/services/nope/deploys", { method: "POST", payload: { artifact: "/tmp/x" } }), 404, "SERVICE_UNKNOWN");
    });

    it("answers a malformed number with 400 API_BAD_REQUEST", async () => {
      for (const path of ["/v1/services/web/releases?limit=abc", "/v1/services/web/releases?limit=-1", "/v1/services/web/releases?limit=1.5", "/v1/services/web/logs?lines=ten", "/v1/events?after=x"]) {
        const error = await assertError(call(path), 400, "API_BAD_REQUEST");
        assert.match(error.message, /Expected a whole number/, path);
      }
    });

    it("answers a malformed deploy body with 400 API_BAD_REQUEST", async () => {
      await assertError(call("/v1/services/web/deploys", { method: "POST", payload: { artifact: 5 } }), 400, "API_BAD_REQUEST");
      const broken = { method: "POST" as const, payload: '{"artifact": ', headers: { ...auth, "content-type": "application/json" } };
      await assertError(call("/v1/services/web/deploys", broken), 400, "API_BAD_REQUEST");
    });
  });

  describe("reads", () => {
    before(async () => {
      for (let i = 0; i < 3; i++) {
        await project.engine.store.releases.create({ service: "web", environment: project.engine.environment().name, artifactDigest: "sha256:1", configHash: "c", reason: `r${i}` });
      }
    });

    it("lists a service's releases newest first, at most limit", async () => {
      const res = await call("/v1/services/web/releases?limit=2");
      assert.equal(res.status, 200);
      assert.deepEqual(res.json().releases.map((r: { number: number }) => r.number), [3, 2]);
      assert.equal((await call("/v1/services/web/releases")).json().releases.length, 3);
    });

    it("lists events oldest first, filtered by service, following with after", async () => {
      const all = (await call("/v1/events?service=web")).json().events as { id: number; service: string; type: string }[];
      assert.deepEqual(all.map((e) => e.type), ["release.pending", "release.pending", "release.pending"]);
      assert.ok(all.every((e) => e.service === "web"));
      const later = (await call(`/v1/events?service=web&after=${all[0]!.id}&limit=1`)).json().events as { id: number }[];
      assert.deepEqual(later.map((e) => e.id), [all[1]!.id]);
    });

    it("answers logs per running instance of the service (none yet)", async () => {
      const res = await call("/v1/services/web/logs?lines=5");
      assert.deepEqual([res.status, res.json()], [200, { instances: [] }]);
    });
  });

  describe("streams", () => {
    it("answers an error found before the first progress line with its status, not 200", async () => {
      await assertError(call("/v1/services/web/rollback", { method: "POST" }), 409, "ROLLBACK_NO_TARGET");
      await assertError(call("/v1/services/web/abort", { method: "POST" }), 409, "NOT_WATCHING");
      await assertError(call("/v1/services/web/watch"), 404, "RELEASE_NOT_FOUND");
      await assertError(call("/v1/services/web/deploys", { method: "POST", payload: { env: "nowhere" } }), 404, "ENVIRONMENT_UNKNOWN");
      await assertError(call("/v1/services/web/promote", { method: "POST", payload: {} }), 409, "DEPLOY_WRONG_ENVIRONMENT");
      await assertError(call("/v1/releases/rel_nope/approve", { method: "POST" }), 404, "RELEASE_NOT_FOUND");
      await assertError(call("/v1/apply", { method: "POST", payload: { plan: { nope: true } } }), 400, "PLAN_INVALID");
    });

    it("once it has begun, answers 200 and ends with exactly one error line", async () => {
      const res = await call("/v1/services/web/deploys", { method: "POST", payload: { artifact: `${project.dir}/no-such-folder` } });
      assert.equal(res.status, 200);
      assert.match(res.type, /^application\/x-ndjson/);
      const lines = res.body.trim().split("\n").map((line) => JSON.parse(line));
      assert.equal(lines[0].progress.step, "artifact");
      assert.deepEqual(Object.keys(lines.at(-1)), ["error"]);
      assert.equal(lines.at(-1).error.code, "ARTIFACT_NOT_FOUND");
      assert.ok(lines.at(-1).error.hint);
      assert.ok(lines.slice(0, -1).every((line) => "progress" in line), "only progress lines before the last");
    });
  });

  it("takes a writer lock from its holder through /v1/unlock, and records it", async () => {
    const res = await call("/v1/unlock", { method: "POST", payload: {} });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(res.json(), { environment: project.engine.environment().name, from: null });
    const events = (await call("/v1/events?limit=1")).json().events as { type: string }[];
    assert.equal(events.at(-1)!.type, "lock.forced");
    await assertError(call("/v1/unlock", { method: "POST", payload: { env: "nowhere" } }), 404, "ENVIRONMENT_UNKNOWN");
  });

  it("describes every route it serves in /v1/openapi.json, and no other", async () => {
    const paths = (await call("/v1/openapi.json", { headers: {} })).json().paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const served = apiRoutes(app).map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`);
    assert.ok(served.length >= 14, served.join(", "));
    assert.deepEqual([...documented].sort(), [...served].sort());
  });
});
