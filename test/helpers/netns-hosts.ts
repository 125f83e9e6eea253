/**
 * Test hosts on this machine: one network namespace per host, joined to the root namespace by a
 * veth pair on a private /30 of a subnet chosen per run, each running Debian's sshd on port 22 of
 * its address with host keys and an authorized key generated for the run.
 *
 * The namespaces share this filesystem: each host gets its own state folder under the run's temp
 * folder. `cut(name)` takes the host's link down (the root side of its veth), `restore(name)` brings
 * it back, `slow(name, ms)` delays its packets with tc netem when the kernel has it.
 *
 * `startTestHosts(n)` answers the hosts, or a string saying why they cannot be made here, which the
 * test passes to `t.skip`; a test that got hosts ends them with `stop()` in a `finally`.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";

export interface TestHost {
  name: string;
  address: string;
  port: number;
  user: "root";
  /** The private key authorized on every host of the run (owner-only). */
  keyFile: string;
  /** The host's public host key line (`ssh-ed25519 AAAA...`), for pinning. */
  hostKey: string;
  /** A folder on this filesystem of the host's own (the namespaces share it). */
  stateDir: string;
  /** The network namespace the host runs in. */
  namespace: string;
}

export interface TestHosts {
  hosts: TestHost[];
  /** A known_hosts file pinning every host of the run. */
  knownHostsFile: string;
  /** The run's temp folder. */
  dir: string;
  /** Takes the host's link down: nothing reaches it, its processes keep running. */
  cut(name: string): void;
  restore(name: string): void;
  /** Delays every packet to and from the host by `ms` (0: no delay); false when tc netem is unavailable. */
  slow(name: string, ms: number): boolean;
  /** The pids running in the host's namespace (sshd and whatever it started). */
  pids(name: string): number[];
  /** Kills every process in the namespaces, deletes namespaces and veths and the temp folder. */
  stop(): Promise<void>;
}

const sshd = "/usr/sbin/sshd";

/** Why test hosts cannot be made here, or undefined when they can. */
export function testHostsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (ip netns add)";
  if (!existsSync(sshd)) return "sshd is not installed (apt-get install openssh-server)";
  for (const tool of ["ip", "ssh", "ssh-keygen"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed (apt-get install iproute2 openssh-client)`;
    }
  }
  const probe = `erprobe${randomBytes(3).toString("hex")}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
  } catch (error) {
    return `cannot create a network namespace here: ${(error as Error).message.split("\n")[0]}`;
  }
  return undefined;
}

