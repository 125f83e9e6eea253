import assert from "node:assert/strict";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { digestFolder } from "../artifact/index.js";
import { childExecArgv, toEngineError } from "../core/index.js";
import { agentArtifactPaths, daemonEntry, DataPlane } from "../dataplane/index.js";
import { leftoverNamespaces, processGone, startTestHosts, type TestHosts } from "../../test/helpers/netns-hosts.js";
import { localCode } from "./bootstrap.js";
import { forwardControlSocket, type ForwardedHost } from "./connect.js";
import { startRemoteDaemon } from "./daemon.js";
import { shipArtifact, type ArtifactAgent } from "./ship.js";
import type { SshTarget } from "./ssh.js";

// One namespace host over real ssh, its data-plane daemon started there (the code shared in place,
// as bootstrap does when the host has the same files) and reached through its forwarded socket.
// The namespace shares this filesystem, so every ship deletes the local folder before the agent
// verifies: what the host keeps can only have come through the ssh stream.

const lab = await startTestHosts(1);
const skip = typeof lab === "string" ? `no test hosts here: ${lab}` : false;

/** A folder of a few files: one of 2 MB, a nested folder, an executable, a symlink inside. */
function makeFolder(dir: string, salt: string): void {
  mkdirSync(join(dir, "lib", "deep"), { recursive: true });
  writeFileSync(join(dir, "server.js"), `console.log(${JSON.stringify(salt)})\n`);
  writeFileSync(join(dir, "lib", "big.bin"), randomBytes(2 * 1024 * 1024));
  writeFileSync(join(dir, "lib", "deep", "note.txt"), `nested ${salt}\n`);
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\nexec node server.js\n");
  chmodSync(join(dir, "run.sh"), 0o755);
  symlinkSync("lib/deep/note.txt", join(dir, "note"));
}

