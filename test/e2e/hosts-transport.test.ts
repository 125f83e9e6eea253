import assert from "node:assert/strict";
import { existsSync, writeFileSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { childExecArgv, isEngineError, processAlive } from "../../src/core/index.js";
import { DataPlane, daemonEntry, dataPlanePaths } from "../../src/dataplane/index.js";
import { forwardControlSocket, runSsh, startRemoteDaemon, type SshTarget } from "../../src/hosts/index.js";
import { root } from "../helpers/cli.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHost, type TestHosts } from "../helpers/netns-hosts.js";
import { waitFor } from "../helpers/wait.js";

const lab = await startTestHosts(2);
const skip = typeof lab === "string" ? `no test hosts here: ${lab}` : false;

function target(host: TestHost, knownHostsFile: string, extra: Partial<SshTarget> = {}): SshTarget {
  return { name: host.name, address: host.address, port: host.port, user: host.user, keyFile: host.keyFile, knownHostsFile, aliveIntervalSeconds: 2, ...extra };
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("ssh transport to test hosts in network namespaces", { skip, concurrency: false }, () => {
  const hosts = lab as TestHosts;
  const run = () => hosts.hosts[0]!.namespace.replace(/-\d+$/, "");
  let daemonPid: number | undefined;
  before(() => assert.ok(hosts.hosts.length === 2));
  after(async () => {
    const prefix = run();
    const started = hosts.hosts.flatMap((h) => hosts.pids(h.name));
    assert.ok(started.length >= 2, "sshd (and the daemon) ran in the namespaces");
    await hosts.stop();
    for (const pid of started) assert.ok(processGone(pid), `process ${pid} of a namespace is gone`);
    assert.deepEqual(leftoverNamespaces(prefix), [], "every namespace of the run is deleted");
    if (daemonPid) assert.ok(processGone(daemonPid), "the host's daemon is gone");
  });

  it("refuses a host whose key is not the pinned one, and runs nothing there", async () => {
    const [one, two] = hosts.hosts as [TestHost, TestHost];
    const wrong = join(hosts.dir, "wrong_known_hosts");
    writeFileSync(wrong, `${one.address} ${two.hostKey}\n`, { mode: 0o600 });
    const marker = join(one.stateDir, "ran");
    await assert.rejects(runSsh(target(one, wrong), `touch ${marker}`), (error) => isEngineError(error) && error.code === "HOST_KEY_MISMATCH" && !error.message.includes("BEGIN"));
    const empty = join(hosts.dir, "empty_known_hosts");
    writeFileSync(empty, "", { mode: 0o600 });
    await assert.rejects(runSsh(target(one, empty), `touch ${marker}`), (error) => isEngineError(error) && error.code === "HOST_KEY_MISMATCH");
    assert.equal(existsSync(marker), false, "nothing ran on the host");
    // trust on first use, only when asked: the key is recorded, a later change would be refused
    const result = await runSsh(target(one, empty, { trustOnFirstUse: true }), "echo hello");
    assert.equal(result.stdout.trim(), "hello");
    assert.match(readFileSync(empty, "utf8"), new RegExp(one.hostKey.split(" ")[1]!.slice(0, 20).replace(/[+/]/g, "\\$&")));
    // a pinned key that matches
    assert.equal((await runSsh(target(one, hosts.knownHostsFile), "echo pinned")).stdout.trim(), "pinned");
  });

  it("forwards the daemon's control socket; the daemon serves through a cut link and the forwarding comes back after restore", async () => {
    const host = hosts.hosts[0]!;
    const t = target(host, hosts.knownHostsFile);
    const daemon = { stateDir: host.stateDir, entry: daemonEntry, cwd: root, node: process.execPath, execArgv: childExecArgv() };
    assert.equal((await startRemoteDaemon(t, daemon)).started, true);
    assert.equal((await startRemoteDaemon(t, daemon)).started, false, "a second start finds it running");
    let lastSsh: number | undefined;
    const forwarded = await forwardControlSocket({ target: t, remoteStateDir: host.stateDir, localDir: join(hosts.dir, "engine", host.name), labels: { zone: "a" } });
    try {
      assert.deepEqual(forwarded.labels, { zone: "a" });
      let plane = await DataPlane.attach({ stateDir: forwarded.localStateDir, start: false });
      daemonPid = plane.info.pid;
      plane.close();
      assert.ok(hosts.pids(host.name).includes(daemonPid), "the daemon runs in the host's namespace");
      const sshPid = forwarded.forward.pid;

      hosts.cut(host.name);
      await waitFor("the forwarding ssh to notice the cut link", () => forwarded.forward.pid !== sshPid, 120_000);
      assert.ok(processAlive(daemonPid), "the daemon keeps running while the link is cut");
      assert.ok(await socketAnswers(dataPlanePaths(host.stateDir).socket), "and keeps answering on its host");

      hosts.restore(host.name);
      await waitFor("the forwarding to come back", () => forwarded.forward.state === "up", 120_000);
      plane = await DataPlane.attach({ stateDir: forwarded.localStateDir, start: false, reconnectMs: 60_000 });
      assert.equal(plane.info.pid, daemonPid, "the same daemon answers through the new forwarding");
      plane.close();
    } finally {
      lastSsh = forwarded.forward.pid;
      await forwarded.close();
    }
    assert.equal(existsSync(forwarded.controlSocket), false, "the local socket is removed");
    assert.ok(lastSsh && processGone(lastSsh), "the forwarding ssh is gone");
  });
});
