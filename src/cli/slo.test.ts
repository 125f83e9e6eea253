import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderSlos } from "./slo.js";

describe("engineroom slo output", () => {
  it("says why nothing is shown: no SLO declared, none kept in the environment, or the named one not kept there", () => {
    const empty = { slos: [], recordedUntil: 0 };
    assert.equal(renderSlos(empty), "no SLOs declared (add them under `slos:` in engineroom.yaml)");
    assert.equal(renderSlos(empty, 0, { environment: "staging" }), "no SLO is kept in staging");
    assert.equal(renderSlos(empty, 0, { name: "web-health", environment: "staging" }), "SLO web-health is not kept in staging (see slos.web-health.environments in engineroom.yaml)");
  });
});