describe("artifacts shipped to a host over ssh", { skip, concurrency: false }, () => {
  const hosts = lab as TestHosts;
  const host = hosts.hosts?.[0];
  let target: SshTarget;
  let forwarded: ForwardedHost;
  let plane: DataPlane;
  let daemonPid: number;
  const incoming = () => agentArtifactPaths(host!.stateDir).incoming;
  const leftovers = () => (existsSync(incoming()) ? readdirSync(incoming()) : []);

  /** The host's agent; before it verifies a ship it deletes the local folder, and it records the ops asked. */
  function agentFor(folder: string, ops: string[]): ArtifactAgent {
    return {
      request: async <T>(op: string, args: Record<string, unknown> = {}) => {
        ops.push(op);
        if (op === "artifact.ensure") {
          assert.ok(String(args.source).startsWith(`${incoming()}/`), `the agent is given the incoming folder, not ${String(args.source)}`);
          rmSync(folder, { recursive: true, force: true });
        }
        return plane.request<T>(op, args);
      },
    };
  }

  /** A copy of `original` to ship (deleted by the agent wrapper), and its digest. */
  async function copyOf(original: string, name: string): Promise<{ folder: string; digest: string }> {
    const folder = join(hosts.dir, "engine", name);
    cpSync(original, folder, { recursive: true, verbatimSymlinks: true });
    return { folder, digest: await digestFolder(folder) };
  }

  before(async () => {
    target = { name: host!.name, address: host!.address, port: host!.port, user: host!.user, keyFile: host!.keyFile, knownHostsFile: hosts.knownHostsFile };
    const code = localCode();
    await startRemoteDaemon(target, { stateDir: host!.stateDir, entry: daemonEntry, cwd: code.root, execArgv: childExecArgv() });
    daemonPid = (JSON.parse(readFileSync(join(host!.stateDir, "dataplane", "dataplane.json"), "utf8")) as { pid: number }).pid;
    assert.ok(hosts.pids(host!.name).includes(daemonPid), "the daemon runs in the host's namespace");
    forwarded = await forwardControlSocket({ target, remoteStateDir: host!.stateDir, localDir: join(hosts.dir, "engine", "forward") });
    plane = await DataPlane.attach({ stateDir: forwarded.localStateDir, start: false });
  });

  after(async () => {
    plane?.close();
    await forwarded?.close();
    const prefix = host!.namespace.replace(/-\d+$/, "");
    await hosts.stop();
    assert.deepEqual(leftoverNamespaces(prefix), [], "the run's namespace is deleted");
    assert.ok(processGone(daemonPid), "the host's daemon is gone");
  });

  const original = () => join(hosts.dir, "original");

  it("ships a folder once: the host's copy verifies and equals it; a second ship sends nothing", async () => {
    makeFolder(original(), "one");
    const { folder, digest } = await copyOf(original(), "one");
    const ops: string[] = [];
    const first = await shipArtifact({ target, remoteStateDir: host!.stateDir, digest, folder, agent: agentFor(folder, ops) });
    assert.deepEqual(ops, ["artifact.has", "artifact.ensure"]);
    assert.equal(first.shipped, true);
    assert.equal(first.path, join(agentArtifactPaths(host!.stateDir).artifacts, digest.replace(":", "-")));
    assert.equal(existsSync(folder), false, "the local folder was gone when the agent verified");
    assert.equal(await digestFolder(first.path), digest, "the host's copy has the digest");
    assert.deepEqual(readFileSync(join(first.path, "lib", "big.bin")), readFileSync(join(original(), "lib", "big.bin")));
    assert.equal(readFileSync(join(first.path, "lib", "deep", "note.txt"), "utf8"), "nested one\n");
    assert.equal(readlinkSync(join(first.path, "note")), "lib/deep/note.txt", "the symlink arrives as a symlink");
    assert.ok(lstatSync(join(first.path, "run.sh")).mode & 0o100, "the executable stays executable");
    assert.equal(lstatSync(incoming()).mode & 0o777, 0o700, "incoming/ is owner-only");
    assert.deepEqual(leftovers(), [], "the shipped folder was moved out of incoming/");

    const again: string[] = [];
    const second = await shipArtifact({ target, remoteStateDir: host!.stateDir, digest, folder: join(hosts.dir, "nowhere"), agent: agentFor(folder, again) });
    assert.deepEqual(second, { shipped: false, path: first.path });
    assert.deepEqual(again, ["artifact.has"], "nothing is sent for a digest the host has");
  });

  it("two concurrent ships of one digest both succeed, with one copy on the host", async () => {
    rmSync(original(), { recursive: true, force: true });
    makeFolder(original(), "two");
    const a = await copyOf(original(), "two-a");
    const b = await copyOf(original(), "two-b");
    assert.equal(a.digest, b.digest);
    const [one, two] = await Promise.all([a, b].map(({ folder, digest }) => shipArtifact({ target, remoteStateDir: host!.stateDir, digest, folder, agent: agentFor(folder, []) })));
    assert.equal(one!.path, two!.path);
    assert.ok(one!.shipped || two!.shipped);
    assert.equal(await digestFolder(one!.path), a.digest);
    const copies = readdirSync(agentArtifactPaths(host!.stateDir).artifacts).filter((n) => n.includes(a.digest.slice(7)));
    assert.deepEqual(copies, [a.digest.replace(":", "-")], "one copy, no half-moved folder beside it");
    assert.deepEqual(leftovers(), []);
  });

  it("a stream that does not have the digest fails with ARTIFACT_DIGEST_MISMATCH naming the host, and leaves nothing", async () => {
    rmSync(original(), { recursive: true, force: true });
    makeFolder(original(), "three");
    const { folder } = await copyOf(original(), "three");
    const claimed = `sha256:${"ab".repeat(32)}`;
    const error = await shipArtifact({ target, remoteStateDir: host!.stateDir, digest: claimed, folder, agent: agentFor(folder, []) }).then(
      () => assert.fail("a mismatch must be refused"),
      (e: unknown) => toEngineError(e),
    );
    assert.equal(error.code, "ARTIFACT_DIGEST_MISMATCH");
    assert.match(error.message, new RegExp(`host ${host!.name}\\b`));
    assert.equal(error.details?.host, host!.name);
    assert.deepEqual(leftovers(), [], "the refused copy is removed from incoming/");
    assert.equal(existsSync(join(agentArtifactPaths(host!.stateDir).artifacts, claimed.replace(":", "-"))), false);
  });

  it("a host ssh cannot reach is HOST_UNREACHABLE, without waiting on the stream", async () => {
    rmSync(original(), { recursive: true, force: true });
    makeFolder(original(), "four");
    const { folder, digest } = await copyOf(original(), "four");
    const closed = { ...target, port: 2 }; // nothing listens there: refused at once, with 2 MB still to send
    const error = await shipArtifact({ target: closed, remoteStateDir: host!.stateDir, digest, folder, agent: agentFor(folder, []) }).then(
      () => assert.fail("an unreachable host must be refused"),
      (e: unknown) => toEngineError(e),
    );
    assert.equal(error.code, "HOST_UNREACHABLE");
    assert.match(error.message, new RegExp(`Host ${host!.name}\\b`));
    assert.deepEqual(leftovers(), []);
  });

  it("a folder that is not there is ARTIFACT_NOT_FOUND, before anything is sent", async () => {
    const error = await shipArtifact({ target, remoteStateDir: host!.stateDir, digest: `sha256:${"cd".repeat(32)}`, folder: join(hosts.dir, "nowhere"), agent: agentFor("", []) }).then(
      () => assert.fail("a missing folder must be refused"),
      (e: unknown) => toEngineError(e),
    );
    assert.equal(error.code, "ARTIFACT_NOT_FOUND");
    assert.deepEqual(leftovers(), []);
  });
});