/** Starts `n` test hosts; answers a plain reason (a string) when they cannot be made here. */
export async function startTestHosts(n: number): Promise<TestHosts | string> {
  const unavailable = testHostsUnavailable();
  if (unavailable) return unavailable;
  const run = randomBytes(3).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), `er-hosts-${run}-`));
  const subnet = freeSubnet();
  const keyFile = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `engineroom-test-${run}`, "-f", keyFile]);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const made: { namespace: string; veth: string; sshd?: ChildProcess }[] = [];
  const hosts: TestHost[] = [];
  const stop = async (): Promise<void> => {
    for (const m of made) {
      for (const pid of namespacePids(m.namespace)) kill(pid);
    }
    for (const m of made) {
      await waitFor(() => namespacePids(m.namespace).length === 0, 10_000);
      tryIp("link", "del", m.veth);
      tryIp("netns", "del", m.namespace);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) {
      const name = `host${i + 1}`;
      const namespace = `er-${run}-${i + 1}`;
      const veth = `erv${run}${i + 1}`;
      const peer = `erp${run}${i + 1}`;
      const outside = `${subnet}.${4 * i + 1}`;
      const address = `${subnet}.${4 * i + 2}`;
      ip("netns", "add", namespace);
      made.push({ namespace, veth });
      ip("link", "add", veth, "type", "veth", "peer", "name", peer);
      ip("link", "set", peer, "netns", namespace);
      ip("addr", "add", `${outside}/30`, "dev", veth);
      ip("link", "set", veth, "up");
      ip("-n", namespace, "link", "set", "lo", "up");
      ip("-n", namespace, "addr", "add", `${address}/30`, "dev", peer);
      ip("-n", namespace, "link", "set", peer, "up");
      ip("-n", namespace, "route", "add", "default", "via", outside);
      const hostDir = join(dir, name);
      const stateDir = join(hostDir, "state");
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const hostKeyFile = join(hostDir, "ssh_host_ed25519_key");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hostKeyFile]);
      writeFileSync(join(hostDir, "authorized_keys"), readFileSync(`${keyFile}.pub`), { mode: 0o600 });
      const config = join(hostDir, "sshd_config");
      writeFileSync(
        config,
        [
          "Port 22",
          `ListenAddress ${address}`,
          `HostKey ${hostKeyFile}`,
          `PidFile ${join(hostDir, "sshd.pid")}`,
          `AuthorizedKeysFile ${join(hostDir, "authorized_keys")}`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          "AllowStreamLocalForwarding yes",
          "StreamLocalBindUnlink yes",
          "ClientAliveInterval 5",
          "ClientAliveCountMax 3",
          "MaxStartups 100",
          "MaxSessions 100",
          "LogLevel INFO",
          "",
        ].join("\n"),
      );
      const child = spawn("ip", ["netns", "exec", namespace, sshd, "-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
      const log: string[] = [];
      child.stderr!.on("data", (chunk) => log.push(String(chunk)));
      made[made.length - 1]!.sshd = child;
      const hostKey = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
      hosts.push({ name, address, port: 22, user: "root", keyFile, hostKey, stateDir, namespace });
      if (!(await waitFor(() => tcpOpen(address, 22), 20_000))) {
        throw new Error(`sshd of ${name} did not listen on ${address}:22: ${log.join("").slice(-500)}`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const knownHostsFile = join(dir, "known_hosts");
  writeFileSync(knownHostsFile, hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(""), { mode: 0o600 });
  const find = (name: string) => {
    const index = hosts.findIndex((h) => h.name === name);
    if (index < 0) throw new Error(`no test host ${name}`);
    return made[index]!;
  };
  return {
    hosts,
    knownHostsFile,
    dir,
    cut: (name) => ip("link", "set", find(name).veth, "down"),
    restore: (name) => ip("link", "set", find(name).veth, "up"),
    slow: (name, ms) => {
      const { veth } = find(name);
      if (ms <= 0) return tryIp("qdisc-del", veth);
      try {
        execFileSync("tc", ["qdisc", "replace", "dev", veth, "root", "netem", "delay", `${ms}ms`], { stdio: "pipe" });
        return true;
      } catch {
        return false;
      }
    },
    pids: (name) => namespacePids(find(name).namespace),
    stop,
  };
}

/** Namespaces of earlier runs that are still there (for a test asserting that nothing is left). */
export function leftoverNamespaces(prefix = "er-"): string[] {
  try {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.split(" ")[0]!)
      .filter((name) => name.startsWith(prefix));
  } catch {
    return [];
  }
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

function tryIp(...args: string[]): boolean {
  try {
    if (args[0] === "qdisc-del") execFileSync("tc", ["qdisc", "del", "dev", args[1]!, "root"], { stdio: "pipe" });
    else ip(...args);
    return true;
  } catch {
    return false;
  }
}

/** A 10.x.y (a /24) that no interface of this machine uses: parallel runs pick others. */
function freeSubnet(): string {
  const used = execFileSync("ip", ["-4", "addr"], { encoding: "utf8" });
  for (;;) {
    const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
}

function namespacePids(namespace: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", namespace], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /^\d+$/.test(line.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2_000, () => (socket.destroy(), resolve(false)));
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True when the process has exited (a zombie not reaped yet by init counts as exited). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}
