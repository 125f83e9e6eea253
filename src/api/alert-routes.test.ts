import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { startProject, type TestProject } from "../../test/helpers/project.js";
import { createOperations } from "../engine/index.js";
import { createApi } from "./server.js";

/** The alert routes of a real engine, called in-process: answers, statuses and codes. */
describe("API: alerts and silences", () => {
  let project: TestProject;
  let app: FastifyInstance;

  before(async () => {
    project = await startProject();
    app = createApi({ operations: createOperations(project.engine), token: project.token });
  });
  after(async () => {
    await app?.close();
    await project?.cleanup();
  });

  const call = async (url: string, options: Omit<InjectOptions, "url"> = {}) => {
    const res = await app.inject({ url, headers: { authorization: `Bearer ${project.token}` }, ...options });
    return { status: res.statusCode, json: () => res.json() as Record<string, any> };
  };
  const post = (url: string, payload: unknown) => call(url, { method: "POST", payload: payload as Record<string, unknown> });

  it("lists firing alerts, acknowledges one with who, and refuses unknown ids", async () => {
    project.engine.monitoring.alerts!.report({ rule: "deploy-failed", severity: "ticket", labels: { service: "web", environment: "production" }, annotations: { summary: "v9 failed" }, active: true });
    const { alerts } = (await call("/v1/alerts")).json();
    const alert = alerts.find((a: { rule: string }) => a.rule === "deploy-failed");
    assert.equal(alert.state, "firing");
    const acked = await post(`/v1/alerts/${alert.id}/ack`, { for: "30m", comment: "on it", by: "dana" });
    assert.equal(acked.status, 200);
    assert.deepEqual([acked.json().ack.by, acked.json().ack.comment, acked.json().acknowledged], ["dana", "on it", true]);
    assert.equal((await post(`/v1/alerts/${alert.id}/ack`, { for: "soon" })).json().error.code, "API_BAD_REQUEST");
    const missing = await post("/v1/alerts/alr_missing/ack", {});
    assert.deepEqual([missing.status, missing.json().error.code], [404, "ALERT_NOT_FOUND"]);
    const outcome = await post(`/v1/alerts/${alert.id}/outcome`, { outcome: "noise" });
    assert.deepEqual([outcome.json().outcome.value, outcome.json().outcome.by], ["noise", "api"]);
    assert.equal((await post(`/v1/alerts/${alert.id}/outcome`, { outcome: "unclassified" })).status, 400);
    assert.equal((await call(`/v1/alerts/${alert.id}`)).json().id, alert.id);
  });

  it("creates a silence (201), refuses a bad one (400), expires it, and 404s an unknown one", async () => {
    const created = await post("/v1/silences", { matchers: ["service=web"], reason: "maintenance", for: "1h", by: "erin" });
    assert.equal(created.status, 201);
    assert.equal(created.json().createdBy, "erin");
    for (const bad of [{ matchers: ["service=web"], for: "1h" }, { matchers: ["service=web"], reason: "x" }, { matchers: [], reason: "x", for: "1h" }, { matchers: ["service=web"], reason: "x", for: "forever" }]) {
      const answer = await post("/v1/silences", bad);
      assert.deepEqual([answer.status, answer.json().error.code], [400, "SILENCE_INVALID"], JSON.stringify(bad));
    }
    const expired = await post(`/v1/silences/${created.json().id}/expire`, {});
    assert.equal(expired.json().expiredBy, "api");
    assert.equal((await post("/v1/silences/sil_missing/expire", {})).status, 404);
    const { silences } = (await call("/v1/silences")).json();
    assert.equal(silences.length, 1);
  });

  it("answers the noise report and the delivery log", async () => {
    const noise = (await call("/v1/alerts/noise?since=1d")).json();
    assert.equal(noise.target, 0.1);
    assert.ok(noise.overall.alerts >= 1);
    assert.equal((await call("/v1/alerts/noise?since=yesterday")).status, 400);
    assert.ok(Array.isArray((await call("/v1/alerts/deliveries?limit=5")).json().deliveries));
  });
});
