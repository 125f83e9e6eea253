import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { runCheck } from "../run.js";
import { check, closed, freePort, listening } from "../test-support.js";

const now = Date.now;

describe("tcp checks", () => {
  it("passes on an open port", async () => {
    const server = createServer((socket) => socket.end());
    try {
      const port = await listening(server);
      const definition = check({ type: "tcp", host: "127.0.0.1", port });
      assert.equal(definition.probe.target, `127.0.0.1:${port}`);
      const result = await runCheck(definition, { now });
      assert.equal(result.ok, true, result.error);
      assert.equal(result.fields.connected, true);
    } finally {
      await closed(server);
    }
  });

  it("reports a closed port as not connected, which the default condition fails and `connected == false` passes", async () => {
    const port = await freePort();
    const result = await runCheck(check({ type: "tcp", host: "127.0.0.1", port }), { now });
    assert.equal(result.ok, false);
    assert.equal(result.fields.connected, false);
    assert.deepEqual(result.failed, ["connected == true"]);
    assert.equal(result.error, "failed: connected == true (connected was false)");
    assert.equal((await runCheck(check({ type: "tcp", host: "127.0.0.1", port, conditions: ["connected == false"] }), { now })).ok, true);
  });
});
