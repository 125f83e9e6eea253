import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { detectDrift, driftDetectionSupported } from "./drift.js";
import { listeningSockets, readListeners, socketOwners } from "./procfs.js";

/** A node process leading its own process group, as the local runtime starts instances. */
interface Child {
  pid: number;
  /** The port it listens on, if it was asked to listen. */
  port: number;
}

const children: ChildProcess[] = [];

/** Starts a detached node process in `cwd`; with `listen`, an HTTP server on 127.0.0.1 port 0, resolved once it listens. */
function start(cwd: string, listen: boolean, host = "127.0.0.1"): Promise<Child> {
  const script = listen
    ? `const s = require("node:http").createServer((q, r) => r.end("ok")); s.listen(0, ${JSON.stringify(host)}, () => console.log(s.address().port));`
    : `console.log(0); setInterval(() => {}, 1e9);`;
  const child = spawn(process.execPath, ["-e", script], { cwd, detached: true, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("child did not start within 10 s")), 10_000);
    child.once("error", reject);
    child.stdout!.once("data", (chunk: Buffer) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, port: Number(String(chunk).trim()) });
    });
  });
}

/** A loopback port nobody listens on (right now). */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("local runtime drift", { skip: driftDetectionSupported ? false : "drift detection reads /proc, so it runs on Linux only" }, () => {
  let dir: string;
  let artifact: string;
  let instance: Child;

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "engineroom-drift-")));
    artifact = join(dir, "artifacts", "sha256", "ab".repeat(32));
    mkdirSync(join(artifact, "lib"), { recursive: true });
    instance = await start(artifact, true);
  });

  after(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads listening sockets and their owners from /proc", async () => {
    const sockets = await listeningSockets();
    const inodes = sockets.get(instance.port);
    assert.ok(inodes && inodes.length === 1, `one listening socket on ${instance.port}`);
    assert.ok((await readListeners()).some((l) => l.port === instance.port && l.address === "127.0.0.1"));
    const owners = await socketOwners(inodes);
    assert.equal(owners.get(inodes[0]!), instance.pid);
  });

  it("decodes IPv6 listening addresses", async (t) => {
    const v6 = await start(dir, true, "::1").catch(() => undefined);
    if (!v6 || !Number.isInteger(v6.port) || v6.port === 0) return t.skip("no IPv6 loopback here");
    assert.ok((await readListeners()).some((l) => l.port === v6.port && l.address === "::1"));
  });

  it("finds nothing when the instance listens on its port from its artifact folder", async () => {
    assert.deepEqual(await detectDrift({ instances: [{ id: "web-1", pid: instance.pid, port: instance.port }], artifactDirs: [artifact] }), []);
  });

  it("reports a port listened on by a process outside the instance's group", async () => {
    const other = await start(dir, true);
    const findings = await detectDrift({ instances: [{ id: "web-2", pid: instance.pid, port: other.port }], artifactDirs: [artifact] });
    assert.equal(findings.length, 1);
    const [finding] = findings;
    assert.equal(finding!.kind, "port-taken");
    assert.deepEqual(finding!.pids, [other.pid]);
    assert.equal(finding!.kind === "port-taken" && finding!.port, other.port);
    assert.match(finding!.message, new RegExp(`port ${other.port} of instance web-2 is listened on by pid ${other.pid} \\(node\\), outside the instance's process group ${instance.pid}`));
  });

  it("reports an instance whose port nobody listens on", async () => {
    const port = await unusedPort();
    const findings = await detectDrift({ instances: [{ id: "web-3", pid: instance.pid, port }], artifactDirs: [] });
    assert.deepEqual(findings, [
      { kind: "port-not-listening", instanceId: "web-3", port, pids: [instance.pid], message: `instance web-3 (pid ${instance.pid}) runs, but nothing listens on its port ${port}` },
    ]);
    // An instance that is gone is the runtime's to report, not drift.
    assert.deepEqual(await detectDrift({ instances: [{ id: "gone", pid: 2 ** 22 + 1, port }], artifactDirs: [] }), []);
  });

  it("reports processes working in an artifact folder that belong to no instance, with their ports", async () => {
    const idle = await start(join(artifact, "lib"), false);
    const server = await start(artifact, true);
    const findings = await detectDrift({ instances: [{ id: "web-1", pid: instance.pid, port: instance.port }], artifactDirs: [artifact] });
    const strays = findings.filter((f) => f.kind === "stray-process").sort((a, b) => a.pids[0]! - b.pids[0]!);
    assert.equal(findings.length, 2);
    const expected = [
      { pid: idle.pid, ports: [] as number[] },
      { pid: server.pid, ports: [server.port] },
    ].sort((a, b) => a.pid - b.pid);
    strays.forEach((stray, i) => {
      assert.equal(stray.kind === "stray-process" && stray.artifactDir, artifact);
      assert.deepEqual(stray.pids, [expected[i]!.pid]);
      assert.deepEqual(stray.kind === "stray-process" && stray.ports, expected[i]!.ports);
      assert.match(stray.message, /belongs to no instance: started by hand, or left over/);
    });
    assert.match(strays.find((s) => s.pids[0] === server.pid)!.message, new RegExp(`listening on ${server.port}`));
  });

  it("takes no process of an instance the runtime accounts for (starting, unhealthy, being replaced) for a stray, nor checks its port", async () => {
    const starting = await start(artifact, true);
    const input = { instances: [{ id: "web-1", pid: instance.pid, port: instance.port }], artifactDirs: [artifact] };
    const without = await detectDrift(input);
    assert.ok(without.some((f) => f.kind === "stray-process" && f.pids.includes(starting.pid)), "a stray when nothing accounts for it");
    const findings = await detectDrift({ ...input, accounted: [starting.pid] });
    assert.ok(!findings.some((f) => f.pids.includes(starting.pid)), JSON.stringify(findings));
  });
});
