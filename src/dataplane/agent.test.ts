import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteRuntime } from "../runtime/index.js";
import { runRuntimeContract } from "../runtime/runtime.contract.js";
import { DataPlane } from "./client.js";

// A real data-plane daemon in a temp state folder is the host; its agent runs the instances.
runRuntimeContract("ssh (a host's agent over its control socket)", async () => {
  const stateDir = await mkdtemp(join(tmpdir(), "engineroom-agent-"));
  const plane = await DataPlane.attach({ stateDir });
  assert.equal(plane.started, true);
  const second = await DataPlane.attach({ stateDir, start: false });
  const runtime = new RemoteRuntime({ host: "host-a", channel: plane });
  return {
    runtime,
    reopen: () => {
      const next = new RemoteRuntime({ host: "host-a", channel: second });
      return { runtime: next, close: () => next.close() };
    },
    cleanup: async () => {
      second.close();
      await plane.shutdown(200);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
});
