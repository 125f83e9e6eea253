import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { EnvironmentHosts } from "../../src/config/index.js";
import { DataPlane } from "../../src/dataplane/index.js";
import { bootstrapHost, checkHost, forwardHosts, prepareHosts, shipCode, type PreparedHost } from "../../src/hosts/index.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHosts } from "../helpers/netns-hosts.js";
import { waitFor } from "../helpers/wait.js";

const lab = await startTestHosts(3);
const skip = typeof lab === "string" ? `no test hosts here: ${lab}` : false;

function declared(hosts: TestHosts, pin: (name: string, key: string) => string | undefined = (_n, key) => key): EnvironmentHosts {
  return {
    runtime: "ssh",
    trust_on_first_use: false,
    hosts: Object.fromEntries(
      hosts.hosts.map((h) => [
        h.name,
        { address: h.address, port: h.port, user: h.user, key: { secret: "host_key" }, host_key: pin(h.name, h.hostKey), labels: { n: h.name }, state_dir: h.stateDir },
      ]),
    ),
  };
}

describe("hosts check and bootstrap against 3 namespace hosts", { skip, concurrency: false }, () => {
  const hosts = lab as TestHosts;
  const daemons: number[] = [];
  after(async () => {
    const prefix = hosts.hosts[0]!.namespace.replace(/-\d+$/, "");
    await hosts.stop();
    assert.deepEqual(leftoverNamespaces(prefix), [], "every namespace of the run is deleted");
    for (const pid of daemons) assert.ok(processGone(pid), `daemon ${pid} is gone`);
  });
  const readKey = async () => readFileSync(hosts.hosts[0]!.keyFile, "utf8");
  let prepared: PreparedHost[];

  it("writes the key owner-only and the pinned known_hosts", async () => {
    prepared = await prepareHosts("production", declared(hosts), { dir: join(hosts.dir, "engine", "production"), projectDir: hosts.dir, readKey });
    assert.equal(prepared.length, 3);
    const keyFile = prepared[0]!.target.keyFile;
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(readFileSync(prepared[0]!.target.knownHostsFile, "utf8").trim().split("\n").length, 3);
  });

  it("check says what is missing before bootstrap; bootstrap starts the daemons; a second bootstrap changes nothing", async () => {
    const before = await Promise.all(prepared.map(checkHost));
    for (const check of before) {
      assert.equal(check.reachable, true, JSON.stringify(check));
      assert.equal(check.hostKey, "pinned");
      assert.match(check.node ?? "", /^v\d+\./);
      assert.equal(check.nodeOk, true);
      assert.equal(check.stateDirWritable, true);
      assert.equal(check.daemonRunning, false);
      assert.equal(check.ready, false);
      assert.ok(check.problems.some((p) => p.includes("daemon")));
      assert.ok(check.load && check.load.length === 3);
      assert.ok(check.freeDiskBytes && check.freeDiskBytes > 0);
    }
    const first = await Promise.all(prepared.map((h) => bootstrapHost(h)));
    for (const result of first) {
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.code, "shared");
      assert.equal(result.daemon, "started");
      assert.equal(result.check.ready, true);
    }
    for (const host of hosts.hosts) {
      const info = JSON.parse(readFileSync(join(host.stateDir, "dataplane", "dataplane.json"), "utf8")) as { pid: number };
      assert.ok(hosts.pids(host.name).includes(info.pid), `the daemon of ${host.name} runs in its namespace`);
      daemons.push(info.pid);
    }
    const second = await Promise.all(prepared.map((h) => bootstrapHost(h)));
    assert.deepEqual(second.map((r) => r.daemon), ["running", "running", "running"]);

    // Each daemon through its forwarded control socket, as the fleet reaches it.
    const forwarded = await forwardHosts(prepared, join(hosts.dir, "engine", "forwarded"));
    try {
      assert.deepEqual(forwarded.map((f) => [f.name, f.labels]), hosts.hosts.map((h) => [h.name, { n: h.name }]));
      for (const [i, host] of forwarded.entries()) {
        const plane = await DataPlane.attach({ stateDir: host.localStateDir, start: false });
        assert.equal(plane.info.pid, daemons[i], `${host.name}'s daemon answers through the forwarded socket`);
        plane.close();
      }
    } finally {
      await Promise.all(forwarded.map((f) => f.close()));
    }
  });

  it("ends the ssh forwarding an engine killed with SIGKILL left behind, when the next one forwards", async () => {
    const localDir = join(hosts.dir, "engine", "killed");
    // A process that forwards host1's socket and is then killed with SIGKILL, as an engine can be.
    const script = `const { forwardHosts } = await import(${JSON.stringify(new URL("../../src/hosts/index.ts", import.meta.url).href)});
      const [f] = await forwardHosts(JSON.parse(process.env.PREPARED), process.env.LOCAL_DIR);
      process.stdout.write(String(f.forward.pid) + "\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, PREPARED: JSON.stringify(prepared.slice(0, 1)), LOCAL_DIR: localDir },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const sshPid = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(Number(out.trim()));
      });
      child.once("exit", (code) => reject(new Error(`the forwarding process ended first (${code})`)));
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(processGone(sshPid), false, "the killed process's ssh outlives it");
    const [again] = await forwardHosts(prepared.slice(0, 1), localDir);
    try {
      assert.notEqual(again!.forward.pid, sshPid);
      await waitFor("the leftover ssh ending", () => processGone(sshPid));
      const plane = await DataPlane.attach({ stateDir: again!.localStateDir, start: false });
      assert.equal(plane.info.pid, daemons[0], "the new forwarding reaches host1's daemon");
      plane.close();
    } finally {
      await again!.close();
    }
  });

  it("refuses a host whose key is not the pinned one: nothing is run there", async () => {
    const swapped = declared(hosts, (name, key) => (name === "host2" ? hosts.hosts[2]!.hostKey : key));
    const wrong = await prepareHosts("production", swapped, { dir: join(hosts.dir, "engine", "wrong"), projectDir: hosts.dir, readKey });
    const results = await Promise.all(wrong.map((h) => bootstrapHost(h)));
    const refused = results.find((r) => r.host === "host2")!;
    assert.equal(refused.ok, false);
    assert.equal(refused.error?.code, "HOST_KEY_MISMATCH");
    assert.equal(refused.check.hostKey, "refused");
    assert.equal(results.filter((r) => r.ok).length, 2);
  });

  it("ships a bundle once per digest, verified on arrival", async () => {
    const root = join(hosts.dir, "bundle");
    mkdirSync(join(root, "dist"), { recursive: true });
    writeFileSync(join(root, "dist", "main.js"), "console.log('hi')\n");
    writeFileSync(join(root, "package.json"), "{}\n");
    const bundle = { root, files: ["dist", "package.json"], digestOf: ["dist", "package.json"] };
    const target = prepared[0]!.target;
    const remote = join(hosts.dir, "ship-state");
    const first = await shipCode(target, bundle, remote);
    assert.equal(first.shipped, true);
    assert.equal(readFileSync(join(first.dir, "dist", "main.js"), "utf8"), "console.log('hi')\n");
    assert.equal((await shipCode(target, bundle, remote)).shipped, false, "the same digest is skipped");
    writeFileSync(join(root, "dist", "main.js"), "console.log('changed')\n");
    const changed = await shipCode(target, bundle, remote);
    assert.equal(changed.shipped, true);
    assert.notEqual(changed.digest, first.digest);
    assert.ok(existsSync(join(changed.dir, ".complete")));
  });
});
