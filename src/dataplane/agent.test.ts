import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { digestFolder } from "../artifact/index.js";
import type { EngineError } from "../core/index.js";
import { driftDetectionSupported, RemoteRuntime } from "../runtime/index.js";
import { runRuntimeContract } from "../runtime/runtime.contract.js";
import { agentArtifactPaths } from "./agent.js";
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

// The agent's artifact cache and its drift op, on a real daemon in a temp state folder.
describe("the host agent's artifacts and drift", () => {
  let stateDir: string;
  let plane: DataPlane;
  let runtime: RemoteRuntime;
  const strays: ChildProcess[] = [];
  const incoming = () => agentArtifactPaths(stateDir).incoming;

  /** A folder with one file, and its digest. */
  async function folder(path: string, text: string): Promise<string> {
    await mkdir(path, { recursive: true });
    await writeFile(join(path, "server.js"), text);
    return digestFolder(path);
  }

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "engineroom-agent-"));
    plane = await DataPlane.attach({ stateDir });
    runtime = new RemoteRuntime({ host: "host-a", channel: plane });
  });

  after(async () => {
    for (const child of strays) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    }
    runtime.close();
    await plane.shutdown(200);
    await rm(stateDir, { recursive: true, force: true });
  });

  it("moves a folder from its incoming/ into place, removes a redundant or refused one there, and copies any other source", async () => {
    const shipped = join(incoming(), "one");
    const digest = await folder(shipped, "one\n");
    const first = await runtime.ensureArtifact(digest, shipped);
    assert.deepEqual(first, { shipped: true, path: join(agentArtifactPaths(stateDir).artifacts, digest.replace(":", "-")) });
    assert.equal(existsSync(shipped), false, "moved, not copied");
    assert.equal(await digestFolder(first.path), digest);

    const again = join(incoming(), "again");
    await folder(again, "one\n");
    assert.equal((await runtime.ensureArtifact(digest, again)).shipped, false);
    assert.equal(existsSync(again), false, "a copy of a digest the host has is removed");

    const wrong = join(incoming(), "wrong");
    await folder(wrong, "not what was claimed\n");
    const claimed = `sha256:${"ab".repeat(32)}`;
    await assert.rejects(runtime.ensureArtifact(claimed, wrong), (e: EngineError) => e.code === "ARTIFACT_DIGEST_MISMATCH");
    assert.equal(existsSync(wrong), false, "a refused folder is removed from incoming/");
    assert.equal(existsSync(join(agentArtifactPaths(stateDir).artifacts, claimed.replace(":", "-"))), false);

    const elsewhere = join(stateDir, "store", "two");
    const other = await folder(elsewhere, "two\n");
    assert.equal((await runtime.ensureArtifact(other, elsewhere)).shipped, true);
    assert.equal(existsSync(join(elsewhere, "server.js")), true, "a source outside incoming/ is copied and kept");
  });

  it("host.drift finds a port taken by a stray process on the host, and the stray in an artifact folder", { skip: driftDetectionSupported ? false : "drift detection reads /proc (Linux)" }, async () => {
    const digest = await folder(join(stateDir, "store", "three"), "three\n");
    const { path } = await runtime.ensureArtifact(digest, join(stateDir, "store", "three"));
    const port = await runtime.allocatePort();
    const info = await runtime.start({ id: "drift-1", service: "web", releaseId: "rel_1", command: `exec "${process.execPath}" -e "setInterval(() => {}, 1e9)"`, cwd: path, env: {}, port });
    assert.deepEqual(await runtime.drift({ instances: [{ id: info.id, pid: info.pid!, port }], accounted: [] }), [
      { kind: "port-not-listening", instanceId: "drift-1", port, pids: [info.pid!], message: `instance drift-1 (pid ${info.pid}) runs, but nothing listens on its port ${port}` },
    ]);

    // Started by hand in the artifact's folder, listening on the instance's port.
    const script = `require("node:net").createServer().listen(${port}, "127.0.0.1", () => console.log("up"))`;
    const stray = spawn(process.execPath, ["-e", script], { cwd: path, detached: true, stdio: ["ignore", "pipe", "inherit"] });
    strays.push(stray);
    await new Promise((resolve, reject) => (stray.stdout!.once("data", resolve), stray.once("error", reject)));

    const findings = await runtime.drift({ instances: [{ id: info.id, pid: info.pid!, port }], accounted: [] });
    const taken = findings.find((f) => f.kind === "port-taken");
    assert.ok(taken, JSON.stringify(findings));
    assert.equal(taken.instanceId, "drift-1");
    assert.deepEqual(taken.pids, [stray.pid]);
    const found = findings.find((f) => f.kind === "stray-process");
    assert.ok(found && found.kind === "stray-process", JSON.stringify(findings));
    assert.deepEqual(found.pids, [stray.pid]);
    assert.deepEqual(found.ports, [port]);
    assert.equal(await realpath(found.artifactDir), await realpath(path));
    assert.ok(!findings.some((f) => f.pids.includes(info.pid!) && f.kind === "stray-process"), "the agent's own instance is no stray");

    await assert.rejects(plane.request("host.drift", { instances: [{ id: "x", pid: "1", port: 1 }], accounted: [] }), (e: EngineError) => e.code === "API_BAD_REQUEST");
    await runtime.stop(info.id, { graceMs: 1_000 });
  });
});
