import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadProject } from "../../src/config/index.js";
import { DataPlane } from "../../src/dataplane/index.js";
import { forwardEnvironmentHosts } from "../../src/engine/index.js";
import { CliProject } from "../helpers/cli.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHosts } from "../helpers/netns-hosts.js";
import { testConfig } from "../helpers/project.js";

const lab = await startTestHosts(3);
const skip = typeof lab === "string" ? `no test hosts here: ${lab}` : false;

/** An environment on the run's hosts; `wrongKeyFor` pins another host's key for that host. */
function config(hosts: TestHosts, wrongKeyFor?: string): string {
  const entries = hosts.hosts
    .map((h, i) => {
      const key = h.name === wrongKeyFor ? hosts.hosts[(i + 1) % hosts.hosts.length]!.hostKey : h.hostKey;
      return `      ${h.name}:\n        address: ${h.address}\n        key: { secret: host_key }\n        host_key: ${key}\n        labels: { n: "${i + 1}" }\n        state_dir: ${h.stateDir}\n`;
    })
    .join("");
  const top = `secrets:\n  providers:\n    keys: { type: file, dir: ./keys }\nenvironments:\n  production:\n    runtime: ssh\n    hosts:\n${entries}`;
  return testConfig("", top).replace("    instances: 2", "    artifact: ./app\n    instances: 2");
}

interface Check {
  host: string;
  ready: boolean;
  reachable: boolean;
  hostKey: string;
  daemonRunning: boolean;
  node: string | null;
  load: number[] | null;
  freeDiskBytes: number | null;
  error?: { code: string };
}

describe("engineroom hosts check and bootstrap over 3 namespace hosts", { skip, concurrency: false }, () => {
  const hosts = lab as TestHosts;
  const projects: CliProject[] = [];
  const daemons: number[] = [];
  after(async () => {
    for (const p of projects) assert.deepEqual(await p.cleanup(), [], "no process of the project is left");
    const prefix = hosts.hosts[0]!.namespace.replace(/-\d+$/, "");
    await hosts.stop();
    assert.deepEqual(leftoverNamespaces(prefix), [], "every namespace of the run is deleted");
    for (const pid of daemons) assert.ok(processGone(pid), `daemon ${pid} is gone`);
  });
  const project = (text: string) => {
    const p = new CliProject(text);
    mkdirSync(join(p.dir, "keys"), { mode: 0o700 });
    writeFileSync(join(p.dir, "keys", "host_key"), readFileSync(hosts.hosts[0]!.keyFile), { mode: 0o600 });
    projects.push(p);
    return p;
  };

  it("check shows the hosts not ready; bootstrap prepares them (twice: the same); check shows them ready", async () => {
    const p = project(config(hosts));
    await p.up();
    const before = await p.run(["hosts", "check", "--json"]);
    assert.equal(before.code, 1, before.out);
    const first = (JSON.parse(before.out) as { hosts: Check[] }).hosts;
    assert.deepEqual(first.map((c) => [c.host, c.reachable, c.hostKey, c.daemonRunning]), [
      ["host1", true, "pinned", false],
      ["host2", true, "pinned", false],
      ["host3", true, "pinned", false],
    ]);

    const boot = await p.run(["hosts", "bootstrap", "--json"]);
    assert.equal(boot.code, 0, boot.out);
    const results = (JSON.parse(boot.out) as { hosts: { host: string; ok: boolean; code: string; daemon: string }[] }).hosts;
    assert.deepEqual(results.map((r) => [r.host, r.ok, r.code, r.daemon]), [
      ["host1", true, "shared", "started"],
      ["host2", true, "shared", "started"],
      ["host3", true, "shared", "started"],
    ]);
    for (const host of hosts.hosts) daemons.push((JSON.parse(readFileSync(join(host.stateDir, "dataplane", "dataplane.json"), "utf8")) as { pid: number }).pid);
    const again = await p.run(["hosts", "bootstrap", "--json"]);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual((JSON.parse(again.out) as { hosts: { daemon: string }[] }).hosts.map((r) => r.daemon), ["running", "running", "running"]);

    // The daemons through their forwarded control sockets, in the shape of the ssh runtime's hosts.
    const forwarded = await forwardEnvironmentHosts(loadProject(join(p.dir, "engineroom.yaml")), "production");
    try {
      assert.deepEqual(forwarded.hosts.map((h) => [h.name, h.address, h.labels]), hosts.hosts.map((h, i) => [h.name, h.address, { n: String(i + 1) }]));
      for (const [i, host] of forwarded.hosts.entries()) {
        const plane = await DataPlane.attach({ stateDir: join(p.dir, "probe", host.name), socket: host.control_socket, start: false });
        assert.equal(plane.info.pid, daemons[i]);
        plane.close();
      }
    } finally {
      await forwarded.close();
    }

    const after = await p.run(["hosts", "check"]);
    assert.equal(after.code, 0, after.out);
    assert.match(after.out, /host1 .*ready/);
    assert.match(after.out, /GiB/);
    const keyFile = join(p.dir, ".engineroom", "hosts", "production", "keys", "host1");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, "the key is written owner-only");
    const privateKey = readFileSync(hosts.hosts[0]!.keyFile, "utf8").split("\n")[1]!;
    assert.ok(!after.out.includes(privateKey) && !boot.out.includes(privateKey), "no key material in the output");
    const log = await p.run(["events", "--json"]).catch(() => ({ out: "" }));
    assert.ok(!log.out.includes(privateKey));
  });

  it("a host whose key is not the pinned one is refused, named, and nothing runs there", async () => {
    const p = project(config(hosts, "host2"));
    await p.up();
    const check = await p.run(["hosts", "check", "--json"]);
    assert.equal(check.code, 1);
    const host2 = (JSON.parse(check.out) as { hosts: Check[] }).hosts.find((c) => c.host === "host2")!;
    assert.equal(host2.reachable, false);
    assert.equal(host2.hostKey, "refused");
    assert.equal(host2.error?.code, "HOST_KEY_MISMATCH");
    const boot = await p.run(["hosts", "bootstrap"]);
    assert.equal(boot.code, 1);
    assert.match(boot.out, /host2 .*failed/);
    assert.match(boot.out, /not the pinned one/);
  });
});
